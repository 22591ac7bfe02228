"""MATLAB image-processing emulations shared by the survey ports: ``imresize`` (bicubic, antialiased) and
``strel('disk', r)``'s neighbourhood. Our own code, written from MATLAB's documented behaviour (moved out of
``baselines/mwgf.py``, unchanged).
"""

from __future__ import annotations

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def _imresize_matrix(n: int, scale: float) -> np.ndarray:
    """out x n weights of MATLAB ``imresize`` (bicubic, antialiasing when shrinking) along one axis."""
    out_n = int(np.ceil(n * scale))
    width = 4.0 / scale if scale < 1 else 4.0
    i = np.arange(1, out_n + 1, dtype=np.float64)
    u = i / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    wts = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    wts /= wts.sum(axis=1, keepdims=True)
    aux = np.r_[np.arange(n), np.arange(n - 1, -1, -1)]  # mirror out-of-range indices
    cols = aux[np.mod(idx.astype(np.int64) - 1, 2 * n)]
    mat = np.zeros((out_n, n))
    np.add.at(mat, (np.repeat(np.arange(out_n), taps), cols.ravel()), wts.ravel())
    return mat


def imresize(x: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(x, scale)`` (bicubic) of a 2-D (real or complex) array: rows, then columns."""
    r = _imresize_matrix(x.shape[0], scale)
    c = _imresize_matrix(x.shape[1], scale)
    return (r @ x) @ c.T


def disk_strel(r: int) -> np.ndarray:
    """Neighbourhood of MATLAB ``strel('disk', r)`` (default 4 periodic lines + compensating lines)."""
    if r < 3:
        y, x = np.mgrid[-r : r + 1, -r : r + 1]
        return (x**2 + y**2 <= r**2).astype(np.uint8)
    theta = np.pi / 8
    k = 2 * r / (1 / np.tan(theta) + 1 / np.sin(theta))
    pts = {(0, 0)}

    def dilate(points, offsets):
        return {(a + c, b + d) for a, b in points for c, d in offsets}

    for v in ((1, 0), (1, 1), (0, 1), (-1, 1)):
        rp = int(np.floor(k / np.hypot(*v)))
        pts = dilate(pts, [(p * v[0], p * v[1]) for p in range(-rp, rp + 1)])
    rad = max(a for a, _ in pts)
    length = 2 * (r - rad - 1) + 1
    if length >= 3:
        half = (length - 1) // 2
        pts = dilate(pts, [(0, c) for c in range(-half, half + 1)])
        pts = dilate(pts, [(c, 0) for c in range(-half, half + 1)])
    m = max(max(abs(a), abs(b)) for a, b in pts)
    se = np.zeros((2 * m + 1, 2 * m + 1), np.uint8)
    for a, b in pts:
        se[a + m, b + m] = 1
    return se
