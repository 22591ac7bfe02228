"""SF: spatial frequency of the fused image.

Re-implemented from the definitions (no code copied) of:

* ``sf``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/SF_evaluation.m`` @ 0e87153:
  ``sqrt(mean(dx**2) + mean(dy**2))``, each mean over its own M*(N-1) / (M-1)*N differences (``SF_tang``);
* ``sf@vifb``     -- xingchenzhang/VIFB ``metrics/metricsSpatial_frequency.m`` @ 22b2ea9: both sums divided
  by M*N (slightly smaller; ``SF_vifb``);
* ``sf@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.SF`` @ fd8da1f: Tang's
  formula in float32 (``cddfuse_SF``).

Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._provenance import CDDFUSE, TANG, VIFB, impl

_N = "any (uses only the fused image; sources are only shape-checked)"


def spatial_frequency(img: np.ndarray, *, per_pixel: bool = False) -> float:
    """Spatial frequency of ``img``.

    Parameters
    ----------
    img : ndarray
        2-D image.
    per_pixel : bool
        ``False`` (Tang): ``sqrt(mean(dx**2) + mean(dy**2))``; ``True`` (VIFB): both sums of squared
        differences divided by the number of pixels M*N.

    Examples
    --------
    >>> spatial_frequency(np.array([[0.0, 1.0], [0.0, 1.0]]))
    1.0
    """
    x = np.asarray(img)
    dx = x[:, 1:] - x[:, :-1]
    dy = x[1:, :] - x[:-1, :]
    if per_pixel:
        return float(np.sqrt(np.sum(dx * dx) / x.size + np.sum(dy * dy) / x.size))
    return float(np.sqrt(np.mean(dx * dx) + np.mean(dy * dy)))


def _info(id_, name, ref, impl_, notes):
    return MetricInfo(
        id=id_,
        name=name,
        higher_is_better=True,
        range=(0.0, None),
        reference_id=ref,
        reference_impl=impl_,
        n_sources=_N,
        notes=notes,
    )


@register_metric(
    _info(
        "sf",
        "SF",
        "SF_tang",
        impl(TANG, "Evaluation/SF_evaluation.m"),
        "Means over the M*(N-1) horizontal and (M-1)*N vertical differences.",
    )
)
def sf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SF of the fused image (Tang)."""
    return spatial_frequency(check_inputs(sources, fused, metric="SF")[1])


@register_metric(
    _info(
        "sf@vifb",
        "SF (VIFB)",
        "SF_vifb",
        impl(VIFB, "metrics/metricsSpatial_frequency.m"),
        "Sums of squared differences divided by M*N (0.1-0.4% below sf).",
    )
)
def sf_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SF of the fused image (VIFB normalisation)."""
    return spatial_frequency(check_inputs(sources, fused, metric="SF@vifb")[1], per_pixel=True)


@register_metric(
    _info(
        "sf@cddfuse",
        "SF (CDDFuse)",
        "cddfuse_SF",
        impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.SF"),
        "Tang's formula evaluated in float32.",
    )
)
def sf_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """SF as CDDFuse's evaluator computes it (float32)."""
    f = check_inputs(sources, fused, metric="SF@cddfuse")[1].astype(np.float32)
    return spatial_frequency(f)
