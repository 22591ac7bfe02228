"""Score one fused image with a list of metrics under a protocol; failures become NaN + message."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.protocols import prepare
from bench.registry import get_metric

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Score:
    metric: str
    value: float
    status: str  # "ok" or "error"
    message: str = ""


def score_one(metric_id: str, sources, fused, reference=None, *, decision_map=None, focus_maps=None) -> Score:
    """Compute one metric on protocol-prepared arrays; never raises, never turns an error into 0.

    ``decision_map`` and ``focus_maps`` (float arrays in [0, 1], not protocol-prepared) go to metrics with
    ``MetricInfo.needs_decision_map`` only.
    """
    metric = get_metric(metric_id)
    if metric.info.needs_reference and reference is None and not metric.info.needs_decision_map:
        return Score(metric_id, math.nan, "error", "needs a ground-truth reference and none was given")
    extra = {}
    if metric.info.needs_decision_map:
        if decision_map is None or focus_maps is None:
            return Score(metric_id, math.nan, "error", "needs a decision map and ground-truth focus maps")
        extra = {"decision_map": decision_map, "focus_maps": focus_maps}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = metric.call(sources, fused, reference, **extra)
    except Exception as exc:  # a failing metric is an error row, the run goes on
        from bench.errors import one_line

        return Score(metric_id, math.nan, "error", one_line(exc))
    return Score(metric_id, value, "ok", "" if math.isfinite(value) else "metric returned NaN")


def score_images(
    sources: Sequence[np.ndarray],
    fused: np.ndarray,
    metric_ids: Sequence[str],
    *,
    protocol: str = "standard",
    reference: np.ndarray | None = None,
) -> list[Score]:
    """Score ``fused`` (float32 [0, 1]) against ``sources`` with every metric in ``metric_ids``."""
    prepped = prepare([*sources, fused] + ([reference] if reference is not None else []), protocol)
    src = prepped[: len(sources)]
    fus = prepped[len(sources)]
    ref = prepped[len(sources) + 1] if reference is not None else None
    return [score_one(m, src, fus, ref) for m in metric_ids]
