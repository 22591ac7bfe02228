"""VIF: Sheikh & Bovik's pixel-domain visual information fidelity, as infrared-visible fusion papers use it.

Re-implemented in NumPy (no code copied) from the LIVE ``vifp_mscale.m`` ((c) 2005 The University of Texas at
Austin; use/modify/distribute with notice) as shipped in Linfeng-Tang/Evaluation-for-Image-Fusion @
0e87153be77320e31ef2cabb5820518d2ac56bac, ``Evaluation/vifp_mscale.m``; the statistics are in
``metrics/_vif_stats.py``. CDDFuse's Python port (Zhaozixiang1228/MMIF-CDDFuse @
fd8da1f39d8d403b7343e577bd5a30cba38c7b7b ``utils/Evaluator.py`` ``Evaluator.VIFF``, no licence file) is the
same sum with a per-source NaN replaced by 1 -> ``viff@cddfuse`` in ``metrics/viff.py``.

VIF(R, D) = sum over scales and pixels of log10(1 + g^2 s1^2 / (sv^2 + 2)) / sum of log10(1 + s1^2 / 2)
(visual noise sigma_n^2 = 2). Fusion value ``vif`` = sum over sources of VIF(S_i, F) (Tang, SeAFusion,
CDDFuse "VIFF"); ``vif@af``/``vif@bf`` are the per-source terms. Scale dependent: inputs are 0..255.

References
----------
H. R. Sheikh, A. C. Bovik, "Image information and visual quality", IEEE TIP 15(2):430-444, 2006.
doi:10.1109/TIP.2005.859378
"""

from __future__ import annotations

import numpy as np

from bench.types import MetricInfo
from metrics._memo import _frozen_owner, memoize_images, source_memo
from metrics._variants import register_family
from metrics._vif_stats import ref_variances, vif_scale_stats

_SIGMA_NSQ = 2.0
_IMPL = (
    "Linfeng-Tang/Evaluation-for-Image-Fusion @ 0e87153be77320e31ef2cabb5820518d2ac56bac, "
    "Evaluation/vifp_mscale.m"
)


@memoize_images
def vifp_mscale(ref: np.ndarray, dist: np.ndarray) -> float:
    """Sheikh-Bovik multi-scale pixel-domain VIF of ``dist`` against ``ref`` (order matters).

    NaN when the reference carries no information (denominator 0, e.g. a constant reference).

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.arange(64 * 64).reshape(64, 64) * 7 % 256).astype(float)
    >>> round(vifp_mscale(a, a), 9)
    1.0
    """
    num = 0.0
    den = 0.0
    stats = vif_scale_stats(ref, dist)
    if _frozen_owner(ref) and _frozen_owner(dist):  # the denominator is the reference's alone: per scene
        for g, s1, sv in stats:
            num += float(np.sum(np.log10(1 + g * g * s1 / (sv + _SIGMA_NSQ))))
        den = _reference_information(ref)
        return num / den if den != 0 else float("nan")
    for g, s1, sv in stats:
        num += float(np.sum(np.log10(1 + g * g * s1 / (sv + _SIGMA_NSQ))))
        den += float(np.sum(np.log10(1 + s1 / _SIGMA_NSQ)))
    return num / den if den != 0 else float("nan")


def _reference_information_compute(ref: np.ndarray) -> float:
    """VIF's denominator ``sum_scales sum log10(1 + sigma1^2 / sigma_n^2)`` (the same sums, same order)."""
    den = 0.0
    for s1 in ref_variances(ref):
        den += float(np.sum(np.log10(1 + s1 / _SIGMA_NSQ)))
    return den


_reference_information = source_memo(_reference_information_compute, maxsize=8)


_NOTES = (
    "Sheikh-Bovik pixel-domain VIF (vifp_mscale: 4 scales, Gaussian windows 17/9/5/3 with sigma N/5, "
    "sigma_n^2 = 2), reference = source, distorted = fused. Not Han's VIFF (that is `viff`). "
    "NaN if a source is constant (0/0)."
)


register_family(
    MetricInfo(
        id="vif",
        cost=5.0,
        ideal=2.0,
        name="VIF",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="VIF_sheikh_sum",
        reference_impl=_IMPL + " (vifp_mscale(A,F)+vifp_mscale(B,F))",
        n_sources="any: sum over sources of VIF(S_i, F)",
        version="1",
        notes=_NOTES + " Summed over sources as in IVIF papers (2 sources: typically 0.6-1.5).",
    ),
    vifp_mscale,
    combine="sum",
    variants={
        "af": dict(
            ideal=1.0,
            reference_id="VIF_sheikh_AF",
            reference_impl=_IMPL + " (vifp_mscale(A,F))",
            notes=_NOTES,
        ),
        "bf": dict(
            ideal=1.0,
            reference_id="VIF_sheikh_BF",
            reference_impl=_IMPL + " (vifp_mscale(B,F))",
            notes=_NOTES,
        ),
    },
)
