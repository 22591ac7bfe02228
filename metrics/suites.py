"""Metric suites (``@core``, ``@gt``, published protocols) and metric families, in one place.

A *suite* is a named set of metric ids, usable wherever ``--metrics`` is (``--metrics @core,@gt``);
the runner names none: :func:`bench.registry.Registry.list` expands ``@name`` through
:func:`suite_members`. A suite is either a fixed list of ids (the published protocols: each lists the
paper's metrics under our ids, and the ones we do not have under ``absent`` with the reason) or a
rule over the registry's metadata (``@gt``: every metric that needs a reference; ``@nr``: every
metric that does not).

A *family* groups the ids that compute one definition (``en``, ``en@vifb``, ``en@cddfuse``) or
monotone transforms of it (``psnr`` and ``mse``), so that a rank aggregate counts each definition
once however many variants were computed (:func:`metric_family`). ``MetricInfo.family`` wins when set;
otherwise the exceptions below, then the id before ``@``.

``@core`` is the headline suite: one standard definition per family, chosen by the meta-evaluation
(``python -m bench meta``; README section "Which metrics to trust").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.errors import UserError


@dataclass(frozen=True)
class Suite:
    """A named set of metrics.

    Attributes
    ----------
    id : str
        Typed as ``@id``.
    name : str
        Display name.
    members : tuple of str
        Metric ids, in display order (empty when ``rule`` selects them).
    rule : callable or None
        ``MetricInfo -> bool`` selecting members from the registry (dynamic suites).
    source : str
        Where the list comes from (paper, code, or "this benchmark").
    absent : tuple of (str, str)
        Metrics of the published protocol we do not have: (name in the paper, reason).
    notes : str
        How the members were chosen.
    """

    id: str
    name: str
    members: tuple[str, ...] = ()
    rule: Callable | None = None
    source: str = ""
    absent: tuple[tuple[str, str], ...] = ()
    notes: str = ""


SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    if suite.id in SUITES:
        raise ValueError(f"duplicate suite id {suite.id!r}")
    SUITES[suite.id] = suite
    return suite


def get_suite(name: str) -> Suite:
    name = name.lstrip("@")
    try:
        return SUITES[name]
    except KeyError:
        raise UserError(
            f"unknown metric suite '@{name}'; choose one of {', '.join('@' + k for k in SUITES)}"
        ) from None


def suite_members(name: str) -> list[str]:
    """The registered metric ids of suite ``name`` (with or without ``@``), in the suite's order."""
    from bench.registry import METRICS

    s = get_suite(name)
    if s.rule is not None:
        return [e.info.id for e in METRICS.values() if s.rule(e.info)]
    missing = [m for m in s.members if m not in METRICS]
    if missing:  # a suite naming an unregistered id is a bug of this module, caught by the tests
        raise UserError(f"suite '@{s.id}' names unregistered metric(s): {', '.join(missing)}")
    return list(s.members)


# ------------------------------------------------------------------------------------------------
# families
# ------------------------------------------------------------------------------------------------
#: ids whose family is not the part before ``@`` (one definition or a monotone transform of it)
FAMILY_OVERRIDES: dict[str, str] = {
    "fmi_dct": "fmi",
    "fmi_edge": "fmi",
    "fmi_gradient": "fmi",
    "fmi_pixel": "fmi",
    "fmi_w": "fmi",
    # PSNR is a decreasing function of MSE (per image): one family
    "mse": "psnr",
    "mse@cddfuse": "psnr",
    "mse@tang": "psnr",
    "rmse@vifb": "psnr",
    "mse_gt": "psnr_gt",
    # CDDFuse's "VIFF" is the summed Sheikh-Bovik VIF, i.e. our ``vif``
    "viff@cddfuse": "vif",
}


def metric_family(metric_id: str) -> str:
    """The family of a metric id (``qy@liu`` -> ``qy``; ``viff@cddfuse`` -> ``vif``).

    >>> metric_family("en@vifb"), metric_family("mse"), metric_family("dm_iou")
    ('en', 'psnr', 'dm_iou')
    """
    from bench.registry import METRICS

    if metric_id in METRICS:
        fam = getattr(METRICS.get(metric_id).info, "family", "")
        if fam:
            return fam
    if metric_id in FAMILY_OVERRIDES:
        return FAMILY_OVERRIDES[metric_id]
    return metric_id.split("@", 1)[0]


# ------------------------------------------------------------------------------------------------
# the suites
# ------------------------------------------------------------------------------------------------
CORE = register_suite(
    Suite(
        id="core",
        name="core (headline)",
        members=(
            "qs",
            "qc",
            "mef_ssim",
            "qg",
            "qy",
            "qabf",
            "vif",
            "viff",
            "scd",
            "qp",
            "qm",
            "fmi_dct",
        ),
        source="this benchmark: python -m bench meta (README, 'Which metrics to trust')",
        notes="one standard definition per family; chosen and ordered by agreement with the ground truth "
        "(Kendall tau against ssim_gt) and by moving the right way under controlled degradations",
    )
)
register_suite(
    Suite(
        id="gt",
        name="ground truth",
        rule=lambda info: bool(info.needs_reference),
        source="this benchmark",
        notes="every metric that needs a reference (all-in-focus ground truth or focus maps)",
    )
)
register_suite(
    Suite(
        id="nr",
        name="no reference",
        rule=lambda info: not info.needs_reference,
        source="this benchmark",
        notes="every metric computed from the sources and the fused image only",
    )
)
register_suite(
    Suite(
        id="sesf2020",
        name="SESF-Fuse (2020) Table 2",
        members=("qg", "qm", "qcb"),
        source="B. Ma et al., SESF-Fuse, Neural Comput. Appl. 33 (2021); Zheng Liu's imageFusionMetrics "
        "through the authors' evaluator (use --protocol sesf2020 to reproduce their scale)",
    )
)
register_suite(
    Suite(
        id="gacn2022",
        name="GACN (2022) Table 1",
        members=("qg", "qy@sesf", "qncie", "qcb", "fmi_edge", "fmi_dct"),
        source="B. Ma et al., GACN, IEEE TIP (2022) Table 1 (Qg, Qy, Qncie, Qcb, FMI_EDGE, FMI_DCT); "
        "the SESF/GACN evaluator (--protocol sesf2020)",
    )
)
register_suite(
    Suite(
        id="liu2020",
        name="Yu Liu et al. (2020) survey",
        members=("nmi", "qncie", "qg@liu2020", "qp", "qe@liu2020", "qy@liu2020", "qcb", "qcv"),
        source="Y. Liu et al., Multi-focus image fusion: a survey of the state of the art, Inf. Fusion 64 "
        "(2020); yuliu316316/MFIF@267c081 evaluation/ (QMI, QNCIE, QG, QP, QE, QY, QCB, QCV: the survey's "
        "corrected QG, QE and QY are the @liu2020 ids, the others equal our plain ids: "
        "tests/test_metrics_liu2020.py)",
    )
)
register_suite(
    Suite(
        id="mfifb",
        name="MFIFB (the 20 metrics it lists)",
        members=(
            "ag@vifb",
            "ce",
            "ei",
            "en@vifb",
            "nmi",
            "fmi_edge",
            "psnr@vifb",
            "qabf@vifb",
            "qcb",
            "qcv",
            "qc",
            "qncie",
            "qp",
            "qy@mefb",
            "sf@vifb",
            "sd@vifb",
            "qte",
            "ssim@vifb",
            "viff",
        ),
        source="X. Zhang, Deep learning-based multi-focus image fusion: a survey and a comparative study, "
        "IEEE TPAMI (2021) (xingchenzhang/MFIFB); its metric code is the VIFB/MEFB code of the same "
        "author (shared/docs/metrics.md)",
        absent=(("Qw", "Piella's weighted index (metricPeilla switch 2) is not implemented"),),
    )
)
register_suite(
    Suite(
        id="vifb",
        name="VIFB",
        members=(
            "ag@vifb",
            "ce",
            "ei",
            "en@vifb",
            "mi@vifb",
            "psnr@vifb",
            "qabf@vifb",
            "qcb",
            "qcv",
            "rmse@vifb",
            "sf@vifb",
            "sd@vifb",
            "ssim@vifb",
        ),
        source="X. Zhang et al., VIFB: a visible and infrared image fusion benchmark, CVPRW (2020); "
        "xingchenzhang/VIFB@22b2ea9 metrics/",
    )
)
register_suite(
    Suite(
        id="cddfuse",
        name="CDDFuse (2023) tables",
        members=(
            "en@cddfuse",
            "sd@cddfuse",
            "sf@cddfuse",
            "mi@cddfuse",
            "scd@cddfuse",
            "viff@cddfuse",
            "qabf@cddfuse",
            "ssim@cddfuse",
        ),
        source="Z. Zhao et al., CDDFuse, CVPR (2023) tables (EN, SD, SF, MI, SCD, VIF, Qabf, SSIM); "
        "Zhaozixiang1228/MMIF-CDDFuse@fd8da1f utils/Evaluator.py",
    )
)
