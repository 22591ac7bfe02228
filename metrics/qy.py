"""Qy: Yang, Zhang, Wang & Liu (2008) SSIM-based fusion quality, in the two published codings.

Ported (re-implemented in NumPy, no code copied) from:

* zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``metricYang.m``
  (Zheng Liu's toolbox; no licence file) -> ``qy@liu``: NaN as soon as both sources are exactly flat over a
  7x7 window (the weight is 0/0 there and ``mean2`` propagates it);
* xingchenzhang/MEFB @ 9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, ``metrics/metricsQy.m`` (the same code,
  NaN entries of the quality map dropped before averaging) -> ``qy``.

Why ``qy`` is the MEFB coding: it is identical to Liu's wherever Liu's is defined (all 20 non-NaN reference
cases agree to the last digit) and stays finite on images with saturated or clipped areas, which real
multi-focus pairs have (2 of 6 Lytro pairs in the reference set give NaN under Liu's code). A benchmark
cannot rank a NaN.

SESF-Fuse/GACN tables used Liu's ``metricYang`` with 1e-10 added to its denominators by the authors
(``shared/docs/methods.md`` 8.2): that reconstruction is ``qy@sesf`` in ``metrics/qy_sesf.py``.

References
----------
C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for image fusion",
Information Fusion 9(2):156-160, 2008. doi:10.1016/j.inffus.2006.09.001
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._structural import OctaveWindow, check_inputs, local_moments, memoize_images

_G7 = OctaveWindow(7, 1.5, renormalize=True)
_C = 2e-16  # C1 = C2 in Liu's ssim_yang: practically no stabilisation


def _ssim_yang(x: np.ndarray, y: np.ndarray):
    """Liu's ``ssim_yang``: 7x7 Gaussian (sigma 1.5) SSIM map with C1 = C2 = 2e-16, plus both variances."""
    mx, my, sxx, syy, sxy = local_moments(x, y, _G7)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = ((2 * mx * my + _C) * (2 * sxy + _C)) / ((mx * mx + my * my + _C) * (sxx + syy + _C))
    return m, sxx, syy


def qy_map(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Yang's local quality map (valid size ``(H-6) x (W-6)``); NaN where both sources are flat.

    ``q = lambda*SSIM(A,F) + (1-lambda)*SSIM(B,F)`` where ``SSIM(A,B) >= 0.75``, else
    ``max(SSIM(A,F), SSIM(B,F))``; ``lambda = var_A / (var_A + var_B)`` (0/0 = NaN on flat windows).
    """
    s_ab, va, vb = _ssim_yang(a, b)
    s_af, _, _ = _ssim_yang(a, f)
    s_bf, _, _ = _ssim_yang(b, f)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = va / (va + vb)
    similar = s_ab >= 0.75
    # MATLAB multiplies both branches by the 0/1 mask and adds them, so a NaN weight poisons the pixel
    # whichever branch applies (NaN * 0 = NaN); reproduce that, not a np.where.
    with np.errstate(invalid="ignore"):
        q1 = (lam * s_af + (1 - lam) * s_bf) * similar
        q2 = np.maximum(s_af, s_bf) * ~similar
    return q1 + q2


@memoize_images
def _qy_means(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """(plain mean, mean of the finite entries) of :func:`qy_map`.

    MEFB drops NaN entries; we also drop +-inf ones. Those arise only where a variance sum is pure
    rounding noise (about 1e-12) on exactly flat windows, where the weight is as undefined as 0/0 is,
    and a single inf would otherwise swamp the mean (seen on SESF's gray_mwg_lab). The reference set
    has no such window, so every reference value is unchanged.
    """
    q = qy_map(a, b, f)
    plain = float(np.mean(q))
    q = q[np.isfinite(q)]
    return plain, (float(np.mean(q)) if q.size else float("nan"))


def qy_liu(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Liu's ``metricYang``: plain mean of :func:`qy_map` (NaN if any window is NaN)."""
    return _qy_means(a, b, f)[0]


def qy_mefb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """MEFB ``metricsQy``: mean of the non-NaN (and non-inf) entries of :func:`qy_map`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(16.0), (16, 1)) * 8
    >>> round(qy_mefb(a, a, a), 12)
    1.0
    """
    return _qy_means(a, b, f)[1]


_IMPL_LIU = "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, metricYang.m"
_IMPL_MEFB = "xingchenzhang/MEFB @ 9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, metrics/metricsQy.m"
_COMMON = (
    "7x7 Gaussian (sigma 1.5) SSIM maps with C1=C2=2e-16, filter2 'valid'; threshold 0.75 on SSIM(A,B); "
    "lambda = var_A/(var_A+var_B). Not scale invariant in the last digits (the 2e-16 constants)."
)


@register_metric(
    MetricInfo(
        id="qy",
        name="Qy",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="Qy_mefb",
        reference_impl=_IMPL_MEFB,
        n_sources="2 (definition compares two sources)",
        version="2",
        notes=(
            _COMMON + " MEFB coding: windows where both sources are exactly flat (weight 0/0) are dropped "
            "before averaging; equals Liu's metricYang (qy@liu) wherever that is finite. NaN only if every "
            "window is flat. Also drops +-inf windows (variance sums that are pure rounding noise), where MEFB would "
            "return inf. SESF/GACN tables used metricYang with an unpublished +1e-10 edit."
        ),
    )
)
def qy(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qy (MEFB coding, NaN windows dropped)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qy")
    return qy_mefb(a, b, f)


@register_metric(
    MetricInfo(
        id="qy@liu",
        name="Qy (Liu, NaN on flat)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="Qy_liu",
        reference_impl=_IMPL_LIU,
        n_sources="2 (definition compares two sources)",
        version="1",
        notes=(
            _COMMON + " Liu's coding: NaN whenever both sources are exactly flat over a 7x7 window "
            "(saturated areas); use qy for rankings."
        ),
    )
)
def qy_at_liu(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qy (Liu's metricYang, NaN on flat windows)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qy@liu")
    return qy_liu(a, b, f)
