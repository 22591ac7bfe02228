"""numba kernels of Qp (private; see :mod:`metrics._phasecong` and :mod:`metrics.qp`).

:func:`phase_congruency` does, row by row, what ``_phasecong._orientation_block`` (six calls, one per
orientation) and the final moment formulas of ``phasecong_liu`` do with NumPy temporaries: the same
formulas in the same order (sums over the four scales added in scale order, the per-orientation
accumulators added in orientation order starting from 0), so the results agree with the NumPy path to
rounding (tests: Qp within 1e-12 relative). Complex magnitudes are ``sqrt(re^2 + im^2)`` (libm's
``hypot``, which NumPy uses, costs several times more; the two differ by at most an ulp, and the
responses are far from overflow). The five per-orientation accumulators live in row buffers (cache),
not in five full-size arrays read and written six times: the stage is memory-bound, so this and the
4-scale unrolled inner loop (which LLVM vectorises: the square roots and divisions dominate) are what
make it fast.

:func:`correlation_update` is one source map's term of Qp's masked local correlation score
(``qp._correlation_score``) in one pass, with ``np.fmax`` semantics for the running maximum.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_EPSILON = 0.0001
_G = 10.0
_CUT_OFF = 0.5


@njit(cache=True, error_model="numpy")
def phase_congruency(eo, t, cos_a, sin_a, acc, start, finish, norient, pc, big_m, small_m):
    """Liu's phase congruency and moments from the filter responses of a group of orientations.

    ``eo`` is the (k, 4, rows, cols) complex array of filter responses (k orientations, 4 scales), ``t``,
    ``cos_a`` and ``sin_a`` their noise thresholds and orientation cosines/sines. The five accumulators
    (sum of amplitudes, energy, covariance terms) start at 0 when ``start``, else are read from ``acc``
    (5, rows, cols); when ``finish`` the phase congruency and moments over ``norient`` orientations are
    written to ``pc``, ``big_m``, ``small_m`` ((rows, cols) float64), else the accumulators to ``acc``.
    """
    k, nscale, rows, cols = eo.shape
    ev = np.empty((nscale, cols))
    od = np.empty((nscale, cols))
    sa = np.empty(cols)
    en = np.empty(cols)
    wa = np.empty(cols)
    acc_an = np.empty(cols)
    acc_en = np.empty(cols)
    acc_x2 = np.empty(cols)
    acc_y2 = np.empty(cols)
    acc_xy = np.empty(cols)
    g_scale = -_G / nscale
    for y in range(rows):
        for x in range(cols):
            if start:
                acc_an[x] = 0.0
                acc_en[x] = 0.0
                acc_x2[x] = 0.0
                acc_y2[x] = 0.0
                acc_xy[x] = 0.0
            else:
                acc_an[x] = acc[0, y, x]
                acc_en[x] = acc[1, y, x]
                acc_x2[x] = acc[2, y, x]
                acc_y2[x] = acc[3, y, x]
                acc_xy[x] = acc[4, y, x]
        for o in range(k):
            for s in range(nscale):
                for x in range(cols):
                    z = eo[o, s, y, x]
                    ev[s, x] = z.real
                    od[s, x] = z.imag
            to = t[o]
            for x in range(cols):  # vectorised by LLVM
                e0 = ev[0, x]
                o0 = od[0, x]
                e1 = ev[1, x]
                o1 = od[1, x]
                e2 = ev[2, x]
                o2 = od[2, x]
                e3 = ev[3, x]
                o3 = od[3, x]
                a0 = math.sqrt(e0 * e0 + o0 * o0)
                a1 = math.sqrt(e1 * e1 + o1 * o1)
                a2 = math.sqrt(e2 * e2 + o2 * o2)
                a3 = math.sqrt(e3 * e3 + o3 * o3)
                sum_an = ((a0 + a1) + a2) + a3
                max_an = a0
                max_an = a1 if a1 > max_an else max_an
                max_an = a2 if a2 > max_an else max_an
                max_an = a3 if a3 > max_an else max_an
                se = ((e0 + e1) + e2) + e3
                so = ((o0 + o1) + o2) + o3
                a = math.sqrt(se * se + so * so)
                x_energy = a + _EPSILON
                mean_e = se / x_energy
                mean_o = so / x_energy
                a = a * a
                a = a / x_energy  # sumE mE + sumO mO = |sum EO|^2 / XEnergy
                d = abs(e0 * mean_o - o0 * mean_e)
                d = d + abs(e1 * mean_o - o1 * mean_e)
                d = d + abs(e2 * mean_o - o2 * mean_e)
                d = d + abs(e3 * mean_o - o3 * mean_e)
                a = a - d
                a = a - to
                en[x] = 0.0 if a < 0.0 else a  # NaN kept, as np.maximum
                w = sum_an / (max_an + _EPSILON)
                w = w * g_scale
                wa[x] = w + _CUT_OFF * _G
                sa[x] = sum_an
            for x in range(cols):
                wa[x] = math.exp(wa[x])
            cc = cos_a[o] * cos_a[o]
            ss = sin_a[o] * sin_a[o]
            cs = cos_a[o] * sin_a[o]
            for x in range(cols):
                sum_an = sa[x]
                acc_an[x] += sum_an
                energy = en[x] / (wa[x] + 1.0)
                acc_en[x] += energy
                energy = energy / sum_an  # per-orientation phase congruency (0/0 = NaN when constant)
                energy = energy * energy
                acc_x2[x] += cc * energy
                acc_y2[x] += ss * energy
                acc_xy[x] += cs * energy
        if not finish:
            for x in range(cols):
                acc[0, y, x] = acc_an[x]
                acc[1, y, x] = acc_en[x]
                acc[2, y, x] = acc_x2[x]
                acc[3, y, x] = acc_y2[x]
                acc[4, y, x] = acc_xy[x]
            continue
        half = norient / 2
        for x in range(cols):
            pc[y, x] = acc_en[x] / (acc_an[x] + _EPSILON)
            cx2 = acc_x2[x] / half
            cy2 = acc_y2[x] / half
            cxy = acc_xy[x] / norient
            diff = cx2 - cy2
            denom = math.sqrt(cxy * cxy + diff * diff) + _EPSILON
            big_m[y, x] = (cy2 + cx2 + denom) / 2
            small_m[y, x] = (cy2 + cx2 - denom) / 2


@njit(cache=True, error_model="numpy")
def correlation_update(first, result, sxf, mu, mu_f, sigma_sq, sff, mask, c):
    """One source map's masked correlation term, folded into ``result`` (in place).

    ``value = (sxf - mu mu_f + c) / (sqrt|sigma_sq (sff - mu_f^2)| + c)`` where ``mask``, else 0;
    ``result = value`` when ``first``, else ``np.fmax(result, value)`` (NaN ignored as MATLAB's max).
    """
    rows, cols = result.shape
    for y in range(rows):
        for x in range(cols):
            muf = mu_f[y, x]
            sigma_f_sq = sff[y, x] - muf * muf
            den = math.sqrt(abs(sigma_sq[y, x] * sigma_f_sq)) + c
            v = (sxf[y, x] - mu[y, x] * muf + c) / den
            if not mask[y, x]:
                v = 0.0
            if first:
                result[y, x] = v
            else:
                r = result[y, x]
                if not (r >= v or v != v):  # np.fmax(r, v)
                    result[y, x] = v
