"""NMI (Qmi): Hossny et al.'s normalised mutual information, as in Liu's toolbox.

Re-implemented (no code copied) from zhengliu6699/imageFusionMetrics ``metricMI.m`` (switch 1),
``mutual_info.m`` and ``normalize1.m`` @ d6f7f1a (``NMI_liu``): every image is stretched to 0..255 and
rounded (``normalize1``); with 256-bin histograms (log2)
``NMI = 2 * sum_k I(X_k; F) / (H(X_k) + H(F))``. Range [0, 2] for two sources.

N sources: the sum runs over all sources (range [0, N]); for two sources this is the published form.
A constant (non-zero) image gives NaN (``normalize1`` divides 0 by 0, as MATLAB).
Reference: M. Hossny, S. Nahavandi, D. Creighton, Electronics Letters 44 (2008) 1066-1067,
doi:10.1049/el:20081754. Licence: see :mod:`metrics._provenance`.
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
from metrics._provenance import LIU, impl


def nmi_value(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """``2 * sum_k I(X_k;F) / (H(X_k) + H(F))`` on ``normalize1``-ed images (bits)."""
    fi = grey_levels(normalize1(fused))
    if fi is None:
        return math.nan
    total = 0.0
    for s in sources:
        xi = grey_levels(normalize1(s))
        if xi is None:
            return math.nan
        hx, hf, hxf = hist_entropies(joint_histogram(xi, fi))
        total += np.float64(hx + hf - hxf) / np.float64(hf + hx)  # 0/0 -> NaN, as MATLAB
    return float(2.0 * total)


@register_metric(
    MetricInfo(
        id="nmi",
        name="NMI (Qmi)",
        higher_is_better=True,
        range=(0.0, 2.0),
        reference_id="NMI_liu",
        reference_impl=impl(LIU, "metricMI.m", "metricMI(A,B,F,1)"),
        n_sources="any N >= 1: sum over sources of 2 I(X_k;F)/(H(X_k)+H(F)) (range [0, N])",
        ideal=2.0,
        notes="normalize1 (min-max to 0..255, rounded) first; 256 bins, log2. Ideal 2 for two sources.",
    )
)
def nmi(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Normalised mutual information (Hossny) of Liu's toolbox."""
    srcs, f = check_inputs(sources, fused, metric="NMI")
    with np.errstate(invalid="ignore", divide="ignore"):
        return nmi_value(srcs, f)
