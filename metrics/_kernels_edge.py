"""numba kernels of the Sobel edge-preservation metrics (private): Qabf (:mod:`metrics.qabf`), Qg
(:mod:`metrics.qg`) and Nabf (:mod:`metrics.nabf`).

Each metric's per-pixel expression is split around its two exponentials: ``*_args`` writes the two
sigmoid arguments element by element, the caller applies NumPy's ``np.exp`` to them in place (NumPy's
vectorised exp, whose bits numba's scalar ``math.exp`` does not reproduce), and ``*_accumulate`` finishes
the expression and adds it to the running sums. Every element gets the operations of the NumPy
expression in the same order (numba does not contract a multiply and an add into an FMA without
``fastmath``; square roots are correctly rounded on both paths), so the values are bit-identical to the
NumPy path: two passes instead of ~15 NumPy temporaries of the image's size.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_HALF_PI = np.pi / 2
_PI = np.pi


@njit(cache=True, nogil=True, error_model="numpy")
def qabf_args(g_s, a_s, g_f, a_f, kg, dg, ka, da, e1, e2):
    """``e1 = kg (G - dg)``, ``e2 = ka (A - da)`` with Qabf's strength ``G`` (``gF/gS`` if ``gS > gF``,
    ``gF`` if equal, ``gS/gF`` otherwise) and orientation ``A = 1 - |aS - aF| / (pi/2)``."""
    for i in range(g_s.shape[0]):
        for j in range(g_s.shape[1]):
            gs = g_s[i, j]
            gf = g_f[i, j]
            if gs > gf:
                st = gf / gs
            elif gs == gf:
                st = gf
            else:
                st = gs / gf
            e1[i, j] = kg * (st - dg)
            e2[i, j] = ka * ((1 - np.abs(a_s[i, j] - a_f[i, j]) / _HALF_PI) - da)


@njit(cache=True, nogil=True, error_model="numpy")
def qabf_accumulate(x1, x2, g_s, tg, ta, nume, deno):
    """``nume += (tg / (1 + x1)) * (ta / (1 + x2)) * g_s``, ``deno += g_s`` (``x = exp(e)``)."""
    for i in range(g_s.shape[0]):
        for j in range(g_s.shape[1]):
            gs = g_s[i, j]
            nume[i, j] = nume[i, j] + ((tg / (1 + x1[i, j])) * (ta / (1 + x2[i, j]))) * gs
            deno[i, j] = deno[i, j] + gs


@njit(cache=True, nogil=True, error_model="numpy")
def qg_args(g_s, a_s, g_f, a_f, guard, gsg, gfg, e1, e2):
    """Liu's Qg for one source: guarded magnitudes ``gsg = gS + (gS == 0) guard`` and
    ``gfg = gF + (gF == 0) guard`` (``gfg`` may be ``g_f`` itself), strength ``gF/gsg`` where
    ``gS > gF`` else ``gsg/gfg``, orientation ``||aS - aF| - pi/2| * 2 / pi``; ``e1 = -10 (G - 0.5)``,
    ``e2 = -20 (A - 0.75)``."""
    for i in range(g_s.shape[0]):
        for j in range(g_s.shape[1]):
            gs = g_s[i, j]
            gf = g_f[i, j]
            big = gs > gf
            gs = gs + (guard if gs == 0 else 0.0)
            b1 = gf / gs
            gf = gf + (guard if gf == 0 else 0.0)
            st = b1 if big else gs / gf
            gsg[i, j] = gs
            gfg[i, j] = gf
            e1[i, j] = -10.0 * (st - 0.5)
            e2[i, j] = -20.0 * ((np.abs(np.abs(a_s[i, j] - a_f[i, j]) - _HALF_PI) * 2) / _PI - 0.75)


@njit(cache=True, nogil=True, error_model="numpy")
def qg_accumulate(x1, x2, gsg, num, den):
    """``num += (1 / (1 + x1)) * (1 / (1 + x2)) * gsg``, ``den += gsg``."""
    for i in range(gsg.shape[0]):
        for j in range(gsg.shape[1]):
            gs = gsg[i, j]
            num[i, j] = num[i, j] + ((1.0 / (1 + x1[i, j])) * (1.0 / (1 + x2[i, j]))) * gs
            den[i, j] = den[i, j] + gs


@njit(cache=True, nogil=True, error_model="numpy")
def nabf_args(g, a, g_f, a_f, kg, sg, ka, sa, e1, e2):
    """Nabf's ``e1 = -kg (G - sg)``, ``e2 = -ka (A - sa)``: relative strength ``G`` (0 where either
    magnitude is 0, else min/max) and orientation ``A = ||a - aF| - pi/2| * 2 / pi``."""
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            gs = g[i, j]
            gf = g_f[i, j]
            r = gf / gs if gs > gf else gs / gf
            if gs == 0 or gf == 0:
                r = 0.0
            e1[i, j] = -kg * (r - sg)
            e2[i, j] = -ka * ((np.abs(np.abs(a[i, j] - a_f[i, j]) - _HALF_PI) * 2) / _PI - sa)


@njit(cache=True, nogil=True, error_model="numpy")
def nabf_accumulate(x1, x2, g, g_f, wt, nrg, nra, artifact, loss, wt_sum):
    """``q = sqrt((nrg / (1 + x1)) (nra / (1 + x2)))``; ``artifact &= gF > g``, ``loss += (1 - q) wt``,
    ``wt_sum += wt``."""
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            q = np.sqrt((nrg / (1 + x1[i, j])) * (nra / (1 + x2[i, j])))
            artifact[i, j] = artifact[i, j] and g_f[i, j] > g[i, j]
            w = wt[i, j]
            loss[i, j] = loss[i, j] + (1 - q) * w
            wt_sum[i, j] = wt_sum[i, j] + w


_Z = np.ones((2, 2))
_R = np.ones((2, 2))
_R.setflags(write=False)  # memoised maps are read-only: that specialisation too
_E = np.empty((2, 2))
for _F in (_Z, _R):
    qabf_args(_R, _R, _F, _F, 1.0, 1.0, 1.0, 1.0, _E, _E.copy())
    qg_args(_R, _R, _F, _R, 1e-5, _E, _E.copy(), _E.copy(), _E.copy())
    nabf_args(_R, _R, _F, _F, 1.0, 1.0, 1.0, 1.0, _E, _E.copy())
    nabf_accumulate(_Z, _Z, _R, _F, _R, 1.0, 1.0, np.ones((2, 2), np.bool_), _E, _E.copy())
qabf_accumulate(_Z, _Z, _R, 1.0, 1.0, _E, _E.copy())
qg_accumulate(_Z, _Z, _Z, _E, _E.copy())
qg_args(_R, _R, _Z, _R, 1e-5, _E, _Z, _E.copy(), _E.copy())  # build (or load) now: a failure selects NumPy
