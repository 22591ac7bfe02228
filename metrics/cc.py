"""CC: correlation coefficient between each source and the fused image, averaged over sources.

Re-implemented from the definitions (no code copied) of:

* ``cc``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/CC_evaluation.m`` @ 0e87153
  (Pearson r, mean of r(A,F) and r(B,F); ``CC_tang``);
* ``cc@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.CC`` @ fd8da1f (the same
  in float32; ``cddfuse_CC``).

N sources: mean of r(X_k, F) over all sources. A constant image gives 0/0 = NaN (as the references).
Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._provenance import CDDFUSE, TANG, impl

_N = "any N >= 1: mean of r(X_k, F) over sources"


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation ``sum(dx*dy) / sqrt(sum(dx**2) * sum(dy**2))`` (MATLAB ``corr2``).

    Computed in the inputs' floating dtype; NaN when either image is constant.

    Examples
    --------
    >>> pearson(np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 4.0, 6.0]]))
    1.0
    """
    dx = x - np.mean(x)
    dy = y - np.mean(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(dx * dy) / np.sqrt(np.sum(dx * dx) * np.sum(dy * dy)))


@register_metric(
    MetricInfo(
        id="cc",
        name="CC",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="CC_tang",
        reference_impl=impl(TANG, "Evaluation/CC_evaluation.m"),
        n_sources=_N,
        ideal=1.0,
        notes="Mean over sources of Pearson r(X, F); NaN for a constant image.",
    )
)
def cc(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Mean correlation coefficient between the sources and the fused image."""
    srcs, f = check_inputs(sources, fused, metric="CC")
    return float(np.mean([pearson(s, f) for s in srcs]))


@register_metric(
    MetricInfo(
        id="cc@cddfuse",
        name="CC (CDDFuse)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="cddfuse_CC",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.CC"),
        n_sources=_N,
        ideal=1.0,
        notes="Same as cc, float32 arithmetic.",
    )
)
def cc_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """CDDFuse's CC (float32)."""
    srcs, f = check_inputs(sources, fused, metric="CC@cddfuse")
    f32 = f.astype(np.float32)
    vals = [np.float32(pearson(s.astype(np.float32), f32)) for s in srcs]
    return float(np.float32(sum(vals[1:], vals[0])) / np.float32(len(vals)))
