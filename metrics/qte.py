"""Qte ("TE"): Nava's Tsallis-entropy mutual information metric, as in Liu's toolbox.

Re-implemented (no code copied) from zhengliu6699/imageFusionMetrics ``metricMI.m`` (switch 3),
``tsallis.m``, ``mutual_info.m`` and ``normalize1.m`` @ d6f7f1a (``Qte_liu_sw3``; Liu's ``fusionAssess``
and SESF-Fuse label it "Qte"/"TE"). After ``normalize1`` (q = 0.43137):
``Qte = (T(A,F) + T(B,F)) / (H(A)**q + H(B)**q + T(A,B))`` with H in bits and the Tsallis term
``T(X,Y) = (1 - sum_ij p(i,j)**q / (m1(i) m2(j))**(q-1)) / (1 - q)``.

Quirk kept: in ``tsallis.m`` the marginal multiplying row i of the joint histogram (X's level i) is the
*column* marginal (Y's distribution) at i, and vice versa (``sum(h)`` vs ``sum(h')``); terms with a zero
marginal product are skipped. Defined for two sources only (the denominator's T(A,B) term has no
agreed N-source form). Reference: R. Nava, G. Cristobal, B. Escalante-Ramirez, SPIE Newsroom 2007,
doi:10.1117/2.1200703.0614. Licence: see :mod:`metrics._provenance`.
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

Q_NAVA = 0.43137


def tsallis(xi: np.ndarray, yi: np.ndarray, q: float = Q_NAVA) -> float:
    """Liu's ``tsallis.m`` on bin indices, including its swapped-marginal quirk."""
    h = joint_histogram(xi, yi)
    h = h / h.sum()
    m1 = h.sum(axis=0)  # MATLAB sum(h): column sums = distribution of y, indexed by the row level
    m2 = h.sum(axis=1)  # MATLAB sum(h'): row sums = distribution of x, indexed by the column level
    buff = np.outer(m1, m2)
    nz = buff != 0
    result = np.sum(h[nz] ** q / buff[nz] ** (q - 1))
    return float((1.0 - result) / (1.0 - q))


def _source_terms_compute(a: np.ndarray, b: np.ndarray, q: float = Q_NAVA) -> tuple[float, float, float]:
    """``(I_q(A, B), H(A), H(B))``: the part of :func:`qte_value` that depends on the sources only."""
    ai, bi = (grey_levels(normalize1(x)) for x in (a, b))
    h_a, h_b, _ = hist_entropies(joint_histogram(ai, bi))
    return tsallis(ai, bi, q), h_a, h_b


_source_terms = source_memo(_source_terms_compute, maxsize=4)


def qte_value(a: np.ndarray, b: np.ndarray, f: np.ndarray, q: float = Q_NAVA) -> float:
    """Nava's Qte of two sources and the fused image (``metricMI(A,B,F,3)``)."""
    ai, bi, fi = (grey_levels(normalize1(x)) for x in (a, b, f))
    if ai is None or bi is None or fi is None:
        return math.nan
    i_fx = tsallis(ai, fi, q)
    i_fy = tsallis(bi, fi, q)
    if q == Q_NAVA and _frozen_owner(a) and _frozen_owner(b):  # the sources' terms: once per scene
        i_xy, h_a, h_b = _source_terms(a, b)
    else:
        i_xy, h_a, h_b = _source_terms_compute(a, b, q)
    # An entropy is >= 0, but a constant image's comes out as about -3e-16 when its marginal sums to
    # 1 + 2 ulp; a negative base to the power q is complex (Python; MATLAB: a complex Qte): taken as 0.
    h_a, h_b = max(h_a, 0.0), max(h_b, 0.0)
    return float(np.float64(i_fx + i_fy) / np.float64(h_b**q + h_a**q + i_xy))  # 0/0 -> NaN


@register_metric(
    MetricInfo(
        id="qte",
        name="Qte (Tsallis MI)",
        higher_is_better=True,
        range=(None, None),
        reference_id="Qte_liu_sw3",
        reference_impl=impl(LIU, "metricMI.m", "metricMI(A,B,F,3)"),
        n_sources="2",
        max_sources=2,
        version="2",  # 2: a constant source's entropy (-3e-16 by rounding) counts as 0, not an error
        notes="q = 0.43137; normalize1 first; tsallis.m's swapped marginals reproduced.",
    )
)
def qte(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Nava's Tsallis-entropy metric as Liu's toolbox computes it (two sources)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="Qte")
    with np.errstate(invalid="ignore", divide="ignore"):
        return qte_value(a, b, f)
