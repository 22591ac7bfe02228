"""numba kernel of FMI's window stage (private; see :mod:`metrics.fmi` for the definition).

:func:`fmi_totals` returns, per window (row-major), the sum over sources of ``fmi_XF``, exactly what
:func:`metrics.fmi.fmi_value` accumulates, so the final mean is the same NumPy reduction.

Layout (issue 15): windows are processed in blocks of ``_B`` consecutive windows of a row, one SIMD lane
per window. Every stage is a loop over the block's lanes whose body is straight-line arithmetic with
selects instead of branches, reading and writing rows of ``_B`` doubles in three small scratch buffers
(the fused side, the current source's side, the pair), so LLVM vectorises every stage. Buffer indices go
through ``_u`` (an unsigned index, :mod:`metrics._kernels_simd`: numba then omits its negative-index
wraparound, which would hide the affine address from the vectoriser). The logarithms of a stage are taken
afterwards in one vectorised loop over a contiguous buffer region (``_logs``: fdlibm's ``e_log.c``
algorithm, below 1 ulp, written with bit casts so that it vectorises; libm's ``log`` is a scalar call).
Lanes that match a source exactly (copied regions of decision-map fusion, flat edge maps) are compacted
away before the pair stages. Blocks of 16 lanes were fastest here (24 +2 %, 32 +7 %, 64 +12 %; 128 +50 %
on an earlier version: the scratch leaves L1). Values do not depend on the block size (per-lane arithmetic).

Maps of 0s and 1s (edge maps): a lane's value depends on its two raw windows only, so :func:`fmi_totals`
takes a 512 x 512 table (``metrics.fmi._EDGE_LUT``) of values by (F pattern, X pattern) that the kernel
fills as it computes pairs and reads for blocks whose pairs are all known (same bits; the normalised F
rows that the in-place quirk's equality test of a later source reads are still computed).

Fused maps that copy a source (decision-map fusion): where the F window equals source k's raw window,
the lane's inputs are the sources' windows alone, so its total is the same for every fused image of the
scene that copies source k there. :func:`fmi_totals` takes an (N, windows) table of such totals
(``metrics.fmi._scene_table``, one per scene and feature) that the kernel fills as it computes these
lanes and reads before computing (a lane found there is skipped for every source; same bits).

Values. The knife-edge quantities -- exact window equality (with the F-window normalisation quirk),
min/max normalisation, window sums, ``c`` and its ``== 0`` test, the population SD and its ``== 0`` test
-- use the same operations in the same order as the NumPy path, so every branch decision is the same.
The Frechet bound's cells are found without a sequential merge: the interval that ends at F's a-th
interior cdf breakpoint lies in cell ``(a, #{b: X_b < F_a})``, the one that ends at X's b-th in cell
``(#{a: F_a <= X_b}, b)`` (X first on ties, as the NumPy path), plus the last cell ``(8, 8)``; a cell's
mass is its breakpoint minus the largest breakpoint before it (the same two numbers the merged
difference subtracts). Only the order of the sums over cells (the bound's covariance, the joint-entropy
correction) and the logarithm's last bit differ from the NumPy path: rounding only (tests: within
1e-12 relative; the reference grid's tolerance is 1e-9).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrics._kernels_simd import _log, _logs, _logs_array, _u  # noqa: F401  (_log, _logs_array: tests)

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
    """Cells of the intervals that end at breakpoints ``a0 .. a0 + 3`` of one sorted cdf (S) against the
    other (O): cell ``(a, #{b: O_b < S_a})`` (``<=`` unless ``strict``: X before F on ties). Four
    breakpoints per pass over O (fewer loads); O is sorted, so the test is true exactly for b < count."""
    for j in range(n):
        e0 = sb[_u((s_cdf + a0) * _B + j)]
        e1 = sb[_u((s_cdf + a0 + 1) * _B + j)]
        e2 = sb[_u((s_cdf + a0 + 2) * _B + j)]
        e3 = sb[_u((s_cdf + a0 + 3) * _B + j)]
        before = sb[_u((s_cdf + a0 - 1) * _B + j)]
        pe0 = before if a0 > 0 else 0.0
        last = o_cdf + _L - 2
        c0 = c1 = c2 = c3 = _L - 1.0  # -> count of O breakpoints below
        v_p = ob[_u((o_p + _L - 1) * _B + j)]
        v_lp = ob[_u((o_lp + _L - 1) * _B + j)]
        v_pv = ob[_u(last * _B + j)]
        p0 = p1 = p2 = p3 = v_p  # -> O's pdf at the count
        l0 = l1 = l2 = l3 = v_lp  # -> its log
        q0 = q1 = q2 = q3 = v_pv  # -> O's largest breakpoint below (0 if none)
        for b in range(_L - 2, -1, -1):
            o = ob[_u((o_cdf + b) * _B + j)]
            p_b = ob[_u((o_p + b) * _B + j)]
            lp_b = ob[_u((o_lp + b) * _B + j)]
            below_o = ob[_u((o_cdf + b - 1) * _B + j)]
            below = below_o if b > 0 else 0.0
            t0 = (o < e0) if strict else (o <= e0)
            t1 = (o < e1) if strict else (o <= e1)
            t2 = (o < e2) if strict else (o <= e2)
            t3 = (o < e3) if strict else (o <= e3)
            c0 = c0 if t0 else b
            c1 = c1 if t1 else b
            c2 = c2 if t2 else b
            c3 = c3 if t3 else b
            p0 = p0 if t0 else p_b
            p1 = p1 if t1 else p_b
            p2 = p2 if t2 else p_b
            p3 = p3 if t3 else p_b
            l0 = l0 if t0 else lp_b
            l1 = l1 if t1 else lp_b
            l2 = l2 if t2 else lp_b
            l3 = l3 if t3 else lp_b
            q0 = q0 if t0 else below
            q1 = q1 if t1 else below
            q2 = q2 if t2 else below
            q3 = q3 if t3 else below
        # mass = breakpoint - the largest breakpoint before it (of either cdf); covariance weight
        # (9 - i)(9 - j); independence product and its log (products and sums commute exactly)
        pb[_u((_CR + k0) * _B + j)] = e0 - max(pe0, q0)
        pb[_u((_CR + k0 + 1) * _B + j)] = e1 - max(e0, q1)
        pb[_u((_CR + k0 + 2) * _B + j)] = e2 - max(e1, q2)
        pb[_u((_CR + k0 + 3) * _B + j)] = e3 - max(e2, q3)
        pb[_u((_CW + k0) * _B + j)] = (_L - a0) * (_L - c0)
        pb[_u((_CW + k0 + 1) * _B + j)] = (_L - a0 - 1) * (_L - c1)
        pb[_u((_CW + k0 + 2) * _B + j)] = (_L - a0 - 2) * (_L - c2)
        pb[_u((_CW + k0 + 3) * _B + j)] = (_L - a0 - 3) * (_L - c3)
        pb[_u((_CP + k0) * _B + j)] = sb[_u((s_p + a0) * _B + j)] * p0
        pb[_u((_CP + k0 + 1) * _B + j)] = sb[_u((s_p + a0 + 1) * _B + j)] * p1
        pb[_u((_CP + k0 + 2) * _B + j)] = sb[_u((s_p + a0 + 2) * _B + j)] * p2
        pb[_u((_CP + k0 + 3) * _B + j)] = sb[_u((s_p + a0 + 3) * _B + j)] * p3
        pb[_u((_CL + k0) * _B + j)] = sb[_u((s_lp + a0) * _B + j)] + l0
        pb[_u((_CL + k0 + 1) * _B + j)] = sb[_u((s_lp + a0 + 1) * _B + j)] + l1
        pb[_u((_CL + k0 + 2) * _B + j)] = sb[_u((s_lp + a0 + 2) * _B + j)] + l2
        pb[_u((_CL + k0 + 3) * _B + j)] = sb[_u((s_lp + a0 + 3) * _B + j)] + l3


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _cells(n, fb, pb):
    """The bound's 17 cells: mass, covariance weight, independence product and its log."""
    for a0 in (0, 4):  # cells ending at F's breakpoints: (a, #{b: X_b < F_a})
        _ends(n, fb, _CDF, _P, _LP, a0, pb, _CX, _PX, _LPX, True, pb, a0)
    for b0 in (0, 4):  # cells ending at X's breakpoints: (#{a: F_a <= X_b}, b)
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


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _compact(n, fb, xb, pb, fc):
    """Move the lanes to compute (see :func:`_equal`) to the front: the source's raw windows in place, the
    F side into ``fc`` (``fb`` stays whole for the next source). Returns their number."""
    t = 0
    for j in range(n):
        if pb[_u(_SKIP * _B + j)] == 0:
            pb[_u(_IDX * _B + t)] = j
            for row in range(_R, _R + _L):
                xb[_u(row * _B + t)] = xb[_u(row * _B + j)]
            for row in range(_SIDE):
                fc[_u(row * _B + t)] = fb[_u(row * _B + j)]
            t += 1
    return t


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _accumulate(n, t, pb):
    """Add this source's fmi_XF to every lane's total: 1 for an exact match, else the computed value
    (lane j itself when ``t == n``, else compacted lane ``t`` for block lane ``_IDX[t]``)."""
    if t == n:
        for j in range(n):
            val = pb[_u(_VAL * _B + j)]
            pb[_u(_ACC * _B + j)] += 1.0 if pb[_u(_EQ * _B + j)] != 0 else val
    else:
        for j in range(n):
            if pb[_u(_EQ * _B + j)] != 0:
                pb[_u(_ACC * _B + j)] += 1.0
        for i in range(t):
            j = int(pb[_u(_IDX * _B + i)])
            pb[_u(_ACC * _B + j)] += pb[_u(_VAL * _B + i)]


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _match(n, k, fb, xb, pb):
    """Row ``_MATCH``: source ``k`` if its raw window equals the raw F window and no earlier source's did."""
    for j in range(n):
        eq = True
        for i in range(_L):
            eq &= xb[_u((_R + i) * _B + j)] == fb[_u((_R + i) * _B + j)]
        m = pb[_u(_MATCH * _B + j)]
        pb[_u(_MATCH * _B + j)] = k if (m < 0) & eq else m


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _lookup(n, pb, tab, pos0):
    """Rows ``_DONE``, ``_TABV``: the lane's total from the scene table ``tab`` (sources x windows, NaN =
    unknown) where the F window copies a source (row ``_MATCH``). Returns the number of lanes found."""
    found = 0
    for j in range(n):
        m = int(pb[_u(_MATCH * _B + j)])
        if m >= 0:
            v = tab[_u(m), _u(pos0 + j)]
            if not np.isnan(v):
                pb[_u(_DONE * _B + j)] = 1.0
                pb[_u(_TABV * _B + j)] = v
                found += 1
    return found


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _codes(n, fb, xb, pb):
    """Each lane's pair of 0/1 windows as ``F pattern * 512 + X pattern`` (bit i: element i of the raw
    window is 1) into row ``_CODE``, -1 where a window holds another value. Returns True when every lane
    to compute (see :func:`_equal`) has a code."""
    all_ok = True
    for j in range(n):
        cf = 0
        cx = 0
        ok = True
        for i in range(_L):
            vf = fb[_u((_R + i) * _B + j)]
            vx = xb[_u((_R + i) * _B + j)]
            ok &= (vf == 0.0) | (vf == 1.0)
            ok &= (vx == 0.0) | (vx == 1.0)
            cf += (1 << i) if vf == 1.0 else 0
            cx += (1 << i) if vx == 1.0 else 0
        pb[_u(_CODE * _B + j)] = float(cf * 512 + cx) if ok else -1.0
        all_ok &= ok | (pb[_u(_SKIP * _B + j)] != 0)
    return all_ok


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _totals(feats, fused, out, fb, xb, pb, fc, lut, tab):
    """The loop of :func:`fmi_totals` over blocks of windows; compiled without numba's reference
    counting (``_nrt=False``): nothing here allocates.

    ``lut`` (512 x 512, NaN = unknown; or any other shape: unused) holds ``fmi_XF`` of pairs of 0/1
    windows (edge maps) by pattern: a lane's value depends on its two raw windows only (per-lane
    arithmetic), so a value computed once is the value of every later lane with the same pair.

    ``tab`` (sources x windows, NaN = unknown; or any other shape: unused) holds, per source ``k`` and
    window, the lane's total when the F window equals source k's raw window there: the lane's inputs are
    then the sources' windows alone, so the total is the same for every fused image of the scene that
    copies source k at that window (decision-map fusion). Filled as lanes are computed, read before."""
    use_lut = lut.shape[0] == 512 and lut.shape[1] == 512
    n_src, m, ncols = feats.shape
    rows = m - 2
    cols = ncols - 2
    use_tab = tab.shape[0] == n_src and tab.shape[1] == rows * cols
    for y in range(rows):
        for x0 in range(0, cols, _B):
            n = min(_B, cols - x0)
            pos0 = y * cols + x0
            for j in range(n):
                pb[_u(_FLAG * _B + j)] = 0.0
                pb[_u(_ACC * _B + j)] = 0.0
                pb[_u(_DONE * _B + j)] = 0.0
                pb[_u(_MATCH * _B + j)] = -1.0
            _side_raw(fused, y, x0, n, fb)
            if use_tab:  # lanes that copy a source, and their totals where the scene table knows them
                for k in range(n_src):
                    _side_raw(feats[k], y, x0, n, xb)
                    _match(n, k, fb, xb, pb)
                if _lookup(n, pb, tab, pos0) == n:  # every total known
                    for j in range(n):
                        out[_u(pos0 + j)] = pb[_u(_TABV * _B + j)]
                    continue
            f_ready = False
            for k in range(n_src):
                _side_raw(feats[k], y, x0, n, xb)
                todo = _equal(n, fb, xb, pb)
                if todo == 0:  # every lane an exact match: fmi_XF = 1
                    for j in range(n):
                        pb[_u(_ACC * _B + j)] += 1.0
                    continue
                if use_lut and _codes(n, fb, xb, pb):
                    hit = True
                    for j in range(n):
                        code = int(pb[_u(_CODE * _B + j)])
                        if pb[_u(_SKIP * _B + j)] == 0 and np.isnan(lut[code >> 9, code & 511]):
                            hit = False
                    if hit:  # every lane known: 1 for an exact match, else the pattern pair's value
                        for j in range(n):  # (a lane the scene table gave: anything, its total is replaced)
                            code = int(pb[_u(_CODE * _B + j)])
                            skip = pb[_u(_SKIP * _B + j)] != 0
                            pb[_u(_ACC * _B + j)] += 1.0 if skip else lut[code >> 9, code & 511]
                        if not f_ready and k < n_src - 1:  # a later source's equality test reads them
                            _norm(n, fb)
                        continue
                if not f_ready:
                    _side(n, fb)
                    f_ready = True
                if todo == n:
                    t = n
                    fs = fb
                else:  # compute only the lanes that did not match (copied regions of decision-map fusion)
                    t = _compact(n, fb, xb, pb, fc)
                    fs = fc
                _side(t, xb)
                _prepare(t, fs, xb, pb)
                _cells(t, fs, pb)
                _pair(t, fs, xb, pb)
                _accumulate(n, t, pb)
                if use_lut:  # remember the computed lanes' values by pattern pair
                    for i in range(t):
                        j = i if t == n else int(pb[_u(_IDX * _B + i)])
                        code = int(pb[_u(_CODE * _B + j)])
                        if code >= 0:
                            lut[code >> 9, code & 511] = pb[_u(_VAL * _B + i)]
            for j in range(n):
                done = pb[_u(_DONE * _B + j)] != 0
                acc = pb[_u(_ACC * _B + j)]
                out[_u(pos0 + j)] = pb[_u(_TABV * _B + j)] if done else acc
            if use_tab:  # remember the totals of lanes that copy a source
                for j in range(n):
                    k = int(pb[_u(_MATCH * _B + j)])
                    if k >= 0 and pb[_u(_DONE * _B + j)] == 0:
                        tab[k, pos0 + j] = pb[_u(_ACC * _B + j)]
    return out


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def edge_thin(bx, by, b, cutoff, out):
    """MATLAB ``edge``'s Sobel thinning (see :func:`metrics._fmi_features.feature_edge`) into ``out``:
    the same comparisons as its NumPy path, per pixel (a neighbour outside the image counts as satisfied)."""
    h, w = b.shape
    eps100 = 100.0 * np.finfo(np.float64).eps
    for r in range(h):
        for c in range(w):
            v = b[r, c]
            ax = abs(bx[r, c])
            ay = abs(by[r, c])
            left = True if c == 0 else b[r, c - 1] <= v
            right = True if c == w - 1 else v > b[r, c + 1]
            up = True if r == 0 else b[r - 1, c] <= v
            down = True if r == h - 1 else v > b[r + 1, c]
            horiz = (ax >= ay - eps100) & left & right
            vert = (ay >= ax - eps100) & up & down
            out[r, c] = 1.0 if (v > cutoff) & (horiz | vert) else 0.0
    return out


def fmi_totals(feats, fused, lut=None, tab=None):
    """Per window (row-major, 3x3 valid positions): sum over sources of ``fmi_XF``.

    ``feats`` is (N, H, W) (sources' feature maps), ``fused`` (H, W), both C-contiguous float64.
    Allocates the output and the scratch here, so the compiled loop needs no reference counting.
    ``lut``: a (512, 512) float64 table (NaN = unknown) of the values of pairs of 0/1 windows, filled and
    used by the kernel (for binary maps such as edge maps: the same values, most of them looked up).
    ``tab``: an (N, windows) float64 table (NaN = unknown) of lane totals where the F window copies a
    source's (see :func:`_totals`), filled and used by the kernel; it belongs to these sources' maps.
    """
    n_src, m, ncols = feats.shape
    out = np.zeros((m - 2) * (ncols - 2))
    # zeros: lanes past a short last block hold finite values (their logs are taken, then ignored)
    side = _SIDE * _B
    lut = _NO_LUT if lut is None else lut
    tab = _NO_TAB if tab is None else tab
    _totals(feats, fused, out, np.zeros(side), np.zeros(side), np.zeros(_ROWS * _B), np.zeros(side), lut, tab)
    return out


_NO_LUT = np.zeros((1, 1))
_NO_TAB = np.zeros((0, 0))


# Compile (or load from the on-disk cache) now, on a tiny input: a numba that cannot build the kernel
# makes this import fail, and metrics._jit then selects the NumPy path.
fmi_totals(np.zeros((1, 3, 3)), np.zeros((3, 3)))
fmi_totals(np.zeros((1, 3, 3)), np.ones((3, 3)), np.full((512, 512), np.nan))
fmi_totals(np.zeros((1, 3, 3)), np.zeros((3, 3)), None, np.full((1, 1), np.nan))
