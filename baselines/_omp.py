"""Batched error-constrained orthogonal matching pursuit (OMP), vectorised over all signals.

Behaviour of ``omp2(D, X, G, epsilon)`` from Ron Rubinstein's OMP-Box v10 (``ompcore.c``, shipped in Yu
Liu's MST-SR-Fusion-Toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, ``sparsefusion/ksvdbox/ompbox/``; BSD-style licence of OMP-Box,
no licence file in the toolbox repository). Re-implemented, nothing copied. Per signal ``x``:

* greedy: the next atom is the first maximiser of ``|D^T r|`` (``r`` the residual);
* stop before adding an atom when ``||r||^2 <= epsilon^2``, after ``n`` atoms (the signal length, omp2's
  default maximum), when the best atom is already selected or ``(d^T r)^2 < 1e-14``, or when the new atom
  is numerically dependent on the selected ones (squared norm of its orthogonal part ``<= 1e-14``);
* coefficients: least squares on the selected atoms.

Implementation: all signals advance together. The selected atoms are orthonormalised (Gram-Schmidt) as
they come: ``q_i = (d - Q proj) / |u|``, with ``proj = Q^T d`` read from ``W = Q^T D``, whose new row
``q_i^T D`` is one matrix product over the whole batch; the correlations are updated as
``D^T r -= (q_i^T D) (q_i^T r)`` and ``q_i^T r = d^T r / |u|``. The coefficients solve the triangular
system ``R c = Q^T x`` (``R = Q^T D_I``) once a signal stops. Mathematically the same iterates as the
Cholesky-based Batch-OMP of ompcore.c; float32 (the fast default of :func:`omp_l1`) changes the atom
choice only where two correlations tie within float32 rounding.
"""

from __future__ import annotations

import numpy as np


def omp_l1(
    x: np.ndarray,
    dictionary: np.ndarray,
    epsilon: float,
    *,
    dtype: type = np.float32,
    batch: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Error-constrained OMP of every row of ``x``: the L1 norm of each code and the final residual.

    Parameters
    ----------
    x : ndarray
        (M, n) signals.
    dictionary : ndarray
        (n, K) dictionary with unit-norm columns.
    epsilon : float
        Target residual norm (``||x - D c||_2 <= epsilon``).
    dtype : numpy float type
        Working precision (float32 or float64).
    batch : int
        Signals processed together (memory: about ``batch * n * (K + n) * itemsize`` bytes).

    Returns
    -------
    l1 : ndarray
        (M,) float64, ``sum(|c|)`` of each signal's code.
    residual : ndarray
        (M, n) ``x - D c`` in ``dtype`` (so ``D c = x - residual``).
    """
    import torch

    m, n = x.shape
    d = np.ascontiguousarray(dictionary, dtype=dtype)
    kk = d.shape[1]
    l1 = np.zeros(m)
    res_out = np.empty((m, n), dtype=dtype)
    eps2 = float(epsilon) ** 2
    b = min(batch, m)
    # state buffers, allocated once and reused by every chunk (fresh pages cost a fault each)
    bufs = {
        "q": np.empty((b, n, n), dtype=dtype),  # orthonormal basis of the selected atoms, per signal
        "w": np.empty((n, b, kk), dtype=dtype),  # w[j] = q_j^T D
        "rt": np.zeros((n, b, n), dtype=dtype),  # rt[i, :, j] = R[j, i], R = Q^T D_I (upper triangular)
        "z": np.empty((b, n), dtype=dtype),  # Q^T x
    }
    for s0 in range(0, m, b):
        xb = np.asarray(x[s0 : s0 + b], dtype=dtype)
        _omp_chunk(xb, d, eps2, bufs, l1[s0 : s0 + b], res_out[s0 : s0 + b], torch)
    return l1, res_out


def _finish(rows, count, bufs, l1_out, res_out, r, idx, torch) -> None:
    """Store residuals and L1 norms of the stopped signals ``rows`` (local) that hold ``count`` atoms."""
    gl = idx[rows]
    res_out[gl] = r[rows]
    if count == 0:
        l1_out[gl] = 0.0
        return
    rr = bufs["rt"][:count][:, rows, :count].transpose(1, 2, 0)  # (rows, j, i) = R[j, i]
    rr = torch.from_numpy(np.ascontiguousarray(rr, dtype=np.float64))
    zz = torch.from_numpy(np.ascontiguousarray(bufs["z"][rows, :count], dtype=np.float64)).unsqueeze(-1)
    c = torch.linalg.solve_triangular(rr, zz, upper=True)
    l1_out[gl] = c.abs().sum(dim=(1, 2)).numpy()


def _omp_chunk(xb, d, eps2, bufs, l1_out, res_out, torch) -> None:
    b, n = xb.shape
    dt = xb.dtype
    tmax = n
    q, w, rt, z = bufs["q"], bufs["w"], bufs["rt"], bufs["z"]
    kk = d.shape[1]
    r = xb.copy()
    alpha = r @ d  # D^T r, (b, K), recomputed from the residual at every step
    resn = np.einsum("ij,ij->i", r, r)
    selected = np.zeros((b, kk), dtype=bool)
    idx = np.arange(b)  # local row -> position in the chunk outputs
    live = np.ones(b, dtype=bool)
    nrow = b  # rows of the state buffers in use (compaction moves live rows to the front)
    wrow = np.arange(b)  # row of ``w`` of each local row (``w``, the largest buffer, is never moved)
    for i in range(tmax + 1):
        stop = live & (resn <= eps2)
        if i < tmax:
            rows = np.arange(nrow)
            pos = np.argmax(np.abs(alpha), axis=1)
            ap = alpha[rows, pos]
            stop |= live & (selected[rows, pos] | (ap.astype(np.float64) ** 2 < 1e-14))
            dsel = d[:, pos].T  # (b, n)
            proj = np.ascontiguousarray(w[:i, wrow, pos].T) if i else np.zeros((nrow, 0), dtype=dt)
            dep = 1.0 - np.einsum("ij,ij->i", proj, proj, dtype=np.float64)
            stop |= live & (dep <= 1e-14)
        else:
            stop = live
        if stop.any():
            _finish(np.flatnonzero(stop), i, bufs, l1_out, res_out, r, idx, torch)
            live &= ~stop
        nlive = int(live.sum())
        if nlive == 0 or i == tmax:
            break
        if nlive < 0.5 * nrow:  # compact: live rows to the front of every buffer
            keep = np.flatnonzero(live)
            r, alpha, resn, selected, idx, wrow = (a[keep] for a in (r, alpha, resn, selected, idx, wrow))
            pos, ap, dsel, proj = pos[keep], ap[keep], dsel[keep], proj[keep]
            q[:nlive, :i] = q[keep, :i]
            rt[:i, :nlive] = rt[:i, keep]
            z[:nlive, :i] = z[keep, :i]
            nrow = nlive
            live = np.ones(nrow, dtype=bool)
            rows = np.arange(nrow)
        # Gram-Schmidt step: u = d - Q proj (Q^T d read from W)
        u = dsel - np.matmul(proj[:, None, :], q[:nrow, :i])[:, 0] if i else dsel.copy()
        unorm = np.sqrt(np.einsum("ij,ij->i", u, u))
        unorm[~live] = 1.0
        qi = u / unorm[:, None]
        coef = ap / unorm  # q_i^T r = d^T r / |u| (r is orthogonal to the previous q_j)
        coef[~live] = 0.0
        q[:nrow, i] = qi
        if nrow == b:  # not compacted: the rows of ``w`` are the local rows
            np.matmul(qi, d, out=w[i, :b])
        else:
            w[i, wrow] = qi @ d
        rt[i, :nrow, :i] = proj
        rt[i, :nrow, i] = unorm
        z[:nrow, i] = coef
        selected[rows, pos] |= live
        r -= qi * coef[:, None]
        np.matmul(r, d, out=alpha)
        resn = np.einsum("ij,ij->i", r, r)


def compiled_available() -> bool:
    """True when numba imports (the compiled Batch-OMP of :func:`omp_l1_compiled` can run)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def default_threads() -> int:
    """Threads for the compiled OMP: numba's thread count (``NUMBA_NUM_THREADS``; joblib's workers set it
    to their share of the cores, so ``bench run --jobs N`` is not oversubscribed), 1 without numba."""
    try:
        from numba import config
    except ImportError:
        return 1
    return max(1, int(config.NUMBA_NUM_THREADS))


def omp_l1_compiled(
    x: np.ndarray, dictionary: np.ndarray, epsilon: float, *, batch: int = 4096, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`omp_l1` in float64 with the compiled Batch-OMP of :mod:`baselines._omp_kernel` (numba).

    OMP-Box's own algorithm (Cholesky update, ``alpha = D^T x - G_I c``, residual-norm recursion), one
    signal at a time; ``D^T x`` is one BLAS product per ``batch`` signals. Same parameters and returns
    as :func:`omp_l1` (the residual in float64). ``threads > 1`` codes the chunks of ``batch`` signals
    in that many threads (the kernel releases the GIL); every chunk is the same computation as in one
    thread, so the result is the same bit for bit.
    """
    from baselines._omp_kernel import omp_chunk

    x = np.asarray(x, dtype=np.float64)
    d = np.ascontiguousarray(dictionary, dtype=np.float64)
    dt = np.ascontiguousarray(d.T)
    g = dt @ d
    m, n = x.shape
    l1 = np.empty(m)
    res = np.empty((m, n))
    eps2 = float(epsilon) ** 2

    def chunk(s0: int) -> None:
        xb = np.ascontiguousarray(x[s0 : s0 + batch])
        omp_chunk(xb, xb @ d, dt, g, eps2, l1[s0 : s0 + batch], res[s0 : s0 + batch])

    starts = range(0, m, batch)
    if threads > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(int(threads), len(starts))) as pool:
            list(pool.map(chunk, starts))
    else:
        for s0 in starts:
            chunk(s0)
    return l1, res
