"""CE: cross entropy between the sources' and the fused image's grey-level histograms, as in VIFB.

Re-implemented (no code copied) from xingchenzhang/VIFB ``metrics/metricsCross_entropy.m`` @ 22b2ea9
(``CE_vifb``): for each source X, ``sum p_X log2(p_X / p_F)`` over the grey levels present in both
256-bin histograms; CE = mean over sources. Lower is better; 0 for identical histograms. The histogram
is indexed by the integer grey levels themselves (``X(G+1)``), so inputs must hold integers 0..255 (the
``standard`` protocol); other values raise ``ValueError``. Reference: D. M. Bulanon, T. Burks,
V. Alchanatis, Biosystems Engineering 103 (2009) 12-22, doi:10.1016/j.biosystemseng.2009.02.009.
Licence: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._infotheory import grey_levels
from metrics._provenance import VIFB, impl


def cross_entropy(x: np.ndarray, f: np.ndarray) -> float:
    """``sum p_x log2(p_x / p_f)`` over grey levels present in both images (integers 0..255).

    Examples
    --------
    >>> cross_entropy(np.array([[0, 1]]), np.array([[1, 0]]))
    0.0
    """
    px = np.bincount(grey_levels(x), minlength=256) / np.asarray(x).size
    pf = np.bincount(grey_levels(f), minlength=256) / np.asarray(x).size
    both = (px != 0) & (pf != 0)
    return float(np.sum(px[both] * np.log2(px[both] / pf[both])))


@register_metric(
    MetricInfo(
        id="ce",
        name="CE",
        higher_is_better=False,
        range=(None, None),
        reference_id="CE_vifb",
        reference_impl=impl(VIFB, "metrics/metricsCross_entropy.m"),
        n_sources="any N >= 1: mean of CE(X_k, F) over sources",
        ideal=0.0,
        notes="Levels missing from either histogram are skipped, so CE can be negative. Needs integer "
        "grey levels 0..255 (standard protocol).",
    )
)
def ce(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Cross entropy (VIFB), averaged over sources."""
    srcs, f = check_inputs(sources, fused, metric="CE")
    return float(np.mean([cross_entropy(s, f) for s in srcs]))
