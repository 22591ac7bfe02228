"""FMI: feature mutual information (Haghighat et al. 2011; Fast-FMI, Haghighat & Razian 2014).

Re-implemented (no code copied) from the Fast-FMI MATLAB code as shipped by
Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_fmi.m`` @ 0e87153 (the same file as
mhaghighat/fmi ``fmi.m``; licence: BSD-2-Clause in mhaghighat/fmi, none stated in Tang's copy), window
w = 3, five feature maps (:mod:`metrics._fmi_features`):

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
  the normalised F-window unless A took the equality shortcut (so FMI(A,B,A) != FMI(A,B,B)).

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

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import as_gray_stack
from metrics._fmi_features import FEATURES
from metrics._provenance import TANG, impl

_W = 3
_L = _W * _W
_CHUNK = 32768
_IDX = np.arange(1, _L + 1, dtype=np.float64)


def windows_colmajor(x: np.ndarray, w: int = _W) -> np.ndarray:
    """All w x w windows of ``x`` (valid positions, row-major order), each flattened column-major.

    Returns an array of shape ``((m-w+1)*(n-w+1), w*w)``.
    """
    m, n = x.shape
    out = np.empty(((m - w + 1) * (n - w + 1), w * w), dtype=np.float64)
    for c in range(w):
        for r in range(w):
            out[:, c * w + r] = x[r : r + m - w + 1, c : c + n - w + 1].ravel()
    return out


def _seqsum(a: np.ndarray) -> np.ndarray:
    """Row sums accumulated left to right (Octave's ``sum`` order)."""
    s = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        s += a[:, k]
    return s


def _normalise(win: np.ndarray) -> np.ndarray:
    """Per-window min-max normalisation; constant windows become ones."""
    mx = win.max(axis=1)
    mn = win.min(axis=1)
    span = mx - mn
    const = span == 0
    out = (win - mn[:, None]) / np.where(const, 1.0, span)[:, None]
    out[const] = 1.0
    return out


def _pdf(norm: np.ndarray) -> np.ndarray:
    """``sub(:) ./ sum(sum(sub))`` with MATLAB's summation order (column sums, then their sum)."""
    c0 = (norm[:, 0] + norm[:, 1]) + norm[:, 2]
    c1 = (norm[:, 3] + norm[:, 4]) + norm[:, 5]
    c2 = (norm[:, 6] + norm[:, 7]) + norm[:, 8]
    return norm / ((c0 + c1) + c2)[:, None]


def _pop_sd(p: np.ndarray) -> np.ndarray:
    """``sqrt(sum i^2 p_i - (sum i p_i)^2)`` accumulated sequentially as in the reference loop."""
    e = np.zeros(p.shape[0])
    e2 = np.zeros(p.shape[0])
    for i in range(_L):
        e = e + _IDX[i] * p[:, i]
        e2 = e2 + _IDX[i] ** 2 * p[:, i]
    with np.errstate(invalid="ignore"):
        return np.sqrt(e2 - e * e)


def _plogp(p: np.ndarray) -> np.ndarray:
    """Elementwise ``-p log2|p|`` with 0 where p == 0."""
    a = np.abs(p)
    return -p * np.log2(np.where(a > 0, a, 1.0))


class _Side:
    """Per-window quantities of one normalised feature window set (pdf, cdf, centred pdf, SD, entropy)."""

    def __init__(self, norm: np.ndarray) -> None:
        self.p = _pdf(norm)
        self.cdf = np.cumsum(self.p, axis=1)
        self.t = self.p - (_seqsum(self.p) / _L)[:, None]
        self.tt = _seqsum(self.t * self.t)
        self.sd = _pop_sd(self.p)
        self.h = np.sum(_plogp(self.p), axis=1)
        self.total = np.sum(self.p, axis=1)

    def take(self, idx: np.ndarray) -> _Side:
        new = object.__new__(_Side)
        for k in ("p", "cdf", "t", "tt", "sd", "h", "total"):
            setattr(new, k, getattr(self, k)[idx])
        return new


def _fmi_windows(x: _Side, f: _Side) -> np.ndarray:
    """``fmi_XF`` for windows that did not take the equality shortcut."""
    n = x.p.shape[0]
    s = _seqsum(x.t * f.t)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(s == 0, 0.0, s / np.sqrt(x.tt * f.tt))
    upper = c >= 0
    zero_w = (x.sd == 0) | (f.sd == 0) | (upper & (c == 0))

    # Merge the 8 interior cdf breakpoints of F with those of X (upper bound) or of 1 - X reversed
    # (lower bound): the <= 17 intervals of the merged partition carry the bound's cell masses.
    bx = np.where(upper[:, None], x.cdf[:, :-1], 1.0 - x.cdf[:, -2::-1])
    vals = np.concatenate([f.cdf[:, :-1], bx], axis=1)
    is_f = np.concatenate([np.ones((n, _L - 1), bool), np.zeros((n, _L - 1), bool)], axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    v = np.take_along_axis(vals, order, axis=1)
    lab = np.take_along_axis(is_f, order, axis=1)
    nf_before = np.zeros((n, 2 * _L - 1), dtype=np.intp)
    nf_before[:, 1:] = np.cumsum(lab, axis=1)
    k = np.arange(2 * _L - 1)
    nx_before = k[None, :] - nf_before
    i_cell = nf_before  # 0-based F cell index of each merged interval
    j_cell = np.where(upper[:, None], nx_before, _L - 1 - nx_before)
    edges = np.concatenate([np.zeros((n, 1)), v, np.ones((n, 1))], axis=1)
    r = np.maximum(np.diff(edges, axis=1), 0.0)  # bound's mass in cell (i_cell, j_cell)

    sum_bound = np.sum(r * (_L - i_cell) * (_L - j_cell), axis=1)
    cov = sum_bound - np.sum(f.cdf, axis=1) * np.sum(x.cdf, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = c / (cov / (f.sd * x.sd))
    w = np.where(zero_w, 0.0, w)
    sc = 1.0 - w

    # Entropy of the scaled independence table sc * pf_i px_j (closed form) ...
    with np.errstate(invalid="ignore", divide="ignore"):
        slog = np.where(sc == 0, 0.0, sc * np.log2(np.abs(np.where(sc == 0, 1.0, sc))))
    hj = -slog * f.total * x.total + sc * (f.h * x.total + f.total * x.h)
    # ... corrected on the cells where the bound has mass.
    prod = np.take_along_axis(f.p, i_cell, axis=1) * np.take_along_axis(x.p, j_cell, axis=1)
    indep = sc[:, None] * prod
    mixed = w[:, None] * r + indep
    hj = hj + np.sum(_plogp(mixed) - _plogp(indep), axis=1)

    mi = x.h + f.h - hj
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mi == 0, 0.0, 2.0 * mi / (x.h + f.h))


def fmi_value(source_features: Sequence[np.ndarray], fused_feature: np.ndarray) -> float:
    """FMI from feature maps (w = 3): mean over windows and sources of ``fmi_XF``.

    Parameters
    ----------
    source_features : sequence of ndarray
        Feature maps of the sources, each the shape of ``fused_feature`` (at least 3x3).
    fused_feature : ndarray
        Feature map of the fused image.

    Returns
    -------
    float
        FMI in [0, 1] (1 when every window matches exactly).
    """
    wf_raw = windows_colmajor(fused_feature)
    nwin = wf_raw.shape[0]
    if nwin == 0:
        raise ValueError(f"FMI needs feature maps of at least {_W}x{_W}, got {fused_feature.shape}")
    wf_norm = _normalise(wf_raw)
    f_normalised = np.zeros(nwin, dtype=bool)
    total = np.zeros(nwin)
    for feat in source_features:
        wx = windows_colmajor(feat)
        f_state = np.where(f_normalised[:, None], wf_norm, wf_raw)
        equal = np.all(wx == f_state, axis=1)
        vals = np.ones(nwin)
        todo = np.flatnonzero(~equal)
        for start in range(0, todo.size, _CHUNK):
            ii = todo[start : start + _CHUNK]
            vals[ii] = _fmi_windows(_Side(_normalise(wx[ii])), _Side(wf_norm[ii]))
        f_normalised |= ~equal
        total += vals
    return float(np.mean(total / len(source_features)))


def fmi(sources: Sequence[np.ndarray], fused: np.ndarray, feature: str = "edge") -> float:
    """FMI of ``fused`` against ``sources`` with one of the five feature maps (w = 3)."""
    try:
        fe = FEATURES[feature]
    except KeyError:
        raise ValueError(f"feature must be one of {sorted(FEATURES)}, got {feature!r}") from None
    return fmi_value([fe(s) for s in sources], fe(fused))


def _register(id_: str, feature: str, name: str, notes: str) -> None:
    info = MetricInfo(
        id=id_, name=name, higher_is_better=True, range=(0.0, 1.0),
        reference_id=f"FMI_{feature}_w3",
        reference_impl=impl(TANG, "Evaluation/analysis_fmi.m", f"analysis_fmi(A,B,F,'{feature}',3)"),
        n_sources="any N >= 1: fmi_XF averaged over sources (F-window normalisation quirk carried over)",
        ideal=1.0,
        notes=notes,
    )

    def metric(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
        srcs, f = as_gray_stack(sources, fused, metric=name)
        return fmi(srcs, f, feature)

    metric.__name__ = id_.replace("@", "_")
    metric.__doc__ = f"{name}: feature mutual information with the '{feature}' feature, 3x3 windows."
    register_metric(info)(metric)


_register("fmi_pixel", "none", "FMI_pixel", "Raw pixels as features ('none').")
_register("fmi_edge", "edge", "FMI_edge",
          "MATLAB edge() (Sobel) binary maps; the code's default feature. Tang's 'FMI_pixel' column is this.")
_register("fmi_dct", "dct", "FMI_dct", "Whole-image orthonormal DCT-II (dct2) as features.")
_register("fmi_w", "wavelet", "FMI_w",
          "One-level dwt2 with MATLAB's 102-tap dmey, [cA cH; cV cD] rescaled to [0,1] (620x620 at 520x520).")
_register("fmi_gradient", "gradient", "FMI_gradient", "MATLAB gradient() x-derivative as features.")
