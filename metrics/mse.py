"""MSE / RMSE between the sources (or a ground truth) and the fused image.

Re-implemented from the definitions (no code copied):

* ``mse``          -- plain MSE on the 0..255 scale, averaged over sources (no published reference value;
  equals ``mse@tang * 255**2``, checked in the tests);
* ``mse@tang``     -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/MSE_evaluation.m`` @ 0e87153:
  the same on data divided by 255 (``MSE_tang_unitrange``);
* ``rmse@vifb``    -- xingchenzhang/VIFB ``metrics/metricsRmse.m`` @ 22b2ea9: mean over sources of its "mse"
  helper ``sqrt(sum((X - F)**2)) / (M*N)`` (not a root mean square; shrinks with image size;
  ``RMSE_vifb``);
* ``mse@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.MSE`` @ fd8da1f:
  plain MSE in float32 (``cddfuse_MSE``);
* ``mse_gt``       -- MSE against the all-in-focus ground truth (0..255 scale; needs ``reference=``).

N sources: every variant averages its per-source value over all sources.
Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import as_reference, check_inputs
from metrics._provenance import CDDFUSE, TANG, VIFB, impl

_N = "any N >= 1: mean of the per-source values"


def mse_pair(x: np.ndarray, f: np.ndarray) -> float:
    """Mean squared error ``mean((x - f)**2)`` (same scale as the inputs).

    Examples
    --------
    >>> mse_pair(np.array([[0.0, 2.0]]), np.array([[1.0, 1.0]]))
    1.0
    """
    d = np.asarray(x) - np.asarray(f)
    return float(np.mean(d * d))


def mse_sources(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Mean over sources of ``mse_pair(source, fused)``."""
    return float(np.mean([mse_pair(s, fused) for s in sources]))


def vifb_mse_helper(x: np.ndarray, f: np.ndarray) -> float:
    """VIFB's "mse" helper: ``sqrt(sum((x - f)**2)) / (M*N)`` (an RMS-like quantity, size dependent)."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(f, dtype=np.float64)
    return float(np.sqrt(np.sum(d * d)) / d.size)


@register_metric(
    MetricInfo(
        id="mse",
        name="MSE",
        higher_is_better=False,
        range=(0.0, 65025.0),
        reference_id="",
        reference_impl="definition; equals Tang's MSE_evaluation.m times 255^2 "
        + impl(TANG, "Evaluation/MSE_evaluation.m"),
        n_sources=_N,
        ideal=0.0,
        notes="Mean over sources of mean((X-F)^2) on the 0..255 scale.",
    )
)
def mse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """MSE on the 0..255 scale, averaged over sources."""
    srcs, f = check_inputs(sources, fused, metric="MSE")
    return mse_sources(srcs, f)


@register_metric(
    MetricInfo(
        id="mse@tang",
        name="MSE (Tang, [0,1] scale)",
        higher_is_better=False,
        range=(0.0, 1.0),
        reference_id="MSE_tang_unitrange",
        reference_impl=impl(TANG, "Evaluation/MSE_evaluation.m"),
        n_sources=_N,
        ideal=0.0,
        notes="Images divided by 255 first: mse / 255^2.",
    )
)
def mse_tang(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Tang's MSE: on data divided by 255, averaged over sources."""
    srcs, f = check_inputs(sources, fused, metric="MSE@tang")
    return mse_sources([s / 255.0 for s in srcs], f / 255.0)


@register_metric(
    MetricInfo(
        id="rmse@vifb",
        name="RMSE (VIFB)",
        higher_is_better=False,
        range=(0.0, None),
        reference_id="RMSE_vifb",
        reference_impl=impl(VIFB, "metrics/metricsRmse.m"),
        n_sources=_N,
        ideal=0.0,
        notes="Mean over sources of sqrt(sum((X-F)^2))/(M*N): not a true RMSE, depends on image size.",
    )
)
def rmse_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """VIFB's RMSE (its non-standard helper), averaged over sources."""
    srcs, f = check_inputs(sources, fused, metric="RMSE@vifb")
    return float(np.mean([vifb_mse_helper(s, f) for s in srcs]))


@register_metric(
    MetricInfo(
        id="mse@cddfuse",
        name="MSE (CDDFuse)",
        higher_is_better=False,
        range=(0.0, 65025.0),
        reference_id="cddfuse_MSE",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.MSE"),
        n_sources=_N,
        ideal=0.0,
        notes="Plain MSE on 0..255 in float32 arithmetic.",
    )
)
def mse_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """CDDFuse's MSE (float32)."""
    srcs, f = check_inputs(sources, fused, metric="MSE@cddfuse")
    f32 = f.astype(np.float32)
    vals = [np.mean((s.astype(np.float32) - f32) ** 2) for s in srcs]
    return float(np.float32(sum(vals[1:], vals[0])) / np.float32(len(vals)))


@register_metric(
    MetricInfo(
        id="mse_gt",
        name="MSE vs ground truth",
        higher_is_better=False,
        needs_reference=True,
        range=(0.0, 65025.0),
        reference_id="",
        reference_impl="definition: mean((GT-F)^2), 0..255 scale",
        n_sources="any (uses only the fused image and the reference)",
        ideal=0.0,
        notes="Full-reference: needs the all-in-focus ground truth (synthetic data).",
    )
)
def mse_gt(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """MSE between the ground truth ``reference`` and the fused image (0..255 scale)."""
    _, f = check_inputs(sources, fused, metric="MSE_gt", min_n=0)
    return mse_pair(as_reference(reference, f, "MSE_gt"), f)
