"""SCD: sum of the correlations of differences (Aslantas & Bendes 2015).

``SCD = r(F - B, A) + r(F - A, B)`` with ``r`` = MATLAB ``corr2`` (Pearson). Re-implemented from:

* ``scd``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_SCD.m`` @ 0e87153
  (``SCD_tang``);
* ``scd@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.SCD`` @ fd8da1f
  (float32; ``cddfuse_SCD``).

Defined for two sources only. NaN when F equals a source (a zero-variance difference image), as in the
references. Reference: V. Aslantas, E. Bendes, AEU Int. J. Electron. Commun. 69 (2015) 1890-1896,
doi:10.1016/j.aeue.2015.09.004. Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._provenance import CDDFUSE, TANG, impl
from metrics.cc import pearson


def scd_pair(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """``r(F - B, A) + r(F - A, B)`` in the inputs' dtype."""
    return pearson(f - b, a) + pearson(f - a, b)


@register_metric(
    MetricInfo(
        id="scd",
        name="SCD",
        higher_is_better=True,
        range=(-2.0, 2.0),
        reference_id="SCD_tang",
        reference_impl=impl(TANG, "Evaluation/analysis_SCD.m"),
        n_sources="2",
        max_sources=2,
        notes="Two sources only. NaN when F equals a source (as the reference).",
    )
)
def scd(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Sum of the correlations of differences (Tang)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="SCD")
    return scd_pair(a, b, f)


@register_metric(
    MetricInfo(
        id="scd@cddfuse",
        name="SCD (CDDFuse)",
        higher_is_better=True,
        range=(-2.0, 2.0),
        reference_id="cddfuse_SCD",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.SCD"),
        n_sources="2",
        max_sources=2,
        notes="Same as scd, float32 arithmetic.",
    )
)
def scd_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """CDDFuse's SCD (float32)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="SCD@cddfuse")
    a, b, f = (x.astype(np.float32) for x in (a, b, f))
    return float(np.float32(pearson(a, f - b)) + np.float32(pearson(b, f - a)))
