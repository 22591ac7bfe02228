"""Qncie: nonlinear correlation information entropy (Wang et al.), as in Liu's toolbox.

Re-implemented (no code copied) from zhengliu6699/imageFusionMetrics ``metricWang.m``, ``NCC.m`` and
``normalize1.m`` @ d6f7f1a (``Qncie_liu``). After ``normalize1``, the nonlinear correlation coefficient of
each image pair is ``NCC = (H(X) + H(Y) - H(X,Y)) / log2(b)`` (256x256 joint histogram, b = 256). The
K x K matrix R (ones on the diagonal, NCCs off it) has eigenvalues l_i;
``H_R = -sum (l_i/K) log_b(l_i/K)`` and ``Qncie = 1 - H_R``.

N sources: K = N + 1 (all sources and the fused image), the natural generalisation of K = 3.
A (numerically) zero or slightly negative eigenvalue, which makes MATLAB's value complex, contributes
the real part of ``l log(l)`` (i.e. ``|l| log|l|``, 0 for l = 0). A constant (non-zero) image gives NaN
(``normalize1``). Reference: Q. Wang, Y. Shen, J. Jin, in Image Fusion: Algorithms and Applications
(T. Stathaki, ed.), Academic Press 2008, ch. 19, doi:10.1016/B978-0-12-372529-5.00017-2.
Licence: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._infotheory import grey_levels, hist_entropies, joint_histogram
from metrics._matlab import normalize1
from metrics._memo import _frozen_owner, source_memo
from metrics._provenance import LIU, impl

_B = 256


def ncc(xi: np.ndarray, yi: np.ndarray) -> float:
    """Liu's ``NCC.m``: ``(H(X) + H(Y) - H(X,Y)) / log2(256)`` from bin indices."""
    hx, hy, hxy = hist_entropies(joint_histogram(xi, yi))
    lb = math.log2(_B)
    return hx / lb + hy / lb - hxy / lb


def _source_ncc_compute(x: np.ndarray, y: np.ndarray) -> float:
    """:func:`ncc` of two images' ``normalize1`` levels (both defined)."""
    return ncc(grey_levels(normalize1(x)), grey_levels(normalize1(y)))


# the sources' pairs do not depend on the fused image: once per scene (frozen inputs)
_source_ncc = source_memo(_source_ncc_compute, maxsize=8)


def qncie_value(images: Sequence[np.ndarray]) -> float:
    """Qncie of the images (sources then fused), each ``normalize1``-ed."""
    levels = [grey_levels(normalize1(x)) for x in images]
    if any(lv is None for lv in levels):
        return math.nan
    k = len(levels)
    r = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            if j < k - 1 and _frozen_owner(images[i]) and _frozen_owner(images[j]):  # two sources
                r[i, j] = r[j, i] = _source_ncc(images[i], images[j])
            else:
                r[i, j] = r[j, i] = ncc(levels[i], levels[j])
    lam = np.linalg.eigvalsh(r) / k
    lam = np.abs(lam[lam != 0])
    hr = -np.sum(lam * np.log2(lam)) / math.log2(_B)
    return float(1.0 - hr)


@register_metric(
    MetricInfo(
        id="qncie",
        name="Qncie",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qncie_liu",
        reference_impl=impl(LIU, "metricWang.m", "metricWang(A,B,F)"),
        n_sources="any N >= 1: K = N + 1 images in the correlation matrix",
        notes="normalize1 first; 256x256 joint histograms, log base 256. No fixed ideal: identical "
        "images give NCC = H/8 bits, so 1 only for a flat 256-level histogram.",
    )
)
def qncie(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Nonlinear correlation information entropy metric."""
    srcs, f = check_inputs(sources, fused, metric="Qncie")
    with np.errstate(invalid="ignore", divide="ignore"):
        return qncie_value([*srcs, f])
