"""Batched error-constrained OMP in PyTorch, float64, for CUDA (and the CPU, for tests). Our own code.

The device route of :func:`baselines._omp.omp_l1_compiled` (OMP-Box's Batch-OMP, ``ompcore.c``, as
described in Rubinstein, Zibulevsky & Elad, Technion CS-2008-08): the same selection and stopping rules,
with every signal of a chunk advancing together as tensor operations. Per signal ``x`` with
``alpha0 = D^T x`` and ``G = D^T D``:

* next atom: the first maximiser of ``|alpha|`` (``torch.argmax`` returns the first maximum); stop when
  it is already selected or ``alpha^2 < 1e-14``;
* Cholesky update of ``G_II``: ``w = L^-1 G_I,pos``, stop when ``1 - w^T w <= 1e-14``;
* ``c = L^-T y`` with ``y = L^-1 alpha0_I`` (one new entry per atom); ``beta = G_:,I c``;
  ``alpha = alpha0 - beta``;
* the residual-norm recursion ``|r|^2 <- |r|^2 - c^T beta_I + delta_prev``; the loop runs while
  ``|r|^2 > epsilon^2`` and fewer than ``n`` atoms are selected;
* output ``sum |c|`` and the residual ``x - D c``.

What differs from the compiled kernel is the order of float operations only: ``L^-1`` is kept as a
matrix (a new row per atom, ``[-w^T L^-1 / l, 1 / l]``), so the forward solve is a batched
matrix-vector product and ``c = L^-T y = sum_j y_j (L^-1)_j`` grows by one term per atom; ``beta = c G``
is one dense product per step over the chunk (a GEMM: K / k times the multiply-adds of ``G_:,I c`` with
k atoms selected, but compute-bound, the fastest form on a GPU). Codes agree with the
compiled kernel to ~1e-12 relative; an atom choice or a stop can flip where two quantities tie within
that, so the fused images of :func:`baselines.sr.sr_fuse` agree to a measured share of pixels, not bit for
bit (see ``tests/test_omp_torch.py`` and the sr metadata). Signals that stop leave the working set when
a quarter of it has stopped (the state tensors are compacted).
"""

from __future__ import annotations

import numpy as np

# signals per chunk (memory ~ batch * (n*n + 6*K) * 8 bytes: 8192 -> ~0.4 GB, 32768 -> ~1.5 GB)
BATCH = {"cpu": 8192, "cuda": 32768}


def omp_l1_torch(
    x: np.ndarray,
    dictionary: np.ndarray,
    epsilon: float,
    *,
    device: str = "cpu",
    batch: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`baselines._omp.omp_l1` in float64 on a torch device (same parameters and returns).

    ``device`` is an already resolved torch device (``"cpu"``, ``"cuda"``, ``"cuda:N"``); ``batch``
    signals per chunk (None: ``BATCH`` of the device type). The residual is float64.
    """
    import torch

    x = np.asarray(x, dtype=np.float64)
    m, n = x.shape
    dev = torch.device(device)
    batch = max(1, int(batch or BATCH.get(dev.type, BATCH["cpu"])))
    d = torch.as_tensor(np.ascontiguousarray(dictionary, dtype=np.float64), device=dev)
    if d.shape[0] != n:
        raise ValueError(f"omp: signals of length {n} and a dictionary with {d.shape[0]} rows")
    g = d.T @ d
    l1 = np.empty(m)
    res = np.empty((m, n))
    eps2 = float(epsilon) ** 2
    with torch.no_grad():
        for s0 in range(0, m, batch):
            xb = torch.as_tensor(x[s0 : s0 + batch], device=dev)
            code = _chunk(xb, xb @ d, g, eps2)
            l1[s0 : s0 + len(xb)] = code.abs().sum(dim=1).cpu().numpy()
            res[s0 : s0 + len(xb)] = (xb - code @ d.T).cpu().numpy()
    return l1, res


def _chunk(x, a0, g, eps2: float):
    """Codes (b, K) of the rows of ``x`` (b, n) given ``a0 = x D`` and the Gram matrix ``g``."""
    import torch

    b, n = x.shape
    kk = g.shape[0]
    dev, dt = x.device, x.dtype
    out = torch.zeros((b, kk), dtype=dt, device=dev)  # finished codes
    gid = torch.arange(b, device=dev)  # working row -> chunk row
    alpha = a0.clone()
    resn = (x * x).sum(dim=1)
    deltaprev = torch.zeros(b, dtype=dt, device=dev)
    linv = torch.zeros((b, n, n), dtype=dt, device=dev)  # L^-1 (lower triangular)
    ind = torch.zeros((b, n), dtype=torch.long, device=dev)
    c = torch.zeros((b, n), dtype=dt, device=dev)  # code on the selected atoms, c = L^-T y
    code = torch.zeros((b, kk), dtype=dt, device=dev)  # the working rows' current codes
    selected = torch.zeros((b, kk), dtype=torch.bool, device=dev)
    done = torch.zeros(b, dtype=torch.bool, device=dev)  # stopped (rows kept until the next compaction)
    for i in range(n + 1):
        stop = resn <= eps2
        if i == n:
            stop = torch.ones_like(stop)
        else:
            pos = alpha.abs().argmax(dim=1)
            ap = alpha.gather(1, pos[:, None])[:, 0]
            stop |= selected.gather(1, pos[:, None])[:, 0] | (ap * ap < 1e-14)
            if i:
                gip = g[pos].gather(1, ind[:, :i])  # G[ind, pos] (G symmetric)
                w = (linv[:, :i, :i] @ gip[:, :, None])[:, :, 0]  # L^-1 G_I,pos
                rest = 1.0 - (w * w).sum(dim=1)
                stop |= rest <= 1e-14
        new = stop & ~done
        if bool(new.any()):
            out[gid[new]] = code[new]
        done |= stop
        if i == n or bool(done.all()):
            break
        if int(done.sum()) * 4 >= len(done):  # compact: stopped rows leave the working set
            keep = ~done
            gid, alpha, resn, deltaprev, linv, ind, c, code, selected, a0, pos, ap = (
                t[keep] for t in (gid, alpha, resn, deltaprev, linv, ind, c, code, selected, a0, pos, ap)
            )
            if i:
                w, rest = w[keep], rest[keep]
            done = done[keep]
        # rows already stopped but not yet compacted go on with harmless values (never read again)
        if i == 0:
            linv[:, 0, 0] = 1.0
        else:
            rest = torch.where(done, torch.ones_like(rest), rest)
            inv_l = 1.0 / torch.sqrt(rest)
            # new row of L^-1 for L's new row [w^T, l]: [-w^T L^-1 / l, 1 / l]
            linv[:, i, :i] = -(w[:, None, :] @ linv[:, :i, :i])[:, 0] * inv_l[:, None]
            linv[:, i, i] = inv_l
        ind[:, i] = pos
        selected.scatter_(1, pos[:, None], True)
        a0i = a0.gather(1, ind[:, : i + 1])
        yi = (linv[:, i, : i + 1] * a0i).sum(dim=1)  # (L^-1 alpha0_I)_i
        # c = L^-T y = sum_j y_j (row j of L^-1): the rows of L^-1 never change, so one term per atom
        c[:, : i + 1] += yi[:, None] * linv[:, i, : i + 1]
        code.zero_()
        code.scatter_(1, ind[:, : i + 1], c[:, : i + 1])
        beta = code @ g  # G_:,I c
        torch.sub(a0, beta, out=alpha)
        delta = (c[:, : i + 1] * beta.gather(1, ind[:, : i + 1])).sum(dim=1)
        resn = resn - delta + deltaprev
        deltaprev = delta
    return out
