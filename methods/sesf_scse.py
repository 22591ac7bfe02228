"""SESF-Fuse ablation with SCSE attention (paper Table 1 row `scse_sf_dm`), on the authors' checkpoint.

Same inference pipeline as :mod:`methods.sesf` (port of Keep-Passion/SESF-Fuse ``nets/sesf_net.py``
@ 23e60b8c710919f5b2957b64c96e3c204443c6d7, licence **LGPL-2.1**; this file is distributed under
LGPL-2.1), with the encoder's four attention blocks being SCSE and the weights
``lp+lssim_se_sf_net_scse_times30.pkl`` (repository history, commit e165c5cc).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult
from methods.sesf import method_info, sesf_fuse


@register_method(method_info("scse", "sesf_scse", "SESF-Fuse (SCSE ablation)"))
def fuse(
    images: Sequence[np.ndarray],
    *,
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """SESF-Fuse with the SCSE ablation model, or a retrained one (``weights``; see
    :func:`methods.sesf.sesf_fuse`)."""
    return sesf_fuse(
        images,
        attention="scse",
        device=device,
        official_rounding=official_rounding,
        weights=weights,
        tile=tile,
    )
