"""VIFF: Han, Cai, Cao & Xu (2013) fusion metric based on visual information fidelity (MFIFB/MEFB "VIF").

Re-implemented in NumPy (no code copied) from Yu Han's code as shipped by xingchenzhang/MEFB @
9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, ``metrics/metricsVIF.m`` ((c) 2012 Yu Han; educational and research
use with notice and citation). Per-scale statistics are Sheikh & Bovik's (``metrics/_vif_stats.py``).

Definition: for each source S and scale s (1..4) the per-pixel maps g_S, VID_S = log10(1 + g^2 s1^2/(sv^2 +
sn^2)) and VIND_S = log10(1 + s1^2/sn^2) with visual noise sn^2 = 0.005*255^2. At each pixel the source with
the smaller g is chosen (ties -> the later source, as the code keeps source B unless g_A < g_B);
F_s = sum(VID_chosen + 1e-7) / sum(VIND_chosen + 1e-7); VIFF = sum_s p_s F_s, p = [1, 0, 0.15, 1]/2.15.
N sources: the same per-pixel choice over all sources (smallest g, ties to the latest source).

``viff@cddfuse`` is CDDFuse's ``Evaluator.VIFF`` (Zhaozixiang1228/MMIF-CDDFuse @
fd8da1f39d8d403b7343e577bd5a30cba38c7b7b, ``utils/Evaluator.py``, no licence file): despite the name it is the
*Sheikh-Bovik* VIF summed over sources (our ``vif``) with a per-source NaN replaced by 1.

References
----------
Y. Han, Y. Cai, Y. Cao, X. Xu, "A new image fusion performance metric based on visual information fidelity",
Information Fusion 14(2):127-135, 2013. doi:10.1016/j.inffus.2011.08.002
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._memo import _frozen_owner, source_memo
from metrics._vif_stats import ref_variances, vif_scale_stats
from metrics.vif import vifp_mscale

_SQ = 0.005 * 255 * 255
_C = 1e-7
_P = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15


def _source_vind_compute(src: np.ndarray) -> tuple[np.ndarray, ...]:
    """``log10(1 + sigma1^2 / sigma_n^2)`` of every scale for a source (read-only)."""
    out = tuple(np.log10(1 + s1 / _SQ) for s1 in ref_variances(src))
    for a in out:
        a.setflags(write=False)
    return out


_source_vind = source_memo(_source_vind_compute, maxsize=8)


def han_viff(sources: Sequence[np.ndarray], f: np.ndarray) -> float:
    """Han's VIFF of ``f`` for N >= 2 float64 sources (0..255).

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.arange(64 * 64).reshape(64, 64) * 7 % 256).astype(float)
    >>> round(han_viff([a, a], a), 6)
    1.0
    """
    per_src = []
    for s in sources:
        scales = []
        stats = vif_scale_stats(s, f)
        # the source's own information vind depends on the source alone: per scene for frozen inputs
        vinds = _source_vind(s) if _frozen_owner(s) and _frozen_owner(f) else None
        for k, (g, s1, sv) in enumerate(stats):
            vid = np.log10(1 + g * g * s1 / (sv + _SQ))
            vind = np.log10(1 + s1 / _SQ) if vinds is None else vinds[k]
            scales.append((g, vid, vind))
        per_src.append(scales)
    out = 0.0
    for k in range(4):
        g_best, vid_best, vind_best = (a.copy() for a in per_src[-1][k])
        for scales in per_src[-2::-1]:  # earlier sources replace where strictly smaller g
            g, vid, vind = scales[k]
            take = g < g_best
            g_best[take] = g[take]
            vid_best[take] = vid[take]
            vind_best[take] = vind[take]
        fk = float(np.sum(vid_best + _C)) / float(np.sum(vind_best + _C))
        out += fk * _P[k]
    return float(out)


@register_metric(
    MetricInfo(
        id="viff",
        ideal=1.0,
        name="VIFF (Han)",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="VIFF_han",
        reference_impl="xingchenzhang/MEFB @ 9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, metrics/metricsVIF.m",
        n_sources="any >= 2: per-pixel choice of the source with the smallest gain g",
        version="1",
        notes=(
            "Han et al. 2013 as shipped by MEFB (MFIFB 'VIF', SESF 'VIFF'): visual noise 0.005*255^2, "
            "per-pixel min-g source choice, per-scale ratio of summed maps (+1e-7 per pixel), "
            "weights [1,0,0.15,1]/2.15. "
            "Roughly in [0,1]. Inputs 0..255."
        ),
    )
)
def viff(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Han's VIFF."""
    srcs, f = check_inputs(sources, fused, min_n=2, metric="viff")
    return han_viff(srcs, f)


@register_metric(
    MetricInfo(
        id="viff@cddfuse",
        name="VIFF (CDDFuse = summed Sheikh VIF)",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="cddfuse_VIFF",
        reference_impl=(
            "Zhaozixiang1228/MMIF-CDDFuse @ fd8da1f39d8d403b7343e577bd5a30cba38c7b7b, "
            "utils/Evaluator.py Evaluator.VIFF"
        ),
        n_sources="any: sum over sources",
        version="1",
        notes=(
            "CDDFuse's 'VIFF' is the Sheikh-Bovik pixel VIF summed over sources (same numbers as `vif` to "
            "~1e-12) except that a per-source NaN (constant source) counts as 1."
        ),
    )
)
def viff_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """CDDFuse's VIFF: sum over sources of Sheikh-Bovik VIF, NaN per source replaced by 1."""
    srcs, f = check_inputs(sources, fused, min_n=1, metric="viff@cddfuse")
    vals = [vifp_mscale(s, f) for s in srcs]
    return float(sum(1.0 if np.isnan(v) else v for v in vals))
