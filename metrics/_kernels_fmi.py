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
``(#{a: F_a <= X_b}, b)`` (X first on ties, as the NumPy path), plus the last cell ``(8, 8)``, two
breakpoints per pass over the other cdf (``_ends``: fits AVX2's registers); a cell's mass is its
breakpoint minus the largest breakpoint before it (the same two numbers the merged difference
subtracts). Only the order of the sums over cells (the bound's covariance, the joint-entropy
correction) and the logarithm's last bit differ from the NumPy path: rounding only (tests: within
1e-12 relative; the reference grid's tolerance is 1e-9).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrics._kernels_fmi_lanes import (  # the layout rows and stages the driver uses
    _ACC,
    _B,
    _CODE,
    _DONE,
    _EQ,
    _FLAG,
    _IDX,
    _L,
    _MATCH,
    _R,
    _ROWS,
    _SIDE,
    _SKIP,
    _TABV,
    _VAL,
    _cells,
    _equal,
    _norm,
    _pair,
    _prepare,
    _side,
    _side_raw,
)
from metrics._kernels_simd import _log, _logs, _logs_array, _u  # noqa: F401  (_log, _logs_array: tests)


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
