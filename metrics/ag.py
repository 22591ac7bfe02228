"""AG: average gradient of the fused image.

Re-implemented from the definitions (no code copied) of:

* ``ag``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/AG_evaluation.m`` @ 0e87153:
  MATLAB ``gradient`` in x and y (central differences inside, one-sided at the borders),
  ``sum(sqrt((gx**2 + gy**2)/2)) / ((M-1)*(N-1))`` (``AG_tang``);
* ``ag@vifb``     -- xingchenzhang/VIFB ``metrics/metricsAvg_gradient.m`` @ 22b2ea9: the same code
  (``AG_vifb``);
* ``ag@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.AG`` @ fd8da1f: the
  same gradients in float32 but divided by M*N (``cddfuse_AG``; 0.4 % smaller at 520x520).

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


def matlab_gradient_x(img: np.ndarray) -> np.ndarray:
    """The ``gx`` of :func:`matlab_gradient` alone (MATLAB ``gradient(X)`` with one output)."""
    x = np.asarray(img)
    gx = np.zeros_like(x)
    if x.shape[1] > 1:
        gx[:, 0] = x[:, 1] - x[:, 0]
        gx[:, -1] = x[:, -1] - x[:, -2]
        gx[:, 1:-1] = (x[:, 2:] - x[:, :-2]) / 2
    return gx


def matlab_gradient(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``[gx, gy] = gradient(X)``: central differences inside, one-sided at the borders.

    ``gx`` is the derivative along columns (x), ``gy`` along rows (y). A side of length 1 gives a zero
    derivative along it (as MATLAB).
    """
    x = np.asarray(img)
    gx = matlab_gradient_x(x)
    gy = np.zeros_like(x)
    if x.shape[0] > 1:
        gy[0, :] = x[1, :] - x[0, :]
        gy[-1, :] = x[-1, :] - x[-2, :]
        gy[1:-1, :] = (x[2:, :] - x[:-2, :]) / 2
    return gx, gy


def average_gradient(img: np.ndarray, *, per_pixel: bool = False) -> float:
    """Average gradient ``sum(sqrt((gx**2 + gy**2)/2))`` divided by ``(M-1)(N-1)`` (or ``M*N``).

    Examples
    --------
    >>> average_gradient(np.array([[0.0, 2.0], [0.0, 2.0]]))  # gx = 2 everywhere, gy = 0
    5.656854249492381
    """
    gx, gy = matlab_gradient(img)
    g = np.sqrt((gx**2 + gy**2) / 2)
    m, n = g.shape
    if per_pixel:
        return float(np.mean(g))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(g) / ((m - 1) * (n - 1)))


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
        "ag",
        "AG",
        "AG_tang",
        impl(TANG, "Evaluation/AG_evaluation.m"),
        "Sum of sqrt((gx^2+gy^2)/2) divided by (M-1)(N-1); MATLAB gradient.",
    )
)
def ag(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """AG of the fused image (Tang)."""
    return average_gradient(check_inputs(sources, fused, metric="AG")[1])


@register_metric(
    _info("ag@vifb", "AG (VIFB)", "AG_vifb", impl(VIFB, "metrics/metricsAvg_gradient.m"), "Same code as ag.")
)
def ag_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """AG of the fused image (VIFB)."""
    return average_gradient(check_inputs(sources, fused, metric="AG@vifb")[1])


@register_metric(
    _info(
        "ag@cddfuse",
        "AG (CDDFuse)",
        "cddfuse_AG",
        impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.AG"),
        "Same gradients in float32, divided by M*N instead of (M-1)(N-1).",
    )
)
def ag_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """AG as CDDFuse's evaluator computes it (float32, mean over all pixels)."""
    f = check_inputs(sources, fused, metric="AG@cddfuse")[1].astype(np.float32)
    return average_gradient(f, per_pixel=True)
