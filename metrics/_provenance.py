"""Reference implementations (repository @ commit) of the metric lineages ported in this package.

Commits are those recorded in ``shared/reference/metrics_reference.json`` (``metrics.<id>.source``),
i.e. the code that produced the reference values our tests reproduce.
"""

from __future__ import annotations

TANG = ("Linfeng-Tang/Evaluation-for-Image-Fusion", "0e87153be77320e31ef2cabb5820518d2ac56bac")
VIFB = ("xingchenzhang/VIFB", "22b2ea9d91499cc5962d9bdcae9c290270f0fade")
LIU = ("zhengliu6699/imageFusionMetrics", "d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273")
CDDFUSE = ("Zhaozixiang1228/MMIF-CDDFuse", "fd8da1f39d8d403b7343e577bd5a30cba38c7b7b")

#: What we know of each lineage's licence (checked in the public code index, 2026-11). Nothing is copied:
#: every metric is re-implemented from the published definition and the reference code's behaviour.
LICENCES = {
    TANG[0]: "no licence file found in the repository",
    VIFB[0]: "no licence file found in the repository (metric files: 'source code is from the Internet')",
    LIU[0]: "no licence file found in the repository (Liu et al., TPAMI 2012 toolbox)",
    CDDFUSE[0]: "no licence file found in the repository",
    "mhaghighat/fmi": "LICENSE.md holds only '(C) Mohammad Haghighat, University of Miami'",
}


def impl(lineage: tuple[str, str], path: str, function: str = "") -> str:
    """Format ``repo/path @ commit [function]`` for ``MetricInfo.reference_impl``."""
    repo, commit = lineage
    extra = f" ({function})" if function else ""
    return f"{repo}/{path} @ {commit}{extra}"

#: Yu Liu et al. 2020 survey: Zheng Liu's toolbox with the survey authors' fixes (Oct 2019), in
#: ``evaluation/objective_metrics/``; per-image values in ``evaluation/Q_{color,grayscale}.mat``.
YULIU2020 = ("yuliu316316/MFIF", "267c081b8f3dd29cc62284463ca1cd16dc9b352a")
LICENCES[YULIU2020[0]] = "no licence file found in the repository"
