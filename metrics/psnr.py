"""PSNR between the sources (or a ground truth) and the fused image -- four formulas in circulation.

Re-implemented from the definitions (no code copied):

* ``psnr``         -- standard: ``10 log10(255**2 / MSE)``, MSE averaged over sources on 0..255
  (``PSNR_standard``; derived in the reference from Tang's MSE);
* ``psnr@tang``    -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/PSNR_evaluation.m`` @ 0e87153:
  MSE on [0,1] data but peak kept at 255, i.e. ``psnr + 20 log10(255)`` (+48.13 dB; ``PSNR_tang``);
* ``psnr@vifb``    -- xingchenzhang/VIFB ``metrics/metricsPsnr.m`` @ 22b2ea9:
  ``20 log10(255 / sqrt(mean of its "mse" helper))`` (``PSNR_vifb``; size dependent);
* ``psnr@cddfuse`` -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.PSNR`` @ fd8da1f:
  ``10 log10(max(F)**2 / MSE)`` in float32 (peak = max of F; ``cddfuse_PSNR``);
* ``psnr_gt``      -- standard PSNR against the all-in-focus ground truth (needs ``reference=``).

Identical images give ``inf`` (MSE = 0). Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import as_reference, check_inputs
from metrics._provenance import CDDFUSE, TANG, VIFB, impl
from metrics.mse import mse_pair, mse_sources, vifb_mse_helper

_N = "any N >= 1: the MSE (or VIFB helper) is averaged over sources"


def psnr_from_mse(mse_value: float, peak: float = 255.0) -> float:
    """``10 log10(peak**2 / mse)``; ``inf`` when ``mse == 0``.

    Examples
    --------
    >>> psnr_from_mse(65025.0)
    0.0
    """
    if mse_value == 0:
        return math.inf
    return float(10.0 * np.log10(peak * peak / mse_value))


@register_metric(
    MetricInfo(
        id="psnr",
        name="PSNR",
        higher_is_better=True,
        range=(0.0, math.inf),
        reference_id="PSNR_standard",
        reference_impl="standard definition (reference value derived from "
        + impl(TANG, "Evaluation/MSE_evaluation.m")
        + ")",
        n_sources=_N,
        ideal=math.inf,
        notes="10 log10(255^2 / MSE), MSE = mean over sources of mean((X-F)^2) on 0..255.",
    )
)
def psnr(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Standard PSNR (dB) of the fused image against the sources."""
    srcs, f = check_inputs(sources, fused, metric="PSNR")
    return psnr_from_mse(mse_sources(srcs, f))


@register_metric(
    MetricInfo(
        id="psnr@tang",
        name="PSNR (Tang)",
        higher_is_better=True,
        range=(48.13, math.inf),
        reference_id="PSNR_tang",
        reference_impl=impl(TANG, "Evaluation/PSNR_evaluation.m"),
        n_sources=_N,
        ideal=math.inf,
        notes="20 log10(255/sqrt(MSE on [0,1] data)) = psnr + 48.13 dB.",
    )
)
def psnr_tang(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Tang's PSNR: MSE on [0,1]-scaled data, peak 255."""
    srcs, f = check_inputs(sources, fused, metric="PSNR@tang")
    m = mse_sources([s / 255.0 for s in srcs], f / 255.0)
    if m == 0:
        return math.inf
    return float(20.0 * np.log10(255.0 / np.sqrt(m)))


@register_metric(
    MetricInfo(
        id="psnr@vifb",
        name="PSNR (VIFB)",
        higher_is_better=True,
        range=(None, math.inf),
        reference_id="PSNR_vifb",
        reference_impl=impl(VIFB, "metrics/metricsPsnr.m"),
        n_sources=_N,
        ideal=math.inf,
        notes="Uses VIFB's helper sqrt(sum(d^2))/(M*N) as 'mse': not the standard PSNR.",
    )
)
def psnr_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """VIFB's PSNR: ``20 log10(255 / sqrt(mean over sources of the helper))``."""
    srcs, f = check_inputs(sources, fused, metric="PSNR@vifb")
    m = float(np.mean([vifb_mse_helper(s, f) for s in srcs]))
    if m == 0:
        return math.inf
    return float(20.0 * np.log10(255.0 / np.sqrt(m)))


@register_metric(
    MetricInfo(
        id="psnr@cddfuse",
        name="PSNR (CDDFuse)",
        higher_is_better=True,
        range=(None, math.inf),
        reference_id="cddfuse_PSNR",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.PSNR"),
        n_sources=_N,
        ideal=math.inf,
        notes="Peak = max(F) (not 255); float32 arithmetic.",
    )
)
def psnr_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """CDDFuse's PSNR: ``10 log10(max(F)**2 / MSE)`` in float32."""
    from metrics.mse import mse_cddfuse

    srcs, f = check_inputs(sources, fused, metric="PSNR@cddfuse")
    m = np.float32(mse_cddfuse(srcs, f))
    peak = np.max(f.astype(np.float32))
    if m == 0:
        return math.inf if peak != 0 else math.nan
    return float(np.float32(10) * np.log10(peak**2 / m))


@register_metric(
    MetricInfo(
        id="psnr_gt",
        name="PSNR vs ground truth",
        higher_is_better=True,
        needs_reference=True,
        range=(0.0, math.inf),
        reference_id="",
        reference_impl="definition: 10 log10(255^2 / mean((GT-F)^2)), 0..255 scale",
        n_sources="any (uses only the fused image and the reference)",
        ideal=math.inf,
        notes="Full-reference: needs the all-in-focus ground truth (synthetic data).",
    )
)
def psnr_gt(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Standard PSNR (dB) of the fused image against the ground truth ``reference``."""
    _, f = check_inputs(sources, fused, metric="PSNR_gt", min_n=0)
    return psnr_from_mse(mse_pair(as_reference(reference, f, "PSNR_gt"), f))
