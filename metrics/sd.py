"""SD: standard deviation of the fused image (contrast).

Re-implemented from the definitions (no code copied) of:

* ``sd``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/SD_evaluation.m`` @ 0e87153
  (population SD, divide by M*N; reference id ``SD_tang``);
* ``sd@vifb``     -- xingchenzhang/VIFB ``metrics/metricsVariance.m`` @ 22b2ea9 (returns the same
  population SD despite its name; ``SD_vifb``);
* ``sd@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.SD`` @ fd8da1f
  (``np.std`` of the float32 image, float32 arithmetic; ``cddfuse_SD``).

SESF-Fuse's Python "SD" (square root of the *sum* of squared deviations) is a different quantity and
is not provided. Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._provenance import CDDFUSE, TANG, VIFB, impl

_N = "any (uses only the fused image; sources are only shape-checked)"


def std_population(img: np.ndarray) -> float:
    """Population standard deviation ``sqrt(mean((F - mean(F))**2))`` in float64.

    Examples
    --------
    >>> std_population(np.array([[0.0, 2.0], [0.0, 2.0]]))
    1.0
    """
    x = np.asarray(img, dtype=np.float64)
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)))


def _info(id_, name, ref, impl_, notes):
    return MetricInfo(
        id=id_,
        name=name,
        higher_is_better=True,
        range=(0.0, 127.5),
        reference_id=ref,
        reference_impl=impl_,
        n_sources=_N,
        notes=notes,
    )


@register_metric(
    _info(
        "sd",
        "SD",
        "SD_tang",
        impl(TANG, "Evaluation/SD_evaluation.m"),
        "Population SD (divide by M*N) of F on the 0..255 scale.",
    )
)
def sd(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SD of the fused image (Tang)."""
    return std_population(check_inputs(sources, fused, metric="SD")[1])


@register_metric(
    _info(
        "sd@vifb",
        "SD (VIFB)",
        "SD_vifb",
        impl(VIFB, "metrics/metricsVariance.m"),
        "Same definition as sd (VIFB's metricsVariance returns the SD).",
    )
)
def sd_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SD of the fused image (VIFB)."""
    return std_population(check_inputs(sources, fused, metric="SD@vifb")[1])


@register_metric(
    _info(
        "sd@cddfuse",
        "SD (CDDFuse)",
        "cddfuse_SD",
        impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.SD"),
        "np.std of the float32 image (float32 accumulation); ~1e-8 relative from sd.",
    )
)
def sd_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SD as CDDFuse's evaluator computes it (float32)."""
    f = check_inputs(sources, fused, metric="SD@cddfuse")[1].astype(np.float32)
    return float(np.std(f))
