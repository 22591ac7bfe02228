"""FMI's window stage in NumPy (private): the fallback of the compiled kernel and its reference.

The definition, the reference code (Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_fmi.m``
@ 0e87153 = mhaghighat/fmi ``fmi.m`` @ 2268df2; re-implemented, nothing copied) and the vectorisation are
described in :mod:`metrics.fmi`; :func:`fmi_value` computes the mean over windows of the mean over sources
of ``fmi_XF``, :class:`SourceWindows` the reusable source side of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

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
