"""Fusion metrics. Each module registers one metric family; imports are explicit, by name."""

from metrics import (
    ag,  # noqa: F401
    cc,  # noqa: F401
    ce,  # noqa: F401
    dm_quality,  # noqa: F401
    ei,  # noqa: F401
    entropy,  # noqa: F401
    fmi,  # noqa: F401
    ifc,  # noqa: F401
    mef_ssim,  # noqa: F401
    mi,  # noqa: F401
    ms_ssim,  # noqa: F401
    mse,  # noqa: F401
    nabf,  # noqa: F401
    nmi,  # noqa: F401
    psnr,  # noqa: F401
    qabf,  # noqa: F401
    qc,  # noqa: F401
    qcb,  # noqa: F401
    qcv,  # noqa: F401
    qg,  # noqa: F401
    qm,  # noqa: F401
    qncie,  # noqa: F401
    qp,  # noqa: F401
    qs,  # noqa: F401
    qsf,  # noqa: F401
    qte,  # noqa: F401
    qy,  # noqa: F401
    qy_sesf,  # noqa: F401
    scd,  # noqa: F401
    sd,  # noqa: F401
    sf,  # noqa: F401
    ssim,  # noqa: F401
    vif,  # noqa: F401
    viff,  # noqa: F401
)
