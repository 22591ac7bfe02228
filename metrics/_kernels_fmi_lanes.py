"""The per-lane stages of FMI's compiled window stage (private): buffer layout, the side stage (raw window,
normalisation, pdf, cdf, entropy, SD), exact-match test, the pair stage (correlation, Frechet-bound
cells, joint entropy, ``fmi_XF``). Each works on a block of ``_B`` windows, one SIMD lane per window, with
straight-line arithmetic; :mod:`metrics._kernels_fmi` drives them over the image (its docstring gives
the layout, the cell search and the value guarantees). Numba's disk cache keys a kernel by its own file
only: after editing this module, clear ``metrics/__pycache__`` (or ``NUMBA_CACHE_DIR``) so that the
driver's cached code is rebuilt.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrics._kernels_simd import _logs, _u

_TINY = 1e-300
_L = 9
_K = 2 * _L - 1  # cells where a Frechet bound has mass
_B = 16  # windows per block (lanes); small enough that the scratch stays in L1

# Rows (of _B doubles) of a side buffer: raw window (column-major), normalised, pdf, log pdf, cdf,
# centred pdf, then sum of squares of the centred pdf, SD, entropy (nats), sum of the cdf.
_R, _N, _P, _LP, _CDF, _T = 0, 9, 18, 27, 36, 45
_TT, _SD, _H, _SUM = 54, 55, 56, 57
_SIDE = 58
# Rows of the pair buffer.
_FLAG = 0  # 1: the F window has been normalised in place (an earlier source did not match exactly)
_ACC = 1  # sum over sources so far
_EQ = 2  # 1: exact match with this source
_C = 3  # correlation c
_UP = 4  # 1: c >= 0 (upper Frechet bound)
_PX = 5  # X pdf, reversed for the lower bound
_LPX = _PX + _L
_CX = _LPX + _L  # cdf of _PX
_CR = _CX + _L  # per cell: bound's mass
_CW = _CR + _K  # (9 - i)(9 - j)
_CP = _CW + _K  # fp_i px_j
_CL = _CP + _K  # log fp_i + log px_j
_MIX = _CL + _K  # mixture's cell value
_LMIX = _MIX + _K  # log |mixture cell|
_W = _LMIX + _K
_SC = _W + 1
_LSC = _SC + 1
_ZERO = _LSC + 1  # 1: the bound's weight is 0 (a one-hot pdf, or c == 0 with c >= 0)
_SP = _ZERO + 1
_VAL = _SP + 1  # fmi_XF of a computed lane
_IDX = _VAL + 1  # compacted lane t computes the block's lane _IDX[t]
_CODE = _IDX + 1  # binary maps: F pattern * 512 + X pattern of the lane (-1: not a 0/1 pair of windows)
_SKIP = _CODE + 1  # 1: nothing to compute for this source (exact match, or the lane's total is known)
_MATCH = _SKIP + 1  # the first source whose raw window equals the F window (-1: none)
_DONE = _MATCH + 1  # 1: the lane's total was found in the scene table
_TABV = _DONE + 1  # that total
_ROWS = _TABV + 1


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _side_raw(m, y, x0, n, sb):
    """Raw 3x3 windows of ``m`` at row ``y``, columns ``x0 .. x0 + n - 1``, column-major."""
    for j in range(n):
        for cc in range(3):
            for rr in range(3):
                sb[_u((_R + cc * 3 + rr) * _B + j)] = m[_u(y + rr), _u(x0 + j + cc)]


@njit(cache=True, nogil=True, error_model="numpy", inline="always", _nrt=False)
def _norm_lane(sb, j):
    """Min-max normalise lane ``j``'s raw window into rows ``_N`` (a constant window -> ones)."""
    mx = sb[_u(_R * _B + j)]
    mn = mx
    for i in range(1, _L):
        v = sb[_u((_R + i) * _B + j)]
        mx = v if v > mx else mx
        mn = v if v < mn else mn
    span = mx - mn
    for i in range(_L):
        d = (sb[_u((_R + i) * _B + j)] - mn) / span
        sb[_u((_N + i) * _B + j)] = 1.0 if span == 0 else d


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _norm(n, sb):
    """Only the normalised windows (what the equality test of a later source needs, see ``_equal``)."""
    for j in range(n):
        _norm_lane(sb, j)


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _side(n, sb):
    """Normalise the raw windows (constant -> ones), then pdf, cdf, centred pdf, SD and entropy."""
    for j in range(n):
        _norm_lane(sb, j)
        c0 = (sb[_u(_N * _B + j)] + sb[_u((_N + 1) * _B + j)]) + sb[_u((_N + 2) * _B + j)]
        c1 = (sb[_u((_N + 3) * _B + j)] + sb[_u((_N + 4) * _B + j)]) + sb[_u((_N + 5) * _B + j)]
        c2 = (sb[_u((_N + 6) * _B + j)] + sb[_u((_N + 7) * _B + j)]) + sb[_u((_N + 8) * _B + j)]
        tot = (c0 + c1) + c2
        acc = 0.0
        sum_cdf = 0.0
        e = 0.0
        e2 = 0.0
        for i in range(_L):
            q = sb[_u((_N + i) * _B + j)] / tot
            sb[_u((_P + i) * _B + j)] = q
            sb[_u((_LP + i) * _B + j)] = q if q > _TINY else _TINY  # log taken below
            acc = q if i == 0 else acc + q
            sum_cdf = acc if i == 0 else sum_cdf + acc
            sb[_u((_CDF + i) * _B + j)] = acc
            e += (i + 1.0) * q
            e2 += (i + 1.0) * (i + 1.0) * q
        mean = acc / _L  # acc = sum of the pdf, accumulated in order
        tt = 0.0
        for i in range(_L):
            t = sb[_u((_P + i) * _B + j)] - mean
            sb[_u((_T + i) * _B + j)] = t
            tt = t * t if i == 0 else tt + t * t
        sb[_u(_TT * _B + j)] = tt
        # population SD over the index 1..9 (exactly 0 for a one-hot pdf, the only case that branches)
        sb[_u(_SD * _B + j)] = np.sqrt(e2 - e * e)
        sb[_u(_SUM * _B + j)] = sum_cdf
    _logs(sb, _LP * _B, _L * _B)
    for j in range(n):
        h = 0.0
        for i in range(_L):
            h -= sb[_u((_P + i) * _B + j)] * sb[_u((_LP + i) * _B + j)]
        sb[_u(_H * _B + j)] = h


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _equal(n, fb, xb, pb):
    """Exact match of the source's raw window with the F window (raw, or normalised once an earlier
    source did not match: the reference code's in-place quirk). Returns the number of lanes to compute
    (neither an exact match nor a lane whose total the scene table gave, see :func:`_lookup`)."""
    todo = 0
    for j in range(n):
        flag = pb[_u(_FLAG * _B + j)] != 0
        eq = True
        for i in range(_L):
            fn_i = fb[_u((_N + i) * _B + j)]
            fr_i = fb[_u((_R + i) * _B + j)]
            eq &= xb[_u((_R + i) * _B + j)] == (fn_i if flag else fr_i)
        skip = eq | (pb[_u(_DONE * _B + j)] != 0)
        pb[_u(_EQ * _B + j)] = 1.0 if eq else 0.0
        pb[_u(_SKIP * _B + j)] = 1.0 if skip else 0.0
        pb[_u(_FLAG * _B + j)] = 1.0 if (flag or not eq) else 0.0
        todo += 0 if skip else 1
    return todo


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _prepare(n, fb, xb, pb):
    """c, the bound (upper for c >= 0), X's pdf reversed for the lower bound, and its cdf."""
    for j in range(n):
        s = 0.0
        for i in range(_L):
            prod = xb[_u((_T + i) * _B + j)] * fb[_u((_T + i) * _B + j)]
            s = prod if i == 0 else s + prod
        q = s / np.sqrt(xb[_u(_TT * _B + j)] * fb[_u(_TT * _B + j)])
        c = 0.0 if s == 0 else q
        upper = c >= 0
        pb[_u(_C * _B + j)] = c
        pb[_u(_UP * _B + j)] = 1.0 if upper else 0.0
        acc = 0.0
        for i in range(_L):
            p_up = xb[_u((_P + i) * _B + j)]
            p_lo = xb[_u((_P + _L - 1 - i) * _B + j)]
            lp_up = xb[_u((_LP + i) * _B + j)]
            lp_lo = xb[_u((_LP + _L - 1 - i) * _B + j)]
            p = p_up if upper else p_lo
            pb[_u((_PX + i) * _B + j)] = p
            pb[_u((_LPX + i) * _B + j)] = lp_up if upper else lp_lo
            acc = p if i == 0 else acc + p
            pb[_u((_CX + i) * _B + j)] = acc


@njit(cache=True, nogil=True, error_model="numpy", inline="always", _nrt=False)
def _ends(n, sb, s_cdf, s_p, s_lp, a0, ob, o_cdf, o_p, o_lp, strict, pb, k0):
    """Cells of the intervals that end at breakpoints ``a0``, ``a0 + 1`` of one sorted cdf (S) against the
    other (O): cell ``(a, #{b: O_b < S_a})`` (``<=`` unless ``strict``: X before F on ties). O is sorted, so
    the test is true exactly for b < count. Two breakpoints per pass over O: their eight running
    selections (count, O's pdf and log pdf there, O's breakpoint below) and the two breakpoints stay in
    AVX2's 16 vector registers; four per pass (fewer loads of O) spill there (measured on an AVX2 host:
    the whole kernel 6-7 % slower; same values either way, per-lane selections)."""
    for j in range(n):
        e0 = sb[_u((s_cdf + a0) * _B + j)]
        e1 = sb[_u((s_cdf + a0 + 1) * _B + j)]
        before = sb[_u((s_cdf + a0 - 1) * _B + j)]
        pe0 = before if a0 > 0 else 0.0
        last = o_cdf + _L - 2
        c0 = c1 = _L - 1.0  # -> count of O breakpoints below
        v_p = ob[_u((o_p + _L - 1) * _B + j)]
        v_lp = ob[_u((o_lp + _L - 1) * _B + j)]
        v_pv = ob[_u(last * _B + j)]
        p0 = p1 = v_p  # -> O's pdf at the count
        l0 = l1 = v_lp  # -> its log
        q0 = q1 = v_pv  # -> O's largest breakpoint below (0 if none)
        for b in range(_L - 2, -1, -1):
            o = ob[_u((o_cdf + b) * _B + j)]
            p_b = ob[_u((o_p + b) * _B + j)]
            lp_b = ob[_u((o_lp + b) * _B + j)]
            below_o = ob[_u((o_cdf + b - 1) * _B + j)]
            below = below_o if b > 0 else 0.0
            t0 = (o < e0) if strict else (o <= e0)
            t1 = (o < e1) if strict else (o <= e1)
            c0 = c0 if t0 else b
            c1 = c1 if t1 else b
            p0 = p0 if t0 else p_b
            p1 = p1 if t1 else p_b
            l0 = l0 if t0 else lp_b
            l1 = l1 if t1 else lp_b
            q0 = q0 if t0 else below
            q1 = q1 if t1 else below
        # mass = breakpoint - the largest breakpoint before it (of either cdf); covariance weight
        # (9 - i)(9 - j); independence product and its log (products and sums commute exactly)
        pb[_u((_CR + k0) * _B + j)] = e0 - max(pe0, q0)
        pb[_u((_CR + k0 + 1) * _B + j)] = e1 - max(e0, q1)
        pb[_u((_CW + k0) * _B + j)] = (_L - a0) * (_L - c0)
        pb[_u((_CW + k0 + 1) * _B + j)] = (_L - a0 - 1) * (_L - c1)
        pb[_u((_CP + k0) * _B + j)] = sb[_u((s_p + a0) * _B + j)] * p0
        pb[_u((_CP + k0 + 1) * _B + j)] = sb[_u((s_p + a0 + 1) * _B + j)] * p1
        pb[_u((_CL + k0) * _B + j)] = sb[_u((s_lp + a0) * _B + j)] + l0
        pb[_u((_CL + k0 + 1) * _B + j)] = sb[_u((s_lp + a0 + 1) * _B + j)] + l1


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _cells(n, fb, pb):
    """The bound's 17 cells: mass, covariance weight, independence product and its log."""
    for a0 in (0, 2, 4, 6):  # cells ending at F's breakpoints: (a, #{b: X_b < F_a})
        _ends(n, fb, _CDF, _P, _LP, a0, pb, _CX, _PX, _LPX, True, pb, a0)
    for b0 in (0, 2, 4, 6):  # cells ending at X's breakpoints: (#{a: F_a <= X_b}, b)
        _ends(n, pb, _CX, _PX, _LPX, b0, fb, _CDF, _P, _LP, False, pb, _L - 1 + b0)
    k = _K - 1  # the last interval: cell (8, 8), up to 1
    for j in range(n):
        last = max(fb[_u((_CDF + _L - 2) * _B + j)], pb[_u((_CX + _L - 2) * _B + j)])
        pb[_u((_CR + k) * _B + j)] = max(1.0 - last, 0.0)
        pb[_u((_CW + k) * _B + j)] = 1.0
        pb[_u((_CP + k) * _B + j)] = fb[_u((_P + _L - 1) * _B + j)] * pb[_u((_PX + _L - 1) * _B + j)]
        pb[_u((_CL + k) * _B + j)] = fb[_u((_LP + _L - 1) * _B + j)] + pb[_u((_LPX + _L - 1) * _B + j)]


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _pair(n, fb, xb, pb):
    """``fmi_XF`` of every lane from its cells (into row ``_VAL``)."""
    for j in range(n):
        s_up = 0.0  # sum_ij min(F_i, X_j) = sum over cells of mass * (9 - i)(9 - j)
        for k in range(_K):
            s_up += pb[_u((_CR + k) * _B + j)] * pb[_u((_CW + k) * _B + j)]
        fsum = fb[_u(_SUM * _B + j)]
        upper = pb[_u(_UP * _B + j)] != 0
        c = pb[_u(_C * _B + j)]
        sum_bound = s_up if upper else (_L + 1) * fsum - s_up
        cov = sum_bound - fsum * xb[_u(_SUM * _B + j)]
        xsd = xb[_u(_SD * _B + j)]
        fsd = fb[_u(_SD * _B + j)]
        zero = (xsd == 0) | (fsd == 0) | (upper & (c == 0))
        w = c / (cov / (fsd * xsd))
        sc = 1.0 - w
        pb[_u(_W * _B + j)] = w
        pb[_u(_SC * _B + j)] = sc
        t = abs(sc)
        pb[_u(_LSC * _B + j)] = t if t > _TINY else _TINY
        pb[_u(_ZERO * _B + j)] = 1.0 if zero else 0.0
    _logs(pb, _LSC * _B, _B)
    for j in range(n):
        # joint entropy (nats) = entropy of the scaled independence table + a correction on the cells
        sc = pb[_u(_SC * _B + j)]
        w = pb[_u(_W * _B + j)]
        lsc = pb[_u(_LSC * _B + j)]
        sp = 0.0
        for k in range(_K):
            prod = pb[_u((_CP + k) * _B + j)]
            prod *= sc
            mix = w * pb[_u((_CR + k) * _B + j)] + prod
            pb[_u((_MIX + k) * _B + j)] = mix
            t = abs(mix)
            pb[_u((_LMIX + k) * _B + j)] = t if t > _TINY else _TINY
            sp += prod * (pb[_u((_CL + k) * _B + j)] + lsc)  # prod ln|prod| from the logs of its factors
        pb[_u(_SP * _B + j)] = sp
    _logs(pb, _LMIX * _B, _K * _B)
    for j in range(n):
        sm = 0.0
        for k in range(_K):
            sm += pb[_u((_MIX + k) * _B + j)] * pb[_u((_LMIX + k) * _B + j)]
        sc = pb[_u(_SC * _B + j)]
        xh = xb[_u(_H * _B + j)]
        fh = fb[_u(_H * _B + j)]
        hj = -(sc * pb[_u(_LSC * _B + j)]) + sc * (fh + xh)
        hj -= sm - pb[_u(_SP * _B + j)]
        mi = xh + fh - hj
        q = 2.0 * mi / (xh + fh)
        pb[_u(_VAL * _B + j)] = 0.0 if (pb[_u(_ZERO * _B + j)] != 0) | (mi == 0) else q
