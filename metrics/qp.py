"""Qp: Zhao et al.'s phase-congruency based metric, Liu toolbox ``metricZhao``.

Port of ``metricZhao.m`` (function ``pc_assessFusion``) from zhengliu6699/imageFusionMetrics
@ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273 (MATLAB, Z. Liu; "as is", no licence file), with Kovesi's
phase congruency (:mod:`metrics._phasecong`). Re-written in NumPy from the algorithm; no code copied.

For each image: phase congruency ``pc`` and the maximum / minimum moments ``M`` / ``m``. For each of the
three feature kinds (pc, M, m) a masked local correlation score is computed against the fused image's
feature map: 11x11 Gaussian (sigma 1.5, normalised) local statistics by ``filter2(..., 'same')`` (zero
padding), ``(sigma_XF + C) / (sqrt(|sigma_X^2 sigma_F^2|) + C)`` with C = 1e-4, evaluated where the
source's pc exceeds 0.1 (0 elsewhere); the per-pixel maximum over the sources and over the "max" map
(features of the source with the larger pc) is summed and divided by the number of pixels where the
larger pc exceeds 0.1. ``Qp = score_pc * score_M * score_m``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._memo import source_memo
from metrics._phasecong import phasecong_liu

_THRESHOLD = 0.1
_C = 0.0001


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """1-D factor of ``fspecial('gaussian', 11, 1.5)`` normalised (no entry falls below eps*max)."""
    x = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-(x * x) / (2 * 1.5 * 1.5))
    g = g / g.sum()
    g.setflags(write=False)
    return g


def _phasecong_frozen(im: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`phasecong_liu` with read-only outputs (safe to share from a cache)."""
    out = phasecong_liu(im)
    for a in out:
        a.setflags(write=False)
    return out


# Sources are shared by every fused image of a scene (the runner scores ~12 per scene in a row), so their
# phase congruency (~2/3 of Qp's time) is memoised by content (metrics._memo.source_memo: shared budget);
# 3 x 8 bytes/pixel per entry. The fused image is never cached (always new). Values are unchanged: the
# cache returns the same arrays.
_source_phasecong = source_memo(_phasecong_frozen, maxsize=8)


def _filt(img: np.ndarray) -> np.ndarray:
    """``filter2(window, img, 'same')`` with zero padding, separably."""
    g = _window()
    return cv2.sepFilter2D(img, cv2.CV_64F, g, g, anchor=(-1, -1), delta=0.0, borderType=cv2.BORDER_CONSTANT)


def _source_side_compute(*srcs: np.ndarray) -> tuple:
    """Everything of Qp that depends on the sources only: per feature k (pc, M, m), for each source map and
    the max-pc map, ``(x, mu_x, sigma_x^2, mask)`` with ``x = mask .* feature``; and the max-pc mask.

    Memoised per set of sources (:data:`_source_side`), so every fused image of a scene reuses it; the
    arrays are exactly those the inline computation would give (read-only).
    """
    feats = [_source_phasecong(s) for s in srcs]
    pcs = np.stack([f[0] for f in feats])
    # index of the last source attaining the maximum pc (ties -> later source, as MATLAB for N = 2)
    n = len(srcs)
    sel = n - 1 - np.argmax(pcs[::-1], axis=0)
    if n <= 32:  # np.choose's limit; it gathers without a stacked copy
        pick = lambda k: np.choose(sel, [f[k] for f in feats])  # noqa: E731
    else:
        pick = lambda k: np.take_along_axis(np.stack([f[k] for f in feats]), sel[None], axis=0)[0]  # noqa: E731
    masks = [f[0] > _THRESHOLD for f in feats]
    mask_max = pick(0) > _THRESHOLD
    per_feature = []
    for k in range(3):
        stats = []
        for feat, mask in zip([*(f[k] for f in feats), pick(k)], [*masks, mask_max], strict=True):
            x = mask * feat
            mu = _filt(x)
            sigma_sq = _filt(x * x) - mu * mu
            for arr in (x, mu, sigma_sq, mask):
                arr.setflags(write=False)
            stats.append((x, mu, sigma_sq, mask))
        per_feature.append(tuple(stats))
    return tuple(per_feature), int(np.count_nonzero(mask_max))


_source_side = source_memo(_source_side_compute, maxsize=4)


def _correlation_score(stats: tuple, feat_f: np.ndarray, n_max: int) -> float:
    """Liu's ``correlation_coeffcient`` generalised to N sources (sources first, then the max map);
    ``n_max`` is the number of pixels of the max-pc mask."""
    mu_f = _filt(feat_f)
    product = feat_f * feat_f
    sff = _filt(product)
    compiled = kernels("qp")
    if compiled is not None:  # one fused pass per map (metrics._kernels_qp), same arithmetic
        result = np.empty(feat_f.shape)
        for i, (x, mu, sigma_sq, mask) in enumerate(stats):
            np.multiply(x, feat_f, out=product)
            compiled.correlation_update(i == 0, result, _filt(product), mu, mu_f, sigma_sq, sff, mask, _C)
    else:
        result = _correlation_numpy(stats, feat_f, mu_f, sff)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(result) / np.int64(n_max))


def _correlation_numpy(stats: tuple, feat_f: np.ndarray, mu_f: np.ndarray, sff: np.ndarray) -> np.ndarray:
    """The per-pixel maximum over the maps of the masked local correlation (NumPy path)."""
    sigma_f_sq = sff - mu_f * mu_f
    result = None
    for x, mu, sigma_sq, mask in stats:
        sigma_xf = _filt(x * feat_f) - mu * mu_f
        # (sigma_XF + C) / (sqrt|sigma_X^2 sigma_F^2| + C) where the mask holds, else 0: computed on whole
        # arrays (faster than boolean gathers; the masked-out values are discarded by np.where)
        with np.errstate(invalid="ignore", divide="ignore"):
            den = sigma_sq * sigma_f_sq
            np.abs(den, out=den)
            np.sqrt(den, out=den)
            den += _C
            sigma_xf += _C
            sigma_xf /= den
        res = np.where(mask, sigma_xf, 0.0)
        result = res if result is None else np.fmax(result, res)  # MATLAB max ignores NaN
    return result


def qp_zhao(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Liu's ``metricZhao`` (Qp), generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D, 0..255 scale as in the reference).
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        Product of the pc, M and m correlation scores, range about [0, 1]. The "max" maps take, per
        pixel, the features of the source with the largest pc (first source on ties, as MATLAB's
        ``pc1 > pc2`` mask gives the second one on ties for N = 2 -- see Notes). NaN for constant images.

    Notes
    -----
    For N = 2 MATLAB selects source 1 where ``pc1 > pc2`` and source 2 otherwise (ties go to source 2);
    the N-source rule "last source attaining the maximum" reproduces that exactly.

    References
    ----------
    J. Zhao, R. Laganiere, Z. Liu, "Performance assessment of combinative pixel-level image fusion based
    on an absolute feature measurement", Int. J. Innovative Computing, Information and Control 3(6A),
    1433-1447, 2007. P. Kovesi, "Image features from phase congruency", Videre 1(3), 1999.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> a = 255.0 * ((xx // 8 + yy // 8) % 2); b = 255.0 * (xx > 31)
    >>> 0 < qp_zhao([a, b], np.maximum(a, b)) <= 1
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qp", min_n=2)
    per_feature, n_max = _source_side(*srcs)
    fused_feats = phasecong_liu(fus)
    score = 1.0
    for stats, feat_f in zip(per_feature, fused_feats, strict=True):
        score *= _correlation_score(stats, feat_f, n_max)
    return float(score)


@register_metric(
    MetricInfo(
        id="qp",
        name="Qp",
        cost=44.0,
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qp_liu",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics metricZhao.m + myphasecong3.m @ "
            "d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273"
        ),
        n_sources="any: max over sources and the max-pc map of the masked local correlations",
        version="1",
        ideal=None,
        notes=(
            "Phase-congruency metric (Kovesi phasecong defaults, Liu's modifications). NaN for constant "
            "images. No fixed ideal: the source maps are masked (pc > 0.1), the fused map is not, so "
            "identical inputs give ~0.96."
        ),
    )
)
def qp(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qp_zhao`."""
    return qp_zhao(sources, fused)
