"""numba kernel of phase congruency's per-orientation energy stage (private; see :mod:`metrics._phasecong`).

:func:`orientation_stage` does, pixel by pixel and in registers, what ``_phasecong._orientation_block``
does with NumPy temporaries: the same formulas in the same order (sums over the four scales added in
scale order), so the results agree with the NumPy path to rounding (tests: Qp within 1e-12 relative).
Complex magnitudes are ``sqrt(re^2 + im^2)`` (libm's ``hypot``, which NumPy uses, costs several times
more; the two differ by at most an ulp, and the responses are far from overflow).
"""

from __future__ import annotations

import math

from numba import njit

_EPSILON = 0.0001
_G = 10.0
_CUT_OFF = 0.5


@njit(cache=True, error_model="numpy")
def orientation_stage(eo, t, cos_a, sin_a, total_sum_an, total_energy, covx2, covy2, covxy):
    """Accumulate one orientation's energy, sum of amplitudes and PC covariance terms (in place).

    ``eo`` is the (nscale, rows, cols) complex array of filter responses; the five accumulators are
    (rows, cols) float64 arrays.
    """
    nscale, rows, cols = eo.shape
    cc = cos_a * cos_a
    ss = sin_a * sin_a
    cs = cos_a * sin_a
    for y in range(rows):
        for x in range(cols):
            z = eo[0, y, x]
            an = math.sqrt(z.real * z.real + z.imag * z.imag)
            sum_an = an
            max_an = an
            se = z.real
            so = z.imag
            for s in range(1, nscale):
                z = eo[s, y, x]
                an = math.sqrt(z.real * z.real + z.imag * z.imag)
                sum_an = sum_an + an
                if an > max_an:
                    max_an = an
                se = se + z.real
                so = so + z.imag
            a = math.sqrt(se * se + so * so)
            x_energy = a + _EPSILON
            mean_e = se / x_energy
            mean_o = so / x_energy
            a = a * a
            a = a / x_energy
            d = 0.0
            for s in range(nscale):
                z = eo[s, y, x]
                v = z.real * mean_o - z.imag * mean_e
                d = d + abs(v)
            a = a - d
            a = a - t
            energy = 0.0 if a < 0.0 else a  # NaN kept, as np.maximum
            w = sum_an / (max_an + _EPSILON)
            w = w * (-_G / nscale)
            w = w + _CUT_OFF * _G
            w = math.exp(w) + 1.0
            total_sum_an[y, x] += sum_an
            energy = energy / w
            total_energy[y, x] += energy
            energy = energy / sum_an
            energy = energy * energy
            covx2[y, x] += cc * energy
            covy2[y, x] += ss * energy
            covxy[y, x] += cs * energy
