"""numba kernels of Qp (private; see :mod:`metrics._phasecong` and :mod:`metrics.qp`).

:func:`phase_congruency` does, row by row, what ``_phasecong._orientation_block`` (six calls, one per
orientation) and the final moment formulas of ``phasecong_liu`` do with NumPy temporaries: the same
formulas (sums over the four scales added in scale order, the per-orientation accumulators added in
orientation order starting from 0), so the results agree with the NumPy path to rounding (tests: Qp
within 1e-12 relative; measured ~1e-16 on lytro-01, g_05 and a 3-source stack). Complex magnitudes are
``sqrt(re^2 + im^2)`` (libm's ``hypot``, which NumPy uses, costs several times more; the two differ by
at most an ulp, and the responses are far from overflow). Rearrangements save divisions (two per pixel
and orientation instead of six, at a few ulp): ``sum_s (E_s mE + O_s mO - |E_s mO - O_s mE|)`` with
``mE = sumE / XEnergy`` is formed as ``(|sum EO|^2 - sum_s |E_s sumO - O_s sumE|) / XEnergy``; one
reciprocal of ``XEnergy * (maxAn + eps)`` gives both ``1 / XEnergy`` and the width ratio; one reciprocal
of ``(1 + exp) * sumAn`` gives the weighted energy and its phase congruency. The sigmoid's ``exp`` is
:func:`_exp_rows`, which LLVM vectorises (numba's ``math.exp`` is a scalar libm call: it was ~40 % of
this kernel), at most 1 ulp from libm. The five per-orientation accumulators live in row
buffers (cache), not in five full-size arrays read and written six times; the responses are read as
complex numbers in the 4-scale unrolled inner loop (which LLVM vectorises: square roots and divisions
dominate), not first copied to separate real/imaginary rows.

:func:`spectrum_products` forms one orientation's four spectrum products ``imagefft .* (logGabor{s}
.* spread)`` on a block of rows, bit for bit NumPy's (the bank keeps the 4 + 6 factors, 22 MB at 520x520,
not the 24 products, 52 MB); :func:`transpose_rows` stores a block of transformed rows as columns (the
row-blocked inverse DFT of ``_phasecong._responses_transposed``); :func:`median_of_squared_magnitudes`
gives the noise estimate's ``median(abs(EO).^2)`` by a bucket selection (squares as ``re^2 + im^2``).

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


# exp by Cody-Waite reduction and a degree-13 Taylor polynomial, written so that LLVM vectorises it (numba's
# math.exp is a scalar libm call per element, ~4x the time of this loop): exp(v) = 2^k exp(r),
# k = round(v / ln 2), r = (v - k ln2_hi) - k ln2_lo with |r| <= ln(2)/2 (truncation < 5e-18 relative).
# Measured against libm on 1.6 M uniform samples of [-5, 5]: at most 1 ulp apart, 90 % identical.
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: (x + _ROUND) - _ROUND rounds x to the nearest integer
_FAST_EXP_LIMIT = 20.0  # |v| <= 20: k in [-29, 29]; other values (and NaN) are recomputed by libm
_C = tuple(1.0 / math.factorial(n) for n in range(14))


@njit(cache=True, nogil=True, error_model="numpy")
def _exp_rows(v, out):
    """``out = exp(v)`` element-wise for a 1-D float64 array (vectorised; libm outside |v| <= 20)."""
    n = v.shape[0]
    for i in range(n):
        x = v[i]
        x = x if x > -_FAST_EXP_LIMIT else -_FAST_EXP_LIMIT  # NaN -> -20 here (fixed below)
        x = x if x < _FAST_EXP_LIMIT else _FAST_EXP_LIMIT
        k = (x * _INV_LN2 + _ROUND) - _ROUND
        r = (x - k * _LN2_HI) - k * _LN2_LO
        q = _C[13]
        q = q * r + _C[12]
        q = q * r + _C[11]
        q = q * r + _C[10]
        q = q * r + _C[9]
        q = q * r + _C[8]
        q = q * r + _C[7]
        q = q * r + _C[6]
        q = q * r + _C[5]
        q = q * r + _C[4]
        q = q * r + _C[3]
        q = q * r + _C[2]
        p = 1.0 + (r + r * r * q)
        scale = float(np.int64(1) << (np.int64(k) + 32)) * 2.3283064365386963e-10  # 2^k exactly (2^-32)
        out[i] = p * scale
    for i in range(n):
        if not abs(v[i]) <= _FAST_EXP_LIMIT:
            out[i] = math.exp(v[i])


@njit(cache=True, nogil=True, error_model="numpy")
def phase_congruency(eo, t, cos_a, sin_a, acc, start, finish, norient, pc, big_m, small_m):
    """Liu's phase congruency and moments from the filter responses of a group of orientations.

    ``eo`` is the (k, 4, rows, cols) complex array of filter responses (k orientations, 4 scales), ``t``,
    ``cos_a`` and ``sin_a`` their noise thresholds and orientation cosines/sines. The five accumulators
    (sum of amplitudes, energy, covariance terms) start at 0 when ``start``, else are read from ``acc``
    (5, rows, cols); when ``finish`` the phase congruency and moments over ``norient`` orientations are
    written to ``pc``, ``big_m``, ``small_m`` ((rows, cols) float64), else the accumulators to ``acc``.
    """
    k, nscale, rows, cols = eo.shape
    sa = np.empty(cols)
    en = np.empty(cols)
    wa = np.empty(cols)
    ex = np.empty(cols)
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
            to = t[o]
            r0 = eo[o, 0, y]
            r1 = eo[o, 1, y]
            r2 = eo[o, 2, y]
            r3 = eo[o, 3, y]
            for x in range(cols):  # vectorised by LLVM
                z = r0[x]
                e0 = z.real
                o0 = z.imag
                z = r1[x]
                e1 = z.real
                o1 = z.imag
                z = r2[x]
                e2 = z.real
                o2 = z.imag
                z = r3[x]
                e3 = z.real
                o3 = z.imag
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
                a2s = se * se + so * so
                x_energy = math.sqrt(a2s) + _EPSILON  # XEnergy
                max_e = max_an + _EPSILON
                rr = 1.0 / (x_energy * max_e)  # one division for 1 / XEnergy and 1 / (maxAn + eps)
                inv_x = max_e * rr
                # sum_s (E_s mE + O_s mO - |E_s mO - O_s mE|)
                #   = (|sum EO|^2 - sum_s |E_s sO - O_s sE|) / XEnergy
                d = abs(e0 * so - o0 * se)
                d = d + abs(e1 * so - o1 * se)
                d = d + abs(e2 * so - o2 * se)
                d = d + abs(e3 * so - o3 * se)
                a = (a2s - d) * inv_x - to  # noise threshold, then clamp at 0
                en[x] = 0.0 if a < 0.0 else a  # NaN kept, as np.maximum
                w = sum_an * (x_energy * rr)  # sum_an / (max_an + eps), in [0, 4]
                wa[x] = w * g_scale + _CUT_OFF * _G  # in [-5, 5]
                sa[x] = sum_an
            _exp_rows(wa, ex)
            cc = cos_a[o] * cos_a[o]
            ss = sin_a[o] * sin_a[o]
            cs = cos_a[o] * sin_a[o]
            for x in range(cols):
                sum_an = sa[x]
                acc_an[x] += sum_an
                # energy = en / (1 + exp), its phase congruency energy / sum_an, with one division; where
                # sum_an = 0, en is 0 (or NaN), energy as en / (1 + exp) and pc_o = 0 * inf = NaN as 0/0
                e = en[x]
                q = 1.0 / ((ex[x] + 1.0) * sum_an)
                pc_o = e * q
                energy = pc_o * sum_an if sum_an != 0.0 else e
                acc_en[x] += energy
                energy = pc_o * pc_o
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def spectrum_products(imagefft, log_gabor, spread, r0, out):
    """``out[s, i] = imagefft[r0 + i] .* (log_gabor[s, r0 + i] .* spread[r0 + i])`` for every scale ``s``
    and every row ``i`` of ``out`` (one orientation's filters formed and applied as MATLAB does, on a block
    of rows: the same products, bit for bit, as NumPy's)."""
    nscale, n, cols = out.shape
    for i in range(n):
        y = r0 + i
        for x in range(cols):
            z = imagefft[y, x]
            sp = spread[y, x]
            for s in range(nscale):
                f = log_gabor[s, y, x] * sp
                out[s, i, x] = complex(z.real * f, z.imag * f)


@njit(cache=True, nogil=True, error_model="numpy")
def transpose_rows(block, r0, out):
    """``out[s, x, r0 + i] = block[s, i, x]``: a block of rows of every scale stored as columns of ``out``
    (in tiles of 8 columns, so that the writes fill whole cache lines of ``out``)."""
    nscale, n, cols = block.shape
    for s in range(nscale):
        for x0 in range(0, cols, 8):
            x1 = min(cols, x0 + 8)
            for i in range(n):
                for x in range(x0, x1):
                    out[s, x, r0 + i] = block[s, i, x]


_BUCKET_SHIFT = 48  # the top 16 bits of a float64 (sign, exponent, 4 mantissa bits) name its bucket


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _squares_of_row(z, y, out):
    """``out[x] = real(z[y, x])^2 + imag(z[y, x])^2``: ``abs(z).^2`` to an ulp (two products and a sum,
    as NumPy's ``z.real * z.real + z.imag * z.imag``, bit for bit)."""
    for x in range(z.shape[1]):
        v = z[y, x]
        out[x] = v.real * v.real + v.imag * v.imag


@njit(cache=True, nogil=True, error_model="numpy")
def _gather_buckets(z, lo, hi, m):
    """The ``m`` squared magnitudes of ``z`` whose buckets (top 16 bits) lie in ``lo..hi``, in scan order."""
    rows, cols = z.shape
    row = np.empty(cols)
    bits = row.view(np.uint64)
    first = np.uint64(lo)  # unsigned throughout: numba compares uint64 with int64 as float64
    last = np.uint64(hi)
    out = np.empty(m)
    j = 0
    for y in range(rows):
        _squares_of_row(z, y, row)
        for x in range(cols):
            bucket = bits[x] >> np.uint64(_BUCKET_SHIFT)
            if bucket >= first and bucket <= last:
                out[j] = row[x]
                j += 1
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def median_of_squared_magnitudes(z):
    """``median(real(z).^2 + imag(z).^2)`` over a 2-D complex array, without storing the squares.

    The same value as ``np.median(z.real * z.real + z.imag * z.imag)``, bit for bit (a selection of the
    same order statistics, not an estimate; NaN sorts last, as in NumPy's partition). The squares are
    non-negative, so their float64 bit patterns sort as the values do: one pass counts the squares per
    bucket of their top 16 bits, the buckets holding the middle rank(s) are found from the counts, a second
    pass gathers those buckets' squares (a few thousand of 270,000 at 520x520), and a partition of them
    gives the median. No squares are stored (each pass forms one row's).
    Against storing the squares and partitioning them all: 0.38 vs 3.0 ms at 520x520 (-9 % of a phase
    congruency, which takes six).
    """
    rows, cols = z.shape
    n = rows * cols
    counts = np.zeros(1 << 16, dtype=np.int64)
    row = np.empty(cols)  # one row's squares, and their bit patterns
    bits = row.view(np.uint64)
    for y in range(rows):
        _squares_of_row(z, y, row)
        for x in range(cols):
            counts[bits[x] >> np.uint64(_BUCKET_SHIFT)] += 1
    k = n // 2
    lo_rank = k if n % 2 else k - 1  # the median is the mean of ranks lo_rank and k (0-based)
    seen = 0
    lo = -1
    hi = -1
    below = 0  # number of squares in buckets before `lo`
    for b in range(1 << 16):
        c = counts[b]
        if lo < 0 and seen + c > lo_rank:
            lo = b
            below = seen
        if seen + c > k:
            hi = b
            break
        seen += c
    m = 0
    for b in range(lo, hi + 1):
        m += counts[b]
    cand = _gather_buckets(z, lo, hi, m)
    part = np.partition(cand, k - below)
    upper = part[k - below]
    if n % 2:
        return upper
    lower = part[: k - below].max() if k - below > 0 else upper  # rank k-1: the largest below rank k
    return (lower + upper) / 2


# Compile (or load from the on-disk cache) now, on a tiny input with the argument types that phase congruency
# and Qp pass (the filter bank and the memoised source statistics are read-only): a numba that cannot build
# a kernel makes this import fail, and metrics._jit then selects the NumPy path, as for the other modules.
_Z = np.zeros((2, 3), np.complex128)
_F = np.ones((4, 2, 3))
_F.setflags(write=False)
_S = np.ones((2, 3))
_S.setflags(write=False)
_O = np.empty((4, 2, 3), np.complex128)
spectrum_products(_Z, _F, _S, 0, _O)
transpose_rows(_O, 0, np.empty((4, 3, 2), np.complex128))
median_of_squared_magnitudes(_Z)
_A = np.ones(1)
_P = [np.empty((2, 3)) for _ in range(3)]
phase_congruency(_O.reshape(1, 4, 2, 3), _A, _A, _A, np.empty((5, 1, 1)), True, True, 1, *_P)
_M = np.ones((2, 3), np.bool_)
_M.setflags(write=False)
_W = np.ones((2, 3))  # writable: the fused side's filtered maps
correlation_update(True, np.empty((2, 3)), _W, _S, _W, _S, _W, _M, 1e-4)  # _S, _M: memoised source side
del _Z, _F, _S, _O, _A, _P, _M, _W
