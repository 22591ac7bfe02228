"""Compiled Batch-OMP, one signal at a time (numba; imported lazily by :mod:`baselines._omp`). Our own code.

The loop of OMP-Box's ``ompcore.c`` in error-constrained mode (Rubinstein, Zibulevsky & Elad, "Efficient
implementation of the K-SVD algorithm using Batch Orthogonal Matching Pursuit", Technion CS-2008-08),
re-implemented from its description and checked against the literal transcription in
``tests/test_baselines_sr.py``: with ``alpha0 = D^T x`` (one BLAS product per chunk of signals, outside
the kernel) and the Gram matrix ``G = D^T D``, per signal

* next atom: the first maximiser of ``|alpha|``; stop when it is already selected or ``alpha^2 < 1e-14``;
* Cholesky update of ``G_II`` (``L w = G_I,pos``, stop when ``1 - w^T w <= 1e-14``);
* ``c = G_II^-1 alpha0_I`` by two triangular solves; ``beta = G_:,I c``; ``alpha = alpha0 - beta``;
* residual norm by the recursion ``|r|^2 <- |r|^2 - delta + delta_prev``, ``delta = c^T beta_I``; the loop
  runs while ``|r|^2 > epsilon^2`` and fewer than ``n`` atoms are selected;
* output: ``sum |c|`` and the residual ``x - D_I c``.

Float64 throughout, no fast-math: the operations of the transcription in a fixed order, so the codes equal
OMP-Box's to rounding (about 1e-12).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def omp_chunk(x, alpha0, dt, g, eps2, l1_out, res_out):  # pragma: no cover - compiled
    """Batch-OMP of the rows of ``x`` (m, n) given ``alpha0 = x D`` (m, K), ``dt = D^T`` (K, n), ``G``.

    Writes ``l1_out[i] = sum |c_i|`` and ``res_out[i] = x_i - D c_i``.
    """
    m, n = x.shape
    kk = dt.shape[0]
    tmax = n
    alpha = np.empty(kk)
    beta = np.empty(kk)
    chol = np.zeros((tmax, tmax))  # L, row i = [L[i, 0..i]]
    cholt = np.zeros((tmax, tmax))  # L^T, row i = [L[i..k-1, i]] (the backward solve reads rows)
    ind = np.empty(tmax, dtype=np.int64)
    c = np.empty(tmax)
    w = np.empty(tmax)
    y = np.empty(tmax)  # L^-1 alpha0[ind], grows by one entry per atom
    selected = np.zeros(kk, dtype=np.bool_)
    for s in range(m):
        a0 = alpha0[s]
        xs = x[s]
        resnorm = 0.0
        for j in range(n):
            resnorm += xs[j] * xs[j]
        for j in range(kk):
            alpha[j] = a0[j]
        deltaprev = 0.0
        k = 0
        while resnorm > eps2 and k < tmax:
            pos = 0
            best = abs(alpha[0])
            for j in range(1, kk):
                v = abs(alpha[j])
                if v > best:
                    best = v
                    pos = j
            if selected[pos] or alpha[pos] * alpha[pos] < 1e-14:
                break
            if k == 0:
                chol[0, 0] = 1.0
                cholt[0, 0] = 1.0
            else:
                # forward substitution L w = G[ind, pos]
                gp = g[pos]
                for i in range(k):
                    acc = gp[ind[i]]
                    li = chol[i]
                    for j in range(i):
                        acc -= li[j] * w[j]
                    w[i] = acc / li[i]
                rest = 1.0
                for i in range(k):
                    rest -= w[i] * w[i]
                if rest <= 1e-14:
                    break
                for i in range(k):
                    chol[k, i] = w[i]
                    cholt[i, k] = w[i]
                lkk = np.sqrt(rest)
                chol[k, k] = lkk
                cholt[k, k] = lkk
            ind[k] = pos
            selected[pos] = True
            # y = L^-1 alpha0[ind]: only the new last entry changes
            acc = a0[pos]
            lk = chol[k]
            for j in range(k):
                acc -= lk[j] * y[j]
            y[k] = acc / lk[k]
            k += 1
            # c = L^-T y (backward substitution on the rows of L^T)
            for i in range(k - 1, -1, -1):
                acc = y[i]
                ui = cholt[i]
                for j in range(i + 1, k):
                    acc -= ui[j] * c[j]
                c[i] = acc / ui[i]
            # beta = G[:, ind] c (G symmetric: rows of G), alpha = alpha0 - beta
            for j in range(kk):
                beta[j] = 0.0
            for i in range(k):
                gi = g[ind[i]]
                ci = c[i]
                for j in range(kk):
                    beta[j] += gi[j] * ci
            for j in range(kk):
                alpha[j] = a0[j] - beta[j]
            delta = 0.0
            for i in range(k):
                delta += c[i] * beta[ind[i]]
            resnorm = resnorm - delta + deltaprev
            deltaprev = delta
        r = res_out[s]
        for j in range(n):
            r[j] = xs[j]
        total = 0.0
        for i in range(k):
            di = dt[ind[i]]
            ci = c[i]
            total += abs(ci)
            for j in range(n):
                r[j] -= di[j] * ci
            selected[ind[i]] = False
        l1_out[s] = total
