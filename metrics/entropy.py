"""EN: Shannon entropy (bits) of the fused image's 256-bin grey-level histogram.

Ported (re-implemented from the definition, no code copied) from:

* ``en``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_Reference.m`` @ 0e87153
  (MATLAB ``entropy(uint8(F))``; reference id ``EN_tang``);
* ``en@vifb``     -- xingchenzhang/VIFB ``metrics/metricsEntropy.m`` @ 22b2ea9 (bin = ``floor`` of the
  double value; ``EN_vifb``);
* ``en@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.EN`` @ fd8da1f
  (``np.uint8(np.round(F))``, NumPy half-to-even rounding; ``cddfuse_EN``).

All three agree on 8-bit input (the ``standard`` protocol); they differ only in how non-integer values
are binned. Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._infotheory import entropy_bits
from metrics._matlab import matlab_round
from metrics._provenance import CDDFUSE, TANG, VIFB, impl

_N = "any (uses only the fused image; sources are only shape-checked)"


def entropy(levels: np.ndarray) -> float:
    """Shannon entropy in bits of the 256-bin histogram of integer grey levels ``0..255``.

    Parameters
    ----------
    levels : ndarray
        Integer-valued grey levels (any shape); values are clipped to 0..255.

    Returns
    -------
    float
        ``-sum p log2 p`` over the non-empty bins, in [0, 8].

    Examples
    --------
    >>> entropy(np.array([[0, 255], [0, 255]]))
    1.0
    """
    idx = np.clip(np.asarray(levels, dtype=np.float64), 0, 255).astype(np.intp).ravel()
    return entropy_bits(np.bincount(idx, minlength=256) / idx.size)


def _check(sources, fused, name):
    return check_inputs(sources, fused, metric=name)[1]


@register_metric(
    MetricInfo(
        id="en",
        name="EN",
        higher_is_better=True,
        range=(0.0, 8.0),
        reference_id="EN_tang",
        reference_impl=impl(TANG, "Evaluation/analysis_Reference.m", "entropy(uint8(F))"),
        n_sources=_N,
        notes="MATLAB entropy() on uint8(F): values rounded half away from zero and saturated to 0..255.",
    )
)
def en(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """EN of the fused image (Tang): entropy of ``uint8(F)`` (MATLAB rounding and saturation)."""
    return entropy(matlab_round(_check(sources, fused, "EN")))


@register_metric(
    MetricInfo(
        id="en@vifb",
        name="EN (VIFB)",
        higher_is_better=True,
        range=(0.0, 8.0),
        reference_id="EN_vifb",
        reference_impl=impl(VIFB, "metrics/metricsEntropy.m"),
        n_sources=_N,
        notes="Bin index floor(F); identical to en on 8-bit input.",
    )
)
def en_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """EN as VIFB computes it: histogram of ``floor(F)``."""
    return entropy(np.floor(_check(sources, fused, "EN@vifb")))


@register_metric(
    MetricInfo(
        id="en@cddfuse",
        name="EN (CDDFuse)",
        higher_is_better=True,
        range=(0.0, 8.0),
        reference_id="cddfuse_EN",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.EN"),
        n_sources=_N,
        notes="np.uint8(np.round(F)): half-to-even rounding; identical to en on 8-bit input.",
    )
)
def en_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """EN as CDDFuse's Python evaluator computes it (float32 input, ``np.round``)."""
    f = _check(sources, fused, "EN@cddfuse").astype(np.float32)
    return entropy(np.round(f))
