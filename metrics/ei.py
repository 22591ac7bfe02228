"""EI: edge intensity of the fused image, as in VIFB.

Re-implemented (no code copied) from xingchenzhang/VIFB ``metrics/metricsEdge_intensity.m`` @ 22b2ea9
(``EI_vifb``): Sobel responses ``imfilter(F, fspecial('sobel'), 'replicate')`` and with the transposed
kernel (correlation, edge replication, kernel *not* divided by 8), EI = mean of ``sqrt(gx**2 + gy**2)``.
Reference: B. Rajalingam, R. Priya, IJESI 2018. Licence: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._matlab import correlate
from metrics._provenance import VIFB, impl

_SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # MATLAB fspecial('sobel')


def edge_intensity(img: np.ndarray) -> float:
    """Mean Sobel gradient magnitude, MATLAB ``imfilter(..., 'replicate')`` semantics.

    Examples
    --------
    >>> edge_intensity(np.zeros((4, 4)))
    0.0
    """
    x = np.asarray(img, dtype=np.float64)
    gx = correlate(x, _SOBEL, "nearest")
    gy = correlate(x, _SOBEL.T, "nearest")
    return float(np.mean(np.sqrt(gx * gx + gy * gy)))


@register_metric(
    MetricInfo(
        id="ei",
        name="EI",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="EI_vifb",
        reference_impl=impl(VIFB, "metrics/metricsEdge_intensity.m"),
        n_sources="any (uses only the fused image; sources are only shape-checked)",
        notes="Sobel (not /8) with replicate padding; mean gradient magnitude on the 0..255 scale.",
    )
)
def ei(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Edge intensity of the fused image (VIFB)."""
    return edge_intensity(check_inputs(sources, fused, metric="EI")[1])
