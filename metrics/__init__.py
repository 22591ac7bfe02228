"""Fusion metrics. Each module registers one metric family.

The modules are named explicitly in ``ENTRY_MODULES`` and are not imported here: the registry
(:mod:`bench.plugins`) imports one when one of its entries is used, and reads every entry's metadata
from an index, so listing entries or running one method imports nothing else. Add a new module's
name here.
"""

ENTRY_MODULES = (
    "ag",
    "cc",
    "ce",
    "dm_quality",  # decision-map quality (issue 12)
    "ei",
    "entropy",
    "fmi",
    "ifc",
    "mef_ssim",
    "mi",
    "ms_ssim",
    "mse",
    "nabf",
    "nmi",
    "psnr",
    "qabf",
    "qc",
    "qcb",
    "qcv",
    "qe_liu2020",  # survey variants (issue 11)
    "qg",
    "qg_liu2020",
    "qm",
    "qncie",
    "qp",
    "qs",
    "qsf",
    "qte",
    "qy",
    "qy_liu2020",
    "qy_sesf",
    "scd",
    "sd",
    "sf",
    "ssim",
    "vif",
    "viff",
)
