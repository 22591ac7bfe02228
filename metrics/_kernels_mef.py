"""numba kernels of MEF-SSIM (private; see :func:`metrics.mef_ssim._mef_single`).

The per-pixel tail of one scale -- ``wrf = sum_i a_i (gxf_i - mu_i gf) live_i`` (Python's ``sum``: from
0, left to right), ``s2``, ``s12`` and the quality map ``q`` -- with the NumPy expressions' operations
element by element in the same order (no fast-math: numba neither reorders nor contracts them), so the
map has the NumPy path's bits; one pass per source plus one for the map instead of ~20 temporaries.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def wrf_add(acc, a, gxf, mu, gf, live):
    """``acc = acc + a * (gxf - mu * gf) * live`` (``live`` boolean: 1.0 or 0.0)."""
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            lv = 1.0 if live[i, j] else 0.0
            acc[i, j] = acc[i, j] + (a[i, j] * (gxf[i, j] - mu[i, j] * gf[i, j])) * lv


@njit(cache=True, nogil=True, error_model="numpy")
def quality(gff, gf, lam, wrf, mu1, s1, gsum, c, out):
    """``s2 = gff - 2 gf gf + gf gf gsum``, ``s12 = lam wrf - mu1 gf - gf mu1 + mu1 gf gsum``,
    ``out = (2 s12 + c) / (s1 + s2 + c)``."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            m2 = gf[i, j]
            m1 = mu1[i, j]
            s2 = gff[i, j] - 2 * m2 * m2 + m2 * m2 * gsum
            s12 = lam[i, j] * wrf[i, j] - m1 * m2 - m2 * m1 + m1 * m2 * gsum
            out[i, j] = (2 * s12 + c) / (s1[i, j] + s2 + c)
    return out


_Z = np.ones((2, 2))
_R = np.ones((2, 2))
_R.setflags(write=False)  # the memoised source side is read-only
_B = np.ones((2, 2), np.bool_)
_B.setflags(write=False)
wrf_add(np.zeros((2, 2)), _R, _Z, _R, _Z, _B)
quality(_Z, _Z, _R, _Z, _R, _R, 1.0, 1.0, np.empty((2, 2)))  # build (or load) now: a failure selects NumPy
