"""FMI: feature mutual information (Haghighat et al. 2011; Fast-FMI, Haghighat & Razian 2014).

Re-implemented (no code copied) from the Fast-FMI MATLAB code as shipped by
Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_fmi.m`` @ 0e87153 (the same file as
mhaghighat/fmi ``fmi.m`` @ 2268df2; its LICENSE.md holds only a copyright line, Tang's copy has no
licence file; nothing copied), window w = 3, five feature maps (:mod:`metrics._fmi_features`):

=================  ===========  ==================================================================
id                 feature      reference id
=================  ===========  ==================================================================
``fmi_pixel``      ``none``     ``FMI_none_w3``
``fmi_edge``       ``edge``     ``FMI_edge_w3`` (the code's default; Tang's "FMI_pixel" column)
``fmi_dct``        ``dct``      ``FMI_dct_w3``
``fmi_w``          ``wavelet``  ``FMI_wavelet_w3``
``fmi_gradient``   ``gradient`` ``FMI_gradient_w3``
=================  ===========  ==================================================================

Per 3x3 window of the feature maps (every position where it fits) and per source X:

* raw X-window == F-window exactly -> ``fmi_XF = 1``;
* else both windows are min-max normalised (constant -> ones), divided by their sum, flattened
  **column-major**; ``c`` = Pearson correlation of the two 9-vectors (0 when the covariance sum is exactly
  0); joint pdf by Nelsen's simplified method: a mixture, with weight ``c / corr(bound)``, of the Frechet
  upper (``c >= 0``) or lower (``c < 0``) bound copula of the two cdfs and of independence; joint entropy
  ``sum -p log2|p|`` (negative "probabilities" occur and are kept, the real part of MATLAB's complex log);
  ``fmi_XF = 2 MI / (H_X + H_F)`` (0 when MI is exactly 0).
* Quirk kept: the F-window is normalised *in place* while processing A, so for B the equality test uses
  the normalised F-window unless A took the equality shortcut. (Identical normalised windows score 1
  up to rounding, so in practice this moves values by ~1e-15; the branch structure is kept anyway.)

FMI = mean over windows of the mean over sources of ``fmi_XF``.

Vectorisation (no per-window loop). The knife-edge quantities (window sums, means, ``c`` and its
``== 0`` test, the population SDs) are accumulated sequentially in MATLAB's order, so branch decisions
match the reference bit for bit. The 9x9 joint pdf is not materialised: a Frechet bound's cell masses are
the overlaps of the two cdfs' step intervals, so at most 17 cells differ from the independence term;
the joint entropy is the closed-form entropy of the (scaled) independence table plus a correction over
those <= 17 cells, and the bound's covariance is the integral of the product of the two step counts.
Equal to the direct 81-cell computation up to rounding (~1e-15).

N sources: the quirk generalises naturally (the F-window stays normalised once any earlier source was
not an exact match); ``fmi_XF`` is averaged over the N sources (two sources: the published form).
References: M. B. A. Haghighat, A. Aghagolzadeh, H. Seyedarabi, Computers & Electrical Engineering 37
(2011) 744-756, doi:10.1016/j.compeleceng.2011.07.012; M. Haghighat, M. A. Razian, AICT 2014,
doi:10.1109/ICAICT.2014.7036000.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._fmi_features import FEATURES
from metrics._jit import kernels
from metrics._memo import SOURCE_BUDGET, _frozen_owner, source_memo
from metrics._provenance import TANG, impl

_W = 3
_L = _W * _W
_CHUNK = 4096
_SUBSET_BELOW = 0.5  # a chunk with fewer non-matching windows than this fraction works on the subset only
_IDX = np.arange(1.0, _L + 1)
_MOMENTS = np.stack([_IDX, _IDX**2])  # (2, 9): sum_i i p_i and sum_i i^2 p_i in one matrix product


def windows_colmajor(x: np.ndarray, w: int = _W) -> np.ndarray:
    """All w x w windows of ``x`` (valid positions), flattened column-major, as rows of a (w*w, n) array.

    Column ``k`` of the result is the window at the k-th valid position in row-major order; row
    ``c*w + r`` holds the window element at row r, column c (MATLAB ``sub(:)`` order).
    """
    m, n = x.shape
    out = np.empty((w * w, (m - w + 1) * (n - w + 1)), dtype=np.float64)
    for c in range(w):
        for r in range(w):
            out[c * w + r] = x[r : r + m - w + 1, c : c + n - w + 1].ravel()
    return out


def _seqsum(a: np.ndarray) -> np.ndarray:
    """Sums over axis 0 accumulated in order (Octave's ``sum`` order, for bit-exact knife edges)."""
    s = a[0].copy()
    for k in range(1, a.shape[0]):
        s += a[k]
    return s


def _normalise(win: np.ndarray) -> np.ndarray:
    """Per-window (column) min-max normalisation; constant windows become ones."""
    mx = win.max(axis=0)
    mn = win.min(axis=0)
    span = mx - mn
    const = span == 0
    out = (win - mn) / np.where(const, 1.0, span)
    out[:, const] = 1.0
    return out


_TINY = 1e-300  # below any non-zero probability that occurs; p == 0 gives 0 * log(_TINY) = 0


def _xlogx(p: np.ndarray) -> np.ndarray:
    """Elementwise ``p ln|p|`` with 0 where p == 0 (real part of MATLAB's complex log for p < 0)."""
    t = np.abs(p)
    np.maximum(t, _TINY, out=t)
    np.log(t, out=t)
    t *= p
    return t


def _sum_xlogx(p: np.ndarray) -> np.ndarray:
    """Column sums of ``p ln|p|`` (0 where p == 0) for a (k, n) array, without the product temporary."""
    t = np.abs(p)
    np.maximum(t, _TINY, out=t)
    np.log(t, out=t)
    return np.einsum("ij,ij->j", p, t)


def _xlogx_nonneg(p: np.ndarray) -> np.ndarray:
    """``p ln p`` for p >= 0 with 0 where p == 0."""
    return p * np.log(np.maximum(p, _TINY))


class _Side:
    """Per-window quantities of a normalised window set: pdf, cdf, centred pdf, SD, entropy (nats)."""

    __slots__ = ("p", "cdf", "t", "tt", "sd", "h", "sum_cdf")

    def __init__(self, norm: np.ndarray | None) -> None:
        if norm is None:
            return
        # sub(:) ./ sum(sum(sub)): column sums of the 3x3 window, then their sum (MATLAB order)
        c0 = (norm[0] + norm[1]) + norm[2]
        c1 = (norm[3] + norm[4]) + norm[5]
        c2 = (norm[6] + norm[7]) + norm[8]
        self.p = p = norm / ((c0 + c1) + c2)
        self.cdf = _cumsum0(p)
        self.sum_cdf = np.sum(self.cdf, axis=0)
        self.t = t = p - _seqsum(p) / _L
        self.tt = _seqsum(t * t)
        # population SD over the index 1..9 (exactly 0 for a one-hot pdf in any summation order, the
        # only case the reference code branches on)
        e, e2 = _MOMENTS @ p
        with np.errstate(invalid="ignore"):
            self.sd = np.sqrt(e2 - e * e)
        self.h = -np.sum(_xlogx_nonneg(p), axis=0)

    def take(self, idx) -> _Side:
        new = _Side(None)
        for k in _Side.__slots__:
            v = getattr(self, k)
            setattr(new, k, v[..., idx])
        return new


_KCOL = np.arange(2 * _L - 1, dtype=np.int64)[:, None]  # merged-interval index k, as a column
_LK = (_L - _KCOL).astype(np.float64)  # 9 - k


def _cumsum0(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Cumulative sum over axis 0 by row additions (sequential, like MATLAB; faster than np.cumsum)."""
    out = np.empty_like(a, dtype=np.float64) if out is None else out
    out[0] = a[0]
    for k in range(1, a.shape[0]):
        np.add(out[k - 1], a[k], out=out[k])
    return out


@lru_cache(maxsize=4)
def _gather_offsets(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat-index offsets for ``n`` columns: ``cols = 0..n-1`` and ``k*n + 2*cols`` for k = 0..16.

    A cell (i, k - i) of window ``col`` sits at flat index ``i*n + col`` of the F pdf and
    ``(k - i)*n + col = (k*n + 2*col) - (i*n + col)`` of the X pdf (both (9, n) arrays).
    """
    cols = np.arange(n, dtype=np.int64)
    kcols = _KCOL * n + 2 * cols
    cols.setflags(write=False)
    kcols.setflags(write=False)
    return cols, kcols


def _fmi_windows(x: _Side, f: _Side) -> np.ndarray:
    """``fmi_XF`` for windows (columns) that did not take the equality shortcut."""
    n = x.p.shape[1]
    s = _seqsum(x.t * f.t)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(s == 0, 0.0, s / np.sqrt(x.tt * f.tt))
    upper = c >= 0
    # The lower Frechet bound of (F, X) is the upper bound of F and X with its pdf reversed.
    px = np.where(upper, x.p, x.p[::-1])
    cx = _cumsum0(px)

    # Merge the 8 interior cdf breakpoints of F and X. Each breakpoint's lowest mantissa bit is
    # replaced by its origin (1: F, 0: X) so that one integer sort yields values and labels; the
    # values move by at most one ulp.
    keys = np.empty((n, 2 * _L - 2), dtype=np.float64)
    keys[:, : _L - 1] = f.cdf[:-1].T
    keys[:, _L - 1 :] = cx[:-1].T
    bits = keys.view(np.int64)
    bits &= ~1
    bits[:, : _L - 1] |= 1
    bits.sort(axis=1)
    bits_t = np.ascontiguousarray(bits.T)  # (16, n): rows = sorted breakpoints
    i0 = np.zeros((2 * _L - 1, n), dtype=np.int64)  # F cell (0-based) of each merged interval
    _cumsum0(bits_t & 1, out=i0[1:])
    bits_t &= ~1
    v = bits_t.view(np.float64)
    r = np.empty((2 * _L - 1, n))
    r[0] = v[0]
    np.subtract(v[1:], v[:-1], out=r[1:-1])
    np.maximum(1.0 - v[-1], 0.0, out=r[-1])  # r: the bound's mass in cell (i0, k - i0)

    # Covariance of the bound: sum_ij bound(F_i, X_j) - sum_i F_i sum_j X_j, where
    # sum_ij min(F_i, X_j) = integral of #(F_i >= u) #(X_j >= u) du = sum_k r_k (9 - i_k)(9 - j_k);
    # for the lower bound sum_ij max(F_i + X_j - 1, 0) = 10 sum_i F_i - (same sum with X reversed).
    i0f = i0.astype(np.float64)
    weight = _L - i0f
    i0f += _LK
    weight *= i0f
    s_up = np.einsum("ij,ij->j", r, weight)
    sum_f = f.sum_cdf
    sum_bound = np.where(upper, s_up, (_L + 1) * sum_f - s_up)
    cov = sum_bound - sum_f * x.sum_cdf
    with np.errstate(invalid="ignore", divide="ignore"):
        w = c / (cov / (f.sd * x.sd))
    w[(x.sd == 0) | (f.sd == 0) | (upper & (c == 0))] = 0.0
    sc = 1.0 - w

    # Joint entropy (nats) = entropy of the scaled independence table sc*pf_i*px_j (closed form) plus
    # a correction on the <= 17 cells where the bound has mass.
    hj = -_xlogx(sc) + sc * (f.h + x.h)
    cols, kcols = _gather_offsets(n)
    i0 *= n
    i0 += cols
    prod = f.p.ravel().take(i0)
    np.subtract(kcols, i0, out=i0)
    prod *= px.ravel().take(i0)
    prod *= sc  # the scaled independence term of each cell
    mixed = w * r
    mixed += prod
    hj -= _sum_xlogx(mixed) - _sum_xlogx(prod)

    mi = x.h + f.h - hj
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mi == 0, 0.0, 2.0 * mi / (x.h + f.h))


def _band_rows(shape: tuple[int, ...]) -> int:
    """Window rows per band: about ``_CHUNK`` windows, so that every temporary stays cache-resident."""
    return max(1, _CHUNK // (shape[1] - _W + 1))


class SourceWindows:
    """The F-independent part of FMI for one source feature map: every normalised window's pdf, its
    sum-of-squares about the mean, SD, entropy and cdf sum (13 floats per window).

    Built band by band exactly as :func:`fmi_value` builds them inline, so using it changes no value;
    the runner scores every fused image of a scene against the same sources, and this is about a third
    of FMI's work. ``side(r0, r1)`` rebuilds the band's :class:`_Side` (cdf and centred pdf recomputed).
    """

    __slots__ = ("shape", "p", "tt", "sd", "h", "sum_cdf")

    def __init__(self, feature: np.ndarray) -> None:
        m, ncols = self.shape = feature.shape
        rows, cols = m - _W + 1, ncols - _W + 1
        n = max(rows, 0) * max(cols, 0)
        self.p = np.empty((_L, n))
        self.tt, self.sd, self.h, self.sum_cdf = (np.empty(n) for _ in range(4))
        band = _band_rows(feature.shape)
        for r0 in range(0, max(rows, 0), band):
            r1 = min(rows, r0 + band)
            sl = slice(r0 * cols, r1 * cols)
            side = _Side(_normalise(windows_colmajor(feature[r0 : r1 + _W - 1])))
            self.p[:, sl] = side.p
            for k in ("tt", "sd", "h", "sum_cdf"):
                getattr(self, k)[sl] = getattr(side, k)
        for k in self.__slots__[1:]:
            getattr(self, k).setflags(write=False)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, k).nbytes for k in self.__slots__[1:])

    def side(self, sl: slice) -> _Side:
        out = _Side(None)
        out.p = p = self.p[:, sl]
        out.cdf = _cumsum0(p)
        out.t = p - _seqsum(p) / _L
        for k in ("tt", "sd", "h", "sum_cdf"):
            setattr(out, k, getattr(self, k)[sl])
        return out


def fmi_value(
    source_features: Sequence[np.ndarray],
    fused_feature: np.ndarray,
    source_windows: Sequence[SourceWindows] | None = None,
) -> float:
    """FMI from feature maps (w = 3): mean over windows and sources of ``fmi_XF``.

    Parameters
    ----------
    source_features : sequence of ndarray
        Feature maps of the sources, each the shape of ``fused_feature`` (at least 3x3).
    fused_feature : ndarray
        Feature map of the fused image.
    source_windows : sequence of SourceWindows or None, optional
        Precomputed :class:`SourceWindows` of ``source_features`` (same order; None entries are computed
        inline); the value is the same either way.

    Returns
    -------
    float
        FMI in [0, 1] (1 when every window matches exactly).
    """
    m, ncols = fused_feature.shape
    rows, cols = m - _W + 1, ncols - _W + 1
    if rows <= 0 or cols <= 0:
        raise ValueError(f"FMI needs feature maps of at least {_W}x{_W}, got {fused_feature.shape}")
    for feat in source_features:
        if np.shape(feat) != fused_feature.shape:
            raise ValueError(f"feature maps differ in shape: {np.shape(feat)} vs {fused_feature.shape}")
    total = np.zeros(rows * cols)
    # Work in bands of window rows (about _CHUNK windows each): the windows of a band are cut from the
    # maps when needed, so every temporary stays cache-resident and no 9 x (H x W) array is ever built.
    band = _band_rows(fused_feature.shape)
    if source_windows is None:
        source_windows = [None] * len(source_features)
    elif len(source_windows) != len(source_features):
        raise ValueError("source_windows must match source_features")
    for sw, feat in zip(source_windows, source_features, strict=True):
        if sw is not None and sw.shape != np.shape(feat):
            raise ValueError(f"source_windows of shape {sw.shape} given for a {np.shape(feat)} feature map")
    for r0 in range(0, rows, band):
        r1 = min(rows, r0 + band)
        sl = slice(r0 * cols, r1 * cols)
        wf_raw = windows_colmajor(fused_feature[r0 : r1 + _W - 1])
        wf_norm = _normalise(wf_raw)
        f_side: _Side | None = None
        f_normalised = np.zeros(wf_raw.shape[1], dtype=bool)
        acc = total[sl]
        for feat, sw in zip(source_features, source_windows, strict=True):
            wx = windows_colmajor(feat[r0 : r1 + _W - 1])
            if not f_normalised.any():
                f_state = wf_raw
            elif f_normalised.all():
                f_state = wf_norm
            else:
                f_state = np.where(f_normalised, wf_norm, wf_raw)
            equal = np.all(wx == f_state, axis=0)
            acc += equal  # exact match: fmi_XF = 1
            todo = np.flatnonzero(~equal)
            if todo.size:
                if f_side is None:
                    f_side = _Side(wf_norm)
                if todo.size >= _SUBSET_BELOW * equal.size:
                    # compute every window and keep the non-matching ones (cheaper than gathering a subset)
                    x_side = _Side(_normalise(wx)) if sw is None else sw.side(sl)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        val = _fmi_windows(x_side, f_side)
                    acc += val if todo.size == equal.size else np.where(equal, 0.0, val)
                else:
                    x_side = _Side(_normalise(wx[:, todo])) if sw is None else sw.side(sl).take(todo)
                    acc[todo] += _fmi_windows(x_side, f_side.take(todo))
            f_normalised |= ~equal
    return float(np.mean(total / len(source_features)))


def _frozen(fe):
    def feature(img: np.ndarray) -> np.ndarray:
        out = fe(img)
        out.setflags(write=False)
        return out

    return feature


# Sources are shared by every fused image of a scene (the runner scores ~12 per scene in a row): their
# feature maps are memoised by content (wavelet ~22 ms, gradient, edge and dct ~2 ms at 520x520; the
# content key of a frozen input is hashed once per array, so a hit costs a dictionary look-up; gradient and
# dct maps of writable inputs are recomputed, cheaper than hashing them). Values are
# unchanged: a hit returns the very map computed before (read-only). 'none' is the image itself.
def _source_feature(name: str, fe):
    if name == "none":
        return fe
    memo = source_memo(_frozen(fe), maxsize=8)
    if name in ("wavelet", "edge"):  # worth a content hash even for a writable input
        return memo

    def feature(img: np.ndarray) -> np.ndarray:  # gradient, dct: memoised for frozen inputs (no hashing)
        return memo(img) if _frozen_owner(img) else fe(img)

    return feature


_SOURCE_FEATURES = {name: _source_feature(name, fe) for name, fe in FEATURES.items()}


# ... and so is their window side (SourceWindows, 104 bytes per window: ~28 MB for a 520x520 map), within
# the shared source-memo budget (metrics._memo.SOURCE_BUDGET), keyed by the feature map's content (the map
# fixes the windows). Built only when a source comes back (a second fused image of the scene): building
# costs about one inline pass and saves 15-20 % of every later call. Not for 'edge' (binary maps: no gain).
_source_windows = source_memo(SourceWindows, maxsize=64, on_repeat=True)


# Values of pairs of 0/1 windows (edge maps) by pattern pair, filled by the kernel as it meets them (NaN:
# not met yet; 2 MB): ~80 % of an edge map's windows match the source exactly, most others are a few
# thousand recurring pattern pairs. A lane's value depends on its two windows only, so a looked-up value
# is the value the kernel would compute (same bits). Concurrent writers store the same value.
_EDGE_LUT = np.full((512, 512), np.nan)


# Per scene and feature: the window totals of fused images that copy a source (decision-map fusion).
# Where the F window equals source k's raw window, the lane's inputs are the sources' windows alone, so
# its total (sum over sources of fmi_XF, the F-normalisation quirk included) is the same for every fused
# image of the scene that copies source k there; the kernel stores each such total it computes in an
# (N, windows) table (NaN: not met yet) and reads it back for later images (same bits: per-lane
# arithmetic). Keyed by the source images (frozen inputs only: no hashing), 8 bytes per window and
# source (4.3 MB for a 520x520 pair), within the shared source budget, made when a scene's sources come
# back (a second fused image: a lone image allocates nothing); the runner scores a scene's images in a
# row, so a few scenes are kept. Concurrent writers store the same value, so the table is not
# locked. Only for the local features 'none' and 'gradient' (a fused image that copies a source region
# has that region's windows there): 'dct' and 'wavelet' maps are whole-image transforms (and rescaled by
# the global range), so copies practically never give equal windows; 'edge' maps do, but the pattern
# table below already serves them (measured: 3.8 -> 3.4 ms per decision-map image, not worth 4 MB).
def _scene_table(name: str):
    def table(*sources: np.ndarray) -> np.ndarray:
        m, ncols = _SOURCE_FEATURES[name](sources[0]).shape
        return np.full((len(sources), max(m - _W + 1, 0) * max(ncols - _W + 1, 0)), np.nan)

    table.__name__ = table.__qualname__ = f"fmi_{name}_scene_table"
    return source_memo(table, maxsize=4, on_repeat=True)


_SCENE_TABLES = {name: _scene_table(name) for name in ("none", "gradient")}
_TABLE_SHARE = 8  # a table takes at most 1/8 of the source budget (64 MB of 512 MB: ~2000x2000, 2 sources)


def fmi_value_compiled(
    source_features: Sequence[np.ndarray],
    fused_feature: np.ndarray,
    lut: np.ndarray | None = None,
    table: np.ndarray | None = None,
) -> float | None:
    """:func:`fmi_value` through the numba kernel (:mod:`metrics._kernels_fmi`), or None where it cannot run.

    Same windows, same branch decisions, same final NumPy mean; the per-window sums differ from the NumPy
    path by rounding only (tests: within 1e-12 relative). ``lut``: a (512, 512) NaN-initialised table for
    maps of 0s and 1s (:data:`_EDGE_LUT`); ``table``: an (N, windows) NaN-initialised table of totals where
    the fused map copies a source, that belongs to these source maps (:func:`_scene_table`); see
    :func:`metrics._kernels_fmi.fmi_totals`. Neither changes a value.
    """
    k = kernels("fmi")
    shape = np.shape(fused_feature)
    if k is None or len(shape) != 2 or min(shape) < _W or any(np.shape(f) != shape for f in source_features):
        return None
    stack = np.empty((len(source_features), *shape))
    for i, feat in enumerate(source_features):
        stack[i] = feat
    if table is not None and table.shape != (len(source_features), (shape[0] - _W + 1) * (shape[1] - _W + 1)):
        table = None
    totals = k.fmi_totals(stack, np.ascontiguousarray(fused_feature, dtype=np.float64), lut, table)
    return float(np.mean(totals / len(source_features)))


def fmi(sources: Sequence[np.ndarray], fused: np.ndarray, feature: str = "edge") -> float:
    """FMI of ``fused`` against ``sources`` with one of the five feature maps (w = 3).

    The window stage runs in the compiled kernel when numba is available (see :mod:`metrics._jit`;
    ``MFIF_NO_NUMBA=1`` forces the NumPy path, which gives the same value to ~1e-15 relative).
    """
    try:
        fe = FEATURES[feature]
    except KeyError:
        raise ValueError(f"feature must be one of {sorted(FEATURES)}, got {feature!r}") from None
    src_fe = _SOURCE_FEATURES[feature]
    feats = [src_fe(s) for s in sources]
    fused_feat = fe(fused)
    table = None
    if feature in _SCENE_TABLES and kernels("fmi") is not None and all(_frozen_owner(s) for s in sources):
        windows = max(fused_feat.shape[0] - _W + 1, 0) * max(fused_feat.shape[1] - _W + 1, 0)
        if 8 * len(sources) * windows <= SOURCE_BUDGET.limit // _TABLE_SHARE:
            table = _SCENE_TABLES[feature](*sources)
    value = fmi_value_compiled(feats, fused_feat, _EDGE_LUT if feature == "edge" else None, table)
    if value is not None:
        return value
    if feature == "edge" or any(np.shape(f) != fused_feat.shape for f in feats) or min(fused_feat.shape) < _W:
        return fmi_value(feats, fused_feat)  # (raises on a shape error)
    return fmi_value(feats, fused_feat, [_source_windows(f) for f in feats])


#: Rough CPU cost per call at 520x520 (units of the uniform-filter pass; only orders threaded scoring).
_COST = {"none": 7.0, "edge": 2.0, "dct": 8.0, "wavelet": 13.0, "gradient": 8.0}


def _register(id_: str, feature: str, name: str, notes: str) -> None:
    info = MetricInfo(
        id=id_,
        name=name,
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id=f"FMI_{feature}_w3",
        reference_impl=impl(TANG, "Evaluation/analysis_fmi.m", f"analysis_fmi(A,B,F,'{feature}',3)"),
        n_sources="any N >= 1: fmi_XF averaged over sources (F-window normalisation quirk carried over)",
        ideal=1.0,
        notes=notes,
        cost=_COST.get(feature, 1.0),
    )

    def metric(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
        srcs, f = check_inputs(sources, fused, metric=name)
        return fmi(srcs, f, feature)

    metric.__name__ = id_.replace("@", "_")
    metric.__doc__ = f"{name}: feature mutual information with the '{feature}' feature, 3x3 windows."
    register_metric(info)(metric)


_register("fmi_pixel", "none", "FMI_pixel", "Raw pixels as features ('none').")
_register(
    "fmi_edge",
    "edge",
    "FMI_edge",
    "MATLAB edge() (Sobel) binary maps; the code's default feature. Tang's 'FMI_pixel' column is this.",
)
_register("fmi_dct", "dct", "FMI_dct", "Whole-image orthonormal DCT-II (dct2) as features.")
_register(
    "fmi_w",
    "wavelet",
    "FMI_w",
    "One-level dwt2 with MATLAB's 102-tap dmey, [cA cH; cV cD] rescaled to [0,1] (620x620 at 520x520).",
)
_register("fmi_gradient", "gradient", "FMI_gradient", "MATLAB gradient() x-derivative as features.")
