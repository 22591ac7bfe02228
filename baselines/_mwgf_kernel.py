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
def reconstruct(f: np.ndarray, div: np.ndarray, iters: int, step: float) -> np.ndarray:  # pragma: no cover
    """In place on ``f`` (H x W float64, H, W >= 1); returns ``f``."""
    h, w = f.shape
    q = np.empty((h + 2, w + 2), np.float32)
    qn = np.empty((h + 2, w + 2), np.float32)
    for y in range(h):
        for x in range(w):
            q[y + 1, x + 1] = np.floor(f[y, x] + 0.5)
    for _ in range(iters):
        for y in range(1, h + 1):  # replicated borders of the rounded image
            q[y, 0] = q[y, 1]
            q[y, w + 1] = q[y, w]
        for x in range(w + 2):
            q[0, x] = q[1, x]
            q[h + 1, x] = q[h, x]
        for y in range(h):
            qa = q[y]
            qb = q[y + 1]
            qc = q[y + 2]
            fr = f[y]
            dr = div[y]
            qo = qn[y + 1]
            for x in range(w):
                lap = np.float64(qa[x + 1] + qc[x + 1] + qb[x] + qb[x + 2] - np.float32(4.0) * qb[x + 1])
                v = fr[x] + step * (lap - dr[x])
                v = min(max(v, 0.0), 255.0)
                fr[x] = v
                qo[x + 1] = np.floor(v + 0.5)
        q, qn = qn, q
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
