"""EN: Shannon entropy (bits) of the fused image's 256-bin grey-level histogram.

Reference: Tang's ``Evaluation-for-Image-Fusion`` (MATLAB ``entropy`` on uint8), VIFB ``metricsEntropy``.
All agree on 8-bit input; under the ``standard`` protocol the fused image is 0..255 integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo


def entropy(img: np.ndarray) -> float:
    """-sum p log2 p over the non-empty bins of the 256-bin histogram of ``img`` (values 0..255)."""
    idx = np.clip(np.floor(np.asarray(img, dtype=np.float64) + 0.0), 0, 255).astype(np.intp).ravel()
    p = np.bincount(idx, minlength=256) / idx.size
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


@register_metric(
    MetricInfo(
        id="en",
        name="EN",
        higher_is_better=True,
        range=(0.0, 8.0),
        reference_id="EN_tang",
        reference_impl="Linfeng-Tang/Evaluation-for-Image-Fusion, MATLAB entropy()",
        n_sources="any (uses only the fused image)",
    )
)
def en(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    return entropy(fused)
