"""What the Octave harness runs: per golden id, the upstream source folder, the call, and how it is fed.

A golden id is the visible set's reference id where one exists (``shared/reference/metrics_reference.json``),
else our metric id (the Yu Liu 2020 survey variants ``qg@liu2020``, ``qe@liu2020``, ``qy@liu2020``, which
have no visible reference values). Inputs in the generated Octave code: ``A, B, F, GT`` = ``double`` of the
8-bit images (0..255), ``A8, B8, F8, GT8`` = the ``uint8`` images, exactly as the visible set fed each code
(the JSON's ``input`` field).

Upstream folders are sub-folders of the ``--upstream`` directory, named ``owner+name`` (the layout of
``export`` below), each a plain checkout of the pinned commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TANG = ("Linfeng-Tang/Evaluation-for-Image-Fusion", "0e87153be77320e31ef2cabb5820518d2ac56bac")
VIFB = ("xingchenzhang/VIFB", "22b2ea9d91499cc5962d9bdcae9c290270f0fade")
MEFB = ("xingchenzhang/MEFB", "9e185bf88de280b12a2d9a2ff12d66e40bc1ff91")
LIU = ("zhengliu6699/imageFusionMetrics", "d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273")
SURVEY = ("yuliu316316/MFIF", "267c081b8f3dd29cc62284463ca1cd16dc9b352a")
IFC = ("jbhuang0604/SelfExSR", "8f6dd8c1d20cb7e8792a7177b4f6fd677633f598")
MSSSIM = ("santoshchapaneri/Video-Error-Concealment", "807f4d457543fb6dbb2918f2a38e830f6ed9367c")
CDDFUSE = ("Zhaozixiang1228/MMIF-CDDFuse", "fd8da1f39d8d403b7343e577bd5a30cba38c7b7b")
REPOS = (TANG, VIFB, MEFB, LIU, SURVEY, IFC, MSSSIM, CDDFUSE)


def folder(repo: tuple[str, str]) -> str:
    return repo[0].replace("/", "+")


@dataclass(frozen=True)
class Group:
    """One Octave process: the upstream repo, the sub-folders put on the path, extra setup code."""

    name: str
    repo: tuple[str, str]
    paths: tuple[str, ...]
    setup: str = ""
    needs_pyrtools: bool = False  # Liu's matlabPyrTools (.m from the zip + our mkoctfile build of corrDn.c)
    shims: tuple[str, ...] = ()  # files of benchmarks/octave/shims put on the path
    kind: str = "octave"  # "python": a Python reference run in-process (benchmarks.octave.pyref)


@dataclass(frozen=True)
class Spec:
    gid: str
    group: str
    call: str  # Octave expression giving the value
    needs_gt: bool = False
    cost: str = "fast"  # "fast" (all cases), "medium" / "slow" (per-pixel loops: case subsets, see run_on)
    adaptations: tuple[str, ...] = field(default_factory=tuple)


GROUPS = {
    g.name: g
    for g in (
        Group("tang", TANG, ("Evaluation",)),
        Group("vifb", VIFB, ("metrics",)),
        Group("mefb", MEFB, ("metrics",)),
        Group("liu", LIU, ("",), needs_pyrtools=True, shims=("freqspace.m", "blkproc.m")),
        Group("survey", SURVEY, ("evaluation/objective_metrics",), shims=("freqspace.m", "blkproc.m")),
        Group("ifc", IFC, ("quant_eval/ifcvec_release",), needs_pyrtools=True),
        Group("msssim", MSSSIM, ("",)),
        Group("fmi", TANG, ("Evaluation",), setup="pkg load signal;"),  # dct2 (signal package)
        Group("cddfuse", CDDFUSE, ("utils",), kind="python"),
    )
}

# Octave cost of the per-pixel loop codes (about 20-45 s per 520x520 call for "slow", 3-8 s for "medium" on an
# idle machine; 10x that on the shared 2-core machine of the first run): golden cases run "slow" ids only on
# SLOW_CASES(_MEF) and "medium" ids on MEDIUM_CASES (>= 7 sizes each); visible cases run "medium" ids only on
# VISIBLE_SUBSET and "slow" ids only on the synthetic pairs.
SLOW_CASES = (  # "slow" ids (Qabf Tang/VIFB, Nabf, MEF-MS-SSIM): 7 sizes
    "g06_256x256_avg",
    "g10_17x23_avg",
    "g05_31x37_blend37",
    "g05_97x131_avg",
    "news_101x103_max",
    "syn_64x64_gt_flat",
    "syn_128x160_sharpen_avg",
)
SLOW_CASES_MEF = SLOW_CASES + (  # the three sizes, four fused images each (as its independent check)
    "g03_480x640_avg",
    "g03_480x640_max",
    "g03_480x640_blend37",
    "g03_480x640_blurA",
    "flower_350x534_avg",
    "flower_350x534_B",
    "flower_350x534_max",
    "flower_350x534_blur_avg",
    "g06_256x256_A",
    "g06_256x256_min",
    "g06_256x256_halfAB",
)
MEDIUM_CASES = SLOW_CASES + ("g09_211x307_avg", "syn_233x377_avg", "g06_256x256_flat_avg")
# analysis_fmi.m loops over every 3x3 window in Octave: 5-9 ms each on an idle machine (~30 min per call at
# 520x520), ~130 ms under the load of the golden run (2 cores shared by 6 agents), so FMI ids run only on
# these small cases: 6 sizes, 17x23 .. 64x64 (a 97x131 case would have needed ~80 min for the 3 features).
FMI_CASES = (
    "g10_17x23_avg",
    "syn_17x23_avg",
    "g10_23x29_min",
    "g05_31x37_blend37",
    "g05_47x53_blurA",
    "news_59x83_halfAB",
    "syn_64x64_gt_flat",
)
VISIBLE_SUBSET = ("syn_checker", "syn_flat", "lytro_04_avg", "lytro_12_halfAB")  # "medium" ids
VISIBLE_SLOW = ("syn_checker", "syn_flat")  # "slow" ids


def run_on(spec: Spec, case_id: str) -> bool:
    """Whether the harness runs ``spec`` on the case (cost control; every id keeps >= 6 sizes)."""
    if spec.cost == "fast":
        return True
    if spec.cost == "fmi":
        return case_id in FMI_CASES  # never on the 520x520 visible cases (the visible set: see NOT_RUN)
    if case_id.startswith("visible_"):
        subset = VISIBLE_SUBSET if spec.cost == "medium" else VISIBLE_SLOW
        return any(case_id[len("visible_") :].startswith(v) for v in subset)
    if spec.cost == "medium":
        return case_id in MEDIUM_CASES
    return case_id in (SLOW_CASES_MEF if spec.gid == "MEF_MS_SSIM_tang" else SLOW_CASES)


_ENTROPY = "Octave image-package entropy() stands in for MATLAB's (same definition)."
_FREQSPACE = "freqspace() shim (MATLAB's documented definition), benchmarks/octave/shims/freqspace.m."
_BLKPROC = "blkproc() shim (distinct blocks, zero padding), benchmarks/octave/shims/blkproc.m."
_SKIMAGE = ("skimage structural_similarity called with data_range=2.0 (skimage 0.19.2 default for float).",)
_DCT2 = "dct2() of Octave's signal package (orthonormal 2-D DCT-II, MATLAB's definition; other rounding)."
_COR = "matlabPyrTools corrDn.c compiled with mkoctfile --mex (+ one-line matrix.h)."

SPECS: tuple[Spec, ...] = (
    # --- Tang's Evaluation-for-Image-Fusion
    Spec("EN_tang", "tang", "entropy(F8)", adaptations=(_ENTROPY,)),
    Spec("SD_tang", "tang", "SD_evaluation(F)"),
    Spec("SF_tang", "tang", "SF_evaluation(F)"),
    Spec("AG_tang", "tang", "AG_evaluation(F)"),
    Spec("MI_tang_bits", "tang", "MI_evaluation(A8, B8, F8, 256)", adaptations=(_ENTROPY,), cost="medium"),
    Spec("PSNR_tang", "tang", "PSNR_evaluation(A, B, F)"),
    Spec("MSE_tang_unitrange", "tang", "MSE_evaluation(A, B, F)"),
    Spec("PSNR_standard", "tang", "10 * log10(1 / MSE_evaluation(A, B, F))"),
    Spec("CC_tang", "tang", "CC_evaluation(A, B, F)"),
    Spec("SCD_tang", "tang", "analysis_SCD(A, B, F)"),
    Spec("Qabf_tang", "tang", "analysis_Qabf(A, B, F)", cost="slow"),
    Spec("Nabf_tang", "tang", "analysis_nabf(F, A, B)", cost="slow"),
    Spec("MEF_MS_SSIM_tang", "tang", "analysis_ms_ssim(cat(3, A, B), F)", cost="slow"),
    Spec("VIF_sheikh_AF", "tang", "vifp_mscale(A, F)"),
    Spec("VIF_sheikh_BF", "tang", "vifp_mscale(B, F)"),
    Spec("VIF_sheikh_sum", "tang", "vifp_mscale(A, F) + vifp_mscale(B, F)"),
    # --- VIFB
    Spec("EN_vifb", "vifb", "metricsEntropy(A8, B8, F8)"),
    Spec("SD_vifb", "vifb", "metricsVariance(A8, B8, F8)"),
    Spec("SF_vifb", "vifb", "metricsSpatial_frequency(A8, B8, F8)"),
    Spec("AG_vifb", "vifb", "metricsAvg_gradient(A8, B8, F8)"),
    Spec("MI_vifb_nats", "vifb", "metricsMutinf(A8, B8, F8)", cost="medium"),
    Spec("PSNR_vifb", "vifb", "metricsPsnr(A8, B8, F8)"),
    Spec("RMSE_vifb", "vifb", "metricsRmse(A8, B8, F8)"),
    Spec("CE_vifb", "vifb", "metricsCross_entropy(A8, B8, F8)", cost="medium"),
    Spec("EI_vifb", "vifb", "metricsEdge_intensity(A8, B8, F8)", cost="medium"),
    Spec("SSIM_vifb_sum", "vifb", "metricsSsim(A8, B8, F8)"),
    Spec("Qabf_vifb", "vifb", "metricsQabf(A8, B8, F8)", cost="slow"),
    # --- MEFB
    Spec("Qy_mefb", "mefb", "metricsQy(A8, B8, F8)"),
    Spec("VIFF_han", "mefb", "metricsVIF(A8, B8, F8)"),
    # --- Zheng Liu's toolbox
    Spec("Qg_liu", "liu", "metricXydeas(A, B, F)"),
    Spec("Qm_liu", "liu", "metricPWW(A, B, F)", adaptations=(_COR,)),
    Spec("Qm_liu_unitrange", "liu", "metricPWW(A / 255, B / 255, F / 255)", adaptations=(_COR,)),
    Spec("Qcb_liu", "liu", "metricChenBlum(A, B, F)", adaptations=(_FREQSPACE,)),
    Spec("Qy_liu", "liu", "metricYang(A, B, F)"),
    Spec("Qncie_liu", "liu", "metricWang(A, B, F)", cost="medium"),
    Spec("NMI_liu", "liu", "metricMI(A, B, F, 1)", cost="medium"),
    Spec("Qte_liu_sw3", "liu", "metricMI(A, B, F, 3)", cost="medium"),
    Spec("SSIM_wang_AF", "liu", "ssim_index(A, F)"),
    Spec("SSIM_wang_BF", "liu", "ssim_index(B, F)"),
    Spec("SSIM_wang_avg", "liu", "(ssim_index(A, F) + ssim_index(B, F)) / 2"),
    Spec("SSIM_wang_GT", "liu", "ssim_index(GT, F)", needs_gt=True),
    Spec("Qs_liu_sw1", "liu", "metricPeilla(A, B, F, 1)"),
    Spec("Qc_liu_sw2", "liu", "metricCvejic(A, B, F, 2)"),
    Spec("Qsf_liu", "liu", "metricZheng(A, B, F)", cost="medium"),
    Spec("Qp_liu", "liu", "metricZhao(A, B, F)", cost="medium"),
    Spec("Qcv_liu", "liu", "real(metricChen(A, B, F))", adaptations=(_FREQSPACE, _BLKPROC)),
    # --- Tang's analysis_fmi.m (Haghighat's fast FMI), the original per-window loop code
    Spec("FMI_none_w3", "fmi", "analysis_fmi(A, B, F, 'none', 3)", cost="fmi"),
    Spec("FMI_gradient_w3", "fmi", "analysis_fmi(A, B, F, 'gradient', 3)", cost="fmi"),
    Spec("FMI_dct_w3", "fmi", "analysis_fmi(A, B, F, 'dct', 3)", cost="fmi", adaptations=(_DCT2,)),
    # --- CDDFuse's Python Evaluator (float32 0..255 inputs A, B, F; E = utils/Evaluator.py's Evaluator)
    *(
        Spec(f"cddfuse_{name}", "cddfuse", call, adaptations=_SKIMAGE if name == "SSIM" else ())
        for name, call in (
            ("EN", "E.EN(F)"),
            ("SD", "E.SD(F)"),
            ("SF", "E.SF(F)"),
            ("AG", "E.AG(F)"),
            ("MI", "E.MI(F, A, B)"),
            ("SCD", "E.SCD(F, A, B)"),
            ("VIFF", "E.VIFF(F, A, B)"),
            ("Qabf", "E.Qabf(F, A, B)"),
            ("SSIM", "E.SSIM(F, A, B)"),
            ("PSNR", "E.PSNR(F, A, B)"),
            ("MSE", "E.MSE(F, A, B)"),
            ("CC", "E.CC(F, A, B)"),
        )
    ),
    # --- Yu Liu 2020 survey (its bug-fixed copy of Liu's toolbox); no visible values exist for these
    Spec("qg@liu2020", "survey", "metricXydeas(A, B, F)"),
    Spec("qe@liu2020", "survey", "metricPeilla(A, B, F, 3)"),
    Spec("qy@liu2020", "survey", "metricYang(A, B, F)"),
    # --- Sheikh's IFC (ifcvec) and Wang's MS-SSIM
    Spec("IFC_sheikh_AF", "ifc", "ifcvec(A, F)", adaptations=(_COR,)),
    Spec("IFC_sheikh_BF", "ifc", "ifcvec(B, F)", adaptations=(_COR,)),
    Spec("IFC_sheikh_sum", "ifc", "ifcvec(A, F) + ifcvec(B, F)", adaptations=(_COR,)),
    Spec("IFC_sheikh_avg", "ifc", "(ifcvec(A, F) + ifcvec(B, F)) / 2", adaptations=(_COR,)),
    Spec("MS_SSIM_wang_AF", "msssim", "ssim_mscale_new(A, F)"),
    Spec("MS_SSIM_wang_BF", "msssim", "ssim_mscale_new(B, F)"),
    Spec("MS_SSIM_wang_avg", "msssim", "(ssim_mscale_new(A, F) + ssim_mscale_new(B, F)) / 2"),
)

# Not run by the harness (see the README developer section): FMI_edge_w3 / FMI_wavelet_w3 (need shims of
# MATLAB's edge() and dwt2(..., 'dmey'), which Octave lacks or computes differently), FMI on the visible
# 520x520 cases (the visible set used a vectorised Octave re-implementation of the loop code),
# SSIM_tang_emul_builtin_L1 / SSIM_builtin_emul_L255_avg (emulations of MATLAB's
# built-in ssim, which neither Octave nor any upstream folder provides).
NOT_RUN = (
    "FMI_edge_w3",
    "FMI_wavelet_w3",
    "SSIM_tang_emul_builtin_L1",
    "SSIM_builtin_emul_L255_avg",
)

BY_ID = {s.gid: s for s in SPECS}
