"""Qy as computed by the SESF-Fuse evaluator: Liu's ``metricYang`` with 1e-10 added to its denominators.

Sources: Liu's ``metricYang.m`` (zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273,
"as is", no licence file), as edited by the SESF-Fuse authors for their evaluator (Keep-Passion/SESF-Fuse,
branch Experiment @ 9997299056f97412c8c00e8545c8a2ae5abb5b44, ``evaluation.py`` docstring: "We find Qc and
Qy may sometime return nan value, so we add 1e-10 on denominator in each division"; the edited ``.m``
file sits in ``evaluation_methods.zip``, which we could not read). Re-written in NumPy; no code copied.

The edit is reconstructed as: ``ssim_map = num / (den + 1e-10)`` inside ``ssim_yang`` (C1 = C2 = 2e-16
kept) and ``lambda = s_A^2 / (s_A^2 + s_B^2 + 1e-10)``. Evidence: on the 38 SESF pairs (official code re-run,
``shared/reference/official_outputs/sesf_cpu_rerun``) under the ``sesf2020`` protocol it matches the
authors' per-image Qy records to a mean |delta| of 1.8e-4 on 36 pairs -- the level of Qg, explained by
the re-run's fused images -- while the MEFB/Liu coding (``qy``) is off by ~8e-3 and guarding only lambda
by ~9e-3. The guards matter because the evaluator feeds colour images in [0, 1], where local variances
are ~1e-4..1e-8. On the two gray pairs with exactly flat (saturated) 7x7 windows (gray_mwg_desk,
gray_mwg_lab, 0..255 scale) the SSIM denominator falls below the 1e-10 guard and the value is decided
by rounding noise in the variances (-0.009 and -0.05 here; other filter orders give -0.005..-0.13): not
reproducible without MATLAB's exact arithmetic. GACN's printed Qy (0.97769) is not reproduced either
(0.98009 on GACN's own images), and its SESF-Fuse entry disagrees with the SESF records as well.

The standard Qy is ``qy`` (``metrics/qy.py``); this id exists to regenerate SESF/GACN-style tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import ndimage

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._memo import memoize_images, source_memo
from metrics._structural import ssim_formula

_C = 2e-16  # C1 = C2 of Liu's ssim_yang
_GUARD = 1e-10  # the SESF authors' denominator guard


@lru_cache(maxsize=1)
def _window_factor() -> np.ndarray:
    """1-D factor of ``fspecial('gaussian', 7, 1.5)`` normalised to sum 1 (all entries > eps*max)."""
    x = np.arange(7, dtype=np.float64) - 3
    g = np.exp(-(x * x) / (2 * 1.5 * 1.5))
    g = g / g.sum()
    g.setflags(write=False)
    return g


def _filter2_valid(img: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """``filter2(window, img [.* other], 'valid')`` (correlation where the 7x7 window fits), separably:
    SciPy's two ``correlate1d`` passes, or the compiled pass with SciPy's summation order over the valid
    part only (:func:`metrics._kernels_structural.symmetric_valid`, same bits, ~3x faster)."""
    g = _window_factor()
    k = kernels("structural")
    if k is not None and min(img.shape) >= g.size:
        x = np.ascontiguousarray(img, dtype=np.float64)
        y = None if other is None else np.ascontiguousarray(other, dtype=np.float64)
        out = np.empty((x.shape[0] - g.size + 1, x.shape[1] - g.size + 1))
        return k.symmetric_valid(x, y, g, out)
    src = img if other is None else img * other
    out = ndimage.correlate1d(src, g, axis=0, mode="constant")
    out = ndimage.correlate1d(out, g, axis=1, mode="constant")
    return out[3:-3, 3:-3]


def _first_moments_compute(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(filter2(w, img), filter2(w, img.*img))`` ('valid', read-only): one image's half of the moments."""
    out = _filter2_valid(img), _filter2_valid(img, img)
    for a in out:
        a.setflags(write=False)
    return out


# Every (source, fused) pair needs each image's own filtered moments; the sources' come back for every fused
# image of a scene and the fused image's for both sources (content-keyed memo, same arrays: no value moves).
_first_moments = memoize_images(_first_moments_compute, maxsize=4)


def _ssim_yang_guarded(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu1, xx = _first_moments(x)
    mu2, yy = _first_moments(y)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = xx - mu1_sq
    s2 = yy - mu2_sq
    s12 = _filter2_valid(x, y) - mu1_mu2
    # (2 mu1_mu2 + C)(2 s12 + C) / ((mu1_sq + mu2_sq + C)(s1 + s2 + C) + guard); 2 (mu1 mu2) = (2 mu1) mu2
    # exactly (doubling is exact), so the shared formula gives this grouping's bits
    return ssim_formula(mu1, mu2, s1, s2, s12, _C, _C, _GUARD), s1, s2


def _source_side_compute(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(SSIM(A,B) >= 0.75, lambda)``: everything of the guarded Qy that depends on the sources only."""
    ssim_ab, s_a, s_b = _ssim_yang_guarded(a, b)
    out = ssim_ab >= 0.75, s_a / (s_a + s_b + _GUARD)
    for arr in out:
        arr.setflags(write=False)
    return out


_source_side = source_memo(_source_side_compute, maxsize=4)


def qy_sesf_eval(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """SESF evaluator's Qy (guarded ``metricYang``), two sources.

    Parameters
    ----------
    sources : sequence of two numpy.ndarray
        Grey images (2-D, at least 7x7; scale as the evaluator saw them).
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        Mean over 'valid' 7x7 windows of ``lambda SSIM(A,F) + (1-lambda) SSIM(B,F)`` where
        ``SSIM(A,B) >= 0.75``, else ``max(SSIM(A,F), SSIM(B,F))``. Finite on flat regions (the guards).

    Raises
    ------
    ValueError
        Not exactly two sources (the weight lambda is defined for a pair), images under 7x7, bad inputs.

    References
    ----------
    C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for image fusion",
    Information Fusion 9(2) 156-160, 2008. doi:10.1016/j.inffus.2006.09.001

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:16, 0:16]
    >>> a = (xx * 16.0) % 256; b = (yy * 16.0) % 256
    >>> 0 < qy_sesf_eval([a, b], (a + b) / 2) <= 1
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qy (SESF evaluator)", min_n=2, max_n=2)
    if min(fus.shape) < 7:
        raise ValueError(f"Qy needs images of at least 7x7 pixels, got {fus.shape}")
    a, b = srcs
    bin_map, lam = _source_side(a, b)
    ssim_af, _, _ = _ssim_yang_guarded(a, fus)
    ssim_bf, _, _ = _ssim_yang_guarded(b, fus)
    k = kernels("structural")
    if k is not None:  # Yang's combination below in one compiled pass (same bits, as metrics.qy)
        return float(np.mean(k.qy_combine(lam, bin_map, ssim_af, ssim_bf, np.empty(ssim_af.shape))))
    q1 = (lam * ssim_af + (1 - lam) * ssim_bf) * bin_map
    q2 = np.maximum(ssim_af, ssim_bf) * ~bin_map
    return float(np.mean(q1 + q2))


@register_metric(
    MetricInfo(
        id="qy@sesf",
        cost=4.0,
        name="Qy (SESF evaluator)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="",
        reference_impl=(
            "Keep-Passion/SESF-Fuse (branch Experiment) evaluation_methods.zip metricYang.m @ "
            "9997299056f97412c8c00e8545c8a2ae5abb5b44 = zhengliu6699/imageFusionMetrics metricYang.m @ "
            "d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273 + 1e-10 denominator guards (reconstructed)"
        ),
        n_sources="2 (lambda weighs a pair)",
        max_sources=2,
        version="1",
        ideal=None,
        notes=(
            "No fixed ideal: the guard pulls flat windows of identical inputs towards 0. "
            "Liu metricYang with +1e-10 on the SSIM-map and lambda denominators, as the SESF-Fuse authors "
            "described. Reconstructed; validated against the authors' per-image Qy records (sesf2020 "
            "protocol): mean |delta| 1.8e-4 on 36 of 38 pairs, two flat gray pairs noise-dominated "
            "(tests/test_metrics_sesf2020.py). No value in metrics_reference.json. Use qy for new tables."
        ),
    )
)
def qy_sesf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qy_sesf_eval`."""
    return qy_sesf_eval(sources, fused)
