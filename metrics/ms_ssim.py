"""MS-SSIM: Wang, Simoncelli & Bovik (2003) multi-scale SSIM, Zhou Wang's original ``ssim_mscale_new.m``.

Re-implemented in NumPy (no code copied) from santoshchapaneri/Video-Error-Concealment @
807f4d457543fb6dbb2918f2a38e830f6ed9367c, ``ssim_mscale_new.m`` (Zhou Wang's 2003 code; research use) with
its helper ``ssim_index_new`` (``ssim_index.m`` plus the contrast-structure map).

Five scales. At each scale the SSIM map and cs = (2 s_xy + C2)/(s_x^2 + s_y^2 + C2) are computed as in
``ssim_index`` (11x11 Gaussian sigma 1.5, renormalised, ``filter2 'valid'``, K = [0.01 0.03], L = 255) and
averaged; both images are then filtered with ``ones(2)/4`` ('valid') and every second row/column kept
(starting with the first). MS-SSIM = prod_{s=1..4} mean(cs_s)^w_s * mean(SSIM_5) with
w = [0.0448 0.2856 0.3001 0.2363 0.1333] -- this code does NOT raise the coarsest SSIM to w_5 (the later
``msssim.m`` does, and pads; different numbers). Images with a side under 176 px give NaN (the reference
returns -Inf: 'CHECKPOINT 6'). If a scale's mean cs is negative, MATLAB's fractional power is complex; we
return NaN there.

Not Tang's "MS_SSIM" column, which is Ma et al.'s MEF-SSIM (``mef_ssim``).

References
----------
Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image quality assessment",
Proc. 37th Asilomar Conf. Signals, Systems and Computers, 2003. doi:10.1109/ACSSC.2003.1292216
"""

from __future__ import annotations

import numpy as np

from bench.types import MetricInfo
from metrics._matlab import OctaveWindow
from metrics._memo import _frozen_owner, derived_key, freeze, memoize_images
from metrics._structural import cs_formula, local_moments, ssim_formula
from metrics._variants import register_family
from metrics.ssim import _G11

_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_BOX2 = OctaveWindow(2, None)
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _half_compute(img: np.ndarray) -> np.ndarray:
    return derived_key(freeze(_BOX2.filter_valid(img)[::2, ::2]), "ms_ssim-half", img)


_half_memo = memoize_images(_half_compute, maxsize=16)


def _half(img: np.ndarray) -> np.ndarray:
    """The next scale (2x2 mean 'valid', every 2nd row/column); memoised and frozen for frozen input, so a
    source's scales and their window statistics (metrics._structural) are computed once per scene."""
    return _half_memo(img) if _frozen_owner(img) else _BOX2.filter_valid(img)[::2, ::2]


@memoize_images
def ms_ssim_wang(x: np.ndarray, y: np.ndarray) -> float:
    """``ssim_mscale_new(x, y)`` with its defaults; NaN when a side is under 176 px.

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.arange(180 * 180).reshape(180, 180) * 7 % 256).astype(float)
    >>> round(ms_ssim_wang(a, a), 12)
    1.0
    """
    levels = len(_WEIGHTS)
    if min(x.shape) / 2 ** (levels - 1) < 11:
        return float("nan")
    mcs = []
    mssim = 0.0
    for lev in range(levels):
        mx, my, sxx, syy, sxy = local_moments(x, y, _G11)
        cs = cs_formula(sxx, syy, sxy, _C2)
        ssim_map = ssim_formula(mx, my, sxx, syy, sxy, _C1, _C2)
        mcs.append(float(np.mean(cs)))
        mssim = float(np.mean(ssim_map))
        if lev < levels - 1:
            x, y = _half(x), _half(y)
    with np.errstate(invalid="ignore"):
        return float(np.prod(np.power(mcs[:-1], _WEIGHTS[:-1])) * mssim)


_IMPL = (
    "santoshchapaneri/Video-Error-Concealment @ 807f4d457543fb6dbb2918f2a38e830f6ed9367c, ssim_mscale_new.m"
)
_NOTES = (
    "Zhou Wang's 2003 ssim_mscale_new.m: 5 scales, 2x2 mean 'valid' + decimation, product of mean cs^w "
    "over scales 1-4 times the UNWEIGHTED mean SSIM of scale 5. NaN for images with a side < 176 px. "
    "Inputs 0..255."
)


register_family(
    MetricInfo(
        id="ms_ssim",
        cost=4.0,
        ideal=1.0,
        name="MS-SSIM",
        higher_is_better=True,
        range=(None, 1.0),
        reference_id="MS_SSIM_wang_avg",
        reference_impl=_IMPL + " (mean of the per-source values)",
        n_sources="any: mean over sources",
        version="1",
        notes=_NOTES,
    ),
    ms_ssim_wang,
    combine="mean",
    variants={
        "af": dict(reference_id="MS_SSIM_wang_AF", reference_impl=_IMPL),
        "bf": dict(reference_id="MS_SSIM_wang_BF", reference_impl=_IMPL),
    },
)
