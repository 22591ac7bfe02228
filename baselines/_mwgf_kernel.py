"""Compiled MWGF reconstruction loop (numba, imported lazily by :mod:`baselines.mwgf`). Our own code.

``RecoverByGra`` of the MWGF release runs 500 sweeps of
``f <- clip(f + step (Lap(round(f)) - div), 0, 255)`` (5-point Laplacian, replicated borders) over each
channel: 400 M pixel updates per colour pair, about 2 s as NumPy/OpenCV passes. This kernel does one
fused pass per sweep (rounded image double-buffered in float32, which holds its integers exactly),
with the arithmetic of the NumPy path in :func:`baselines.mwgf.reconstruct_numpy` in the same order, so
both give identical bits (``tests/test_baselines_mwgf.py`` checks it). Compiled with ``cache=True``.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _sweep_row(f, div, src, dst, y, w, step):  # pragma: no cover
    """One sweep's update of row ``y``: reads rounded rows y-1..y+1 of ``src``, writes row y of ``dst``."""
    qa = src[y]
    qb = src[y + 1]
    qc = src[y + 2]
    fr = f[y]
    dr = div[y]
    qo = dst[y + 1]
    for x in range(w):
        lap = np.float64(qa[x + 1] + qc[x + 1] + qb[x] + qb[x + 2] - np.float32(4.0) * qb[x + 1])
        v = fr[x] + step * (lap - dr[x])
        v = min(max(v, 0.0), 255.0)
        fr[x] = v
        qo[x + 1] = np.floor(v + 0.5)
    qo[0] = qo[1]  # replicated left/right borders of the rounded image
    qo[w + 1] = qo[w]


@numba.njit(cache=True, nogil=True)
def reconstruct(
    f: np.ndarray, div: np.ndarray, iters: int, step: float, block: int = 32
) -> np.ndarray:  # pragma: no cover
    """In place on ``f`` (H x W float64); returns ``f``.

    ``block`` sweeps are in flight at once, each two rows behind the previous one (a wavefront): sweep
    k + 1 updates row y only after sweep k has rounded rows y-1..y+1 and updated f[y], which is exactly
    the sequential order's data, while the rows being worked on stay in cache. Two rounded-image buffers
    alternate between sweeps (sweep k + 1 overwrites rows sweep k no longer reads).
    """
    h, w = f.shape
    q = np.empty((2, h + 2, w + 2), np.float32)
    for y in range(h):
        for x in range(w):
            q[0, y + 1, x + 1] = np.floor(f[y, x] + 0.5)
        q[0, y + 1, 0] = q[0, y + 1, 1]
        q[0, y + 1, w + 1] = q[0, y + 1, w]
    q[0, 0] = q[0, 1]
    q[0, h + 1] = q[0, h]
    for t0 in range(0, iters, block):
        nt = min(block, iters - t0)
        for s in range(h + 2 * (nt - 1)):
            for k in range(nt):
                y = s - 2 * k
                if y < 0 or y >= h:
                    continue
                par = (t0 + k) & 1
                src = q[par]
                dst = q[1 - par]
                _sweep_row(f, div, src, dst, y, w, step)
                if y == 0:  # replicated top/bottom borders
                    dst[0] = dst[1]
                if y == h - 1:
                    dst[h + 1] = dst[h]
    return f


@numba.njit(cache=True, nogil=True)
def merge_gradients(dx1, dy1, dx2, dy2, w1, w2, eps):  # pragma: no cover
    """``GradientMixWeightModify(.., 5)`` pixel by pixel, in the NumPy path's operation order."""
    h, w = dx1.shape
    gx = np.empty((h, w))
    gy = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            xw1 = dx1[y, x] * w1[y, x]
            yw1 = dy1[y, x] * w1[y, x]
            xw2 = dx2[y, x] * w2[y, x]
            yw2 = dy2[y, x] * w2[y, x]
            c11 = xw1 * xw1 + xw2 * xw2
            c12 = xw1 * yw1 + xw2 * yw2
            c22 = yw1 * yw1 + yw2 * yw2
            dd = c11 - c22
            root = np.sqrt(dd * dd + 4.0 * c12 * c12)
            d22 = (c11 + c22 + root) / 2.0
            v12 = (c11 - c22 + root) / (2.0 * c12 + eps)
            norm = np.sqrt(v12 * v12 + 1.0)
            sd = np.sqrt(d22)
            px = sd * v12 / norm
            py = sd / norm
            rx = w1[y, x] * dx1[y, x] + w2[y, x] * dx2[y, x]
            ry = w1[y, x] * dy1[y, x] + w2[y, x] * dy2[y, x]
            ss = np.sign(px * rx + py * ry + eps)
            gx[y, x] = ss * px
            gy[y, x] = ss * py
    return gx, gy
