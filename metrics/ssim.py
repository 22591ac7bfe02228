"""SSIM (Wang, Bovik, Sheikh & Simoncelli 2004) in the forms fusion papers report.

Ported from (re-implemented in NumPy, no code copied):

* Zhou Wang's ``ssim_index.m`` (2003, "SSIM Index, Version 1.0", educational/research use), as shipped in
  zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``ssim_index.m``
  -> ``ssim@af``, ``ssim@bf``, ``ssim`` (mean over sources), ``ssim_gt``;
* xingchenzhang/VIFB @ 22b2ea9d91499cc5962d9bdcae9c290270f0fade, ``metrics/metricsSsim.m`` (same kernel,
  **sum** over sources) -> ``ssim@vifb``;
* Linfeng-Tang/Evaluation-for-Image-Fusion @ 0e87153be77320e31ef2cabb5820518d2ac56bac,
  ``Evaluation/analysis_Reference.m`` calls MATLAB's built-in ``ssim`` on double 0..255 data
  (DynamicRange 1) -> ``ssim@tang`` and, with DynamicRange 255, ``ssim@builtin255``: both are
  **emulations** of the built-in from its documentation (replicate padding, same-size map), matching the
  reference file's own emulation, not a MATLAB run;
* Zhaozixiang1228/MMIF-CDDFuse @ fd8da1f39d8d403b7343e577bd5a30cba38c7b7b, ``utils/Evaluator.py``
  ``Evaluator.SSIM`` (no licence file in the repository): scikit-image ``structural_similarity`` on float32
  data with the data_range of 2 that scikit-image 0.19 assumed -> ``ssim@cddfuse``; computed here step
  by step as scikit-image 0.26.0 ``skimage/metrics/_structural_similarity.py`` does (BSD-3-Clause; same
  float32 operations, same bits, tested against it) so that each image's half can be memoised.

Inputs are luminance images as float64 holding 0..255 (the ``standard`` protocol).

References
----------
Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error visibility to
structural similarity", IEEE TIP 13(4):600-612, 2004. doi:10.1109/TIP.2003.819861
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._matlab import OctaveWindow
from metrics._memo import _frozen_owner, memoize_images, value_nbytes
from metrics._structural import local_moments, ssim_formula
from metrics._variants import register_family

_LIU = "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ssim_index.m"
_G11 = OctaveWindow(11, 1.5, renormalize=True)


def ssim_map(
    x: np.ndarray,
    y: np.ndarray,
    *,
    k1: float = 0.01,
    k2: float = 0.03,
    dynamic_range: float = 255.0,
    window: np.ndarray | None = None,
) -> np.ndarray:
    """SSIM map of Wang's ``ssim_index.m``: Gaussian 11x11 (sigma 1.5) window, ``filter2 'valid'``.

    Parameters
    ----------
    x, y : numpy.ndarray
        2-D float64 images of equal shape (sides >= window size).
    k1, k2 : float
        Stabilising constants; ``C1 = (k1 L)^2``, ``C2 = (k2 L)^2``.
    dynamic_range : float
        ``L``.
    window : OctaveWindow, optional
        The normalised window (default: 11x11 Gaussian, sigma 1.5, renormalised as in ``ssim_index.m``).

    Returns
    -------
    numpy.ndarray
        The ``(H-10) x (W-10)`` SSIM map.
    """
    g = _G11 if window is None else window
    c1 = (k1 * dynamic_range) ** 2
    c2 = (k2 * dynamic_range) ** 2
    mx, my, sxx, syy, sxy = local_moments(x, y, g)
    return ssim_formula(mx, my, sxx, syy, sxy, c1, c2)


@memoize_images
def ssim_index(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM, Zhou Wang's ``ssim_index(x, y)`` with its defaults (K = [0.01 0.03], L = 255).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(400, dtype=float).reshape(20, 20) % 256
    >>> round(ssim_index(a, a), 12)
    1.0
    """
    return float(np.mean(ssim_map(x, y)))


def _gauss_same_replicate(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    return cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REPLICATE)


def ssim_builtin_emulation(x: np.ndarray, y: np.ndarray, dynamic_range: float) -> float:
    """Emulation of MATLAB's built-in ``ssim(x, y, 'DynamicRange', L)`` (not checked against MATLAB).

    Gaussian sigma 1.5 on an 11x11 support (``imgaussfilt``), replicate padding, same-size map,
    C1 = (0.01 L)^2, C2 = (0.03 L)^2, exponents 1 (so C3 = C2/2 folds into the usual formula); mean of map.
    """
    c1 = (0.01 * dynamic_range) ** 2
    c2 = (0.03 * dynamic_range) ** 2
    if _frozen_owner(x) and _frozen_owner(y):  # memoised: ssim@tang and ssim@builtin255 share them
        (mx, sxx), (my, syy) = _replicate_moments(x), _replicate_moments(y)
        sxy = _replicate_cross(x, y)
    else:
        (mx, sxx), (my, syy) = _replicate_moments_compute(x), _replicate_moments_compute(y)
        sxy = _gauss_same_replicate(x * y, _G11.g) - mx * my
    return float(np.mean(ssim_formula(mx, my, sxx, syy, sxy, c1, c2)))


def _replicate_moments_compute(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One image's ``(mu, sigma^2)`` of :func:`ssim_builtin_emulation` (read-only)."""
    mu = _gauss_same_replicate(img, _G11.g)
    out = mu, _gauss_same_replicate(img * img, _G11.g) - mu * mu
    for a in out:
        a.setflags(write=False)
    return out


def _replicate_cross_compute(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sigma_xy`` of two frozen images (read-only; their means from the memo)."""
    mx, my = _replicate_moments(x)[0], _replicate_moments(y)[0]
    out = _gauss_same_replicate(x * y, _G11.g) - mx * my
    out.setflags(write=False)
    return out


# The two emulations (L = 1 and L = 255) of a (fused, source) pair need the same moments, and one image's
# own half is shared by its pairs (a source's by every fused image of a scene): memoised by content for
# frozen inputs (same arrays as computed the first time: no value moves).
_replicate_moments = memoize_images(_replicate_moments_compute, maxsize=5)
_replicate_cross = memoize_images(_replicate_cross_compute, maxsize=2)


def ssim_skimage_cddfuse(x: np.ndarray, y: np.ndarray) -> float:
    """CDDFuse's ``ssim(image_F, image_A)``: scikit-image SSIM, float32, data_range 2 (skimage 0.19 default).

    7x7 uniform window, sample covariance, 3-pixel border cropped, computed in float32 by scikit-image.
    Re-written step by step after ``skimage.metrics.structural_similarity`` (scikit-image 0.26.0,
    ``skimage/metrics/_structural_similarity.py``, BSD-3-Clause; the same operations on the same float32
    arrays, so the same bits: tested against scikit-image), with one image's own half (its float32 copy,
    local mean, sample variance and squared mean) memoised by content: the fused image's is shared by its
    sources, a source's by every fused image of a scene. Only ``uniform_filter(x*y)`` is per pair.
    """
    from scipy.ndimage import uniform_filter

    x32, ux, vx, ux2 = _skimage_half(x) if _frozen_owner(x) else _skimage_half_compute(x)
    y32, uy, vy, uy2 = _skimage_half(y) if _frozen_owner(y) else _skimage_half_compute(y)
    vxy = _SK_COV_NORM * (uniform_filter(x32 * y32, size=_SK_WIN) - ux * uy)
    a1 = 2 * ux * uy + _SK_C1
    a2 = 2 * vxy + _SK_C2
    b1 = ux2 + uy2 + _SK_C1
    b2 = vx + vy + _SK_C2
    s = (a1 * a2) / (b1 * b2)
    pad = (_SK_WIN - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean(dtype=np.float64))


_SK_WIN = 7  # scikit-image's default uniform window (gaussian_weights=False)
_SK_COV_NORM = _SK_WIN**2 / (_SK_WIN**2 - 1)  # use_sample_covariance=True
_SK_C1 = (0.01 * 2.0) ** 2  # (K1 R)^2, R = data_range = 2
_SK_C2 = (0.03 * 2.0) ** 2


def _skimage_half_compute(img: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(im, ux, vx, ux**2)`` of scikit-image's SSIM for one image as float32 (read-only)."""
    from scipy.ndimage import uniform_filter

    im = img.astype(np.float32)
    ux = uniform_filter(im, size=_SK_WIN)
    uxx = uniform_filter(im * im, size=_SK_WIN)
    out = im, ux, _SK_COV_NORM * (uxx - ux * ux), ux**2
    for a in out:
        a.setflags(write=False)
    return out


# bounded in bytes: a few 520x520 images (4.3 MB each); big images are recomputed, never kept
_skimage_half = memoize_images(_skimage_half_compute, maxsize=6, max_bytes=48 << 20, nbytes=value_nbytes)


_NOTE_WANG = (
    "Wang's ssim_index.m: 11x11 Gaussian (sigma 1.5), K=[0.01 0.03], L=255, filter2 'valid' "
    "(map (H-10)x(W-10)), no downsampling (Wang's later ssim.m downsamples: different number). "
    "Inputs float64 0..255."
)


register_family(
    MetricInfo(
        id="ssim",
        ideal=1.0,
        name="SSIM",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="SSIM_wang_avg",
        reference_impl=_LIU + " (derived: mean of ssim_index(A,F), ssim_index(B,F))",
        n_sources="any: mean over sources of SSIM(S_i, F)",
        version="1",
        notes=_NOTE_WANG + " Fusion form = mean over sources (VIFB's sum is ssim@vifb).",
    ),
    ssim_index,
    combine="mean",
    variants={
        "af": dict(reference_id="SSIM_wang_AF", reference_impl=_LIU + " ssim_index(A,F)", notes=_NOTE_WANG),
        "bf": dict(reference_id="SSIM_wang_BF", reference_impl=_LIU + " ssim_index(B,F)", notes=_NOTE_WANG),
        "vifb": dict(
            compute=lambda srcs, f: np.sum([ssim_index(s, f) for s in srcs]),
            ideal=2.0,
            name="SSIM (VIFB, sum)",
            range=(None, None),
            reference_id="SSIM_vifb_sum",
            reference_impl=(
                "xingchenzhang/VIFB @ 22b2ea9d91499cc5962d9bdcae9c290270f0fade, metrics/metricsSsim.m"
            ),
            n_sources="any: sum over sources (2 sources: range up to 2)",
            version="1",
            notes="Same kernel and constants as ssim_index.m, but returns the SUM SSIM(A,F)+SSIM(B,F).",
        ),
        "tang": dict(
            compute=lambda srcs, f: np.mean([ssim_builtin_emulation(f, s, 1.0) for s in srcs]),
            ideal=None,
            name="SSIM (Tang, MATLAB built-in, emulation)",
            reference_id="SSIM_tang_emul_builtin_L1",
            reference_impl=(
                "Linfeng-Tang/Evaluation-for-Image-Fusion @ 0e87153be77320e31ef2cabb5820518d2ac56bac, "
                "Evaluation/analysis_Reference.m (MATLAB IPT ssim; emulated)"
            ),
            n_sources="any: mean over sources",
            version="1",
            notes=(
                "EMULATION of MATLAB's built-in ssim as Tang calls it on double 0..255 data, where "
                "DynamicRange defaults to 1 (C1=1e-4, C2=9e-4): Gaussian sigma 1.5 11x11, replicate padding, "
                "same-size map. Matches the reference file's emulation; never checked against MATLAB "
                "(low confidence)."
            ),
        ),
        "builtin255": dict(
            compute=lambda srcs, f: np.mean([ssim_builtin_emulation(f, s, 255.0) for s in srcs]),
            ideal=None,
            name="SSIM (MATLAB built-in, L=255, emulation)",
            reference_id="SSIM_builtin_emul_L255_avg",
            reference_impl="emulation of MATLAB IPT ssim (no source repository)",
            n_sources="any: mean over sources",
            version="1",
            notes=(
                "EMULATION of MATLAB's built-in ssim with DynamicRange 255: Gaussian sigma 1.5 11x11, "
                "replicate padding, same-size map, C1=(0.01*255)^2, C2=(0.03*255)^2. Not checked against "
                "MATLAB."
            ),
        ),
        "cddfuse": dict(
            compute=lambda srcs, f: np.sum([ssim_skimage_cddfuse(f, s) for s in srcs]),
            ideal=2.0,
            name="SSIM (CDDFuse)",
            range=(None, None),
            reference_id="cddfuse_SSIM",
            reference_impl=(
                "Zhaozixiang1228/MMIF-CDDFuse @ fd8da1f39d8d403b7343e577bd5a30cba38c7b7b, "
                "utils/Evaluator.py Evaluator.SSIM"
            ),
            n_sources="any: sum over sources",
            version="1",
            notes=(
                "scikit-image structural_similarity(F, S_i) on float32 0..255 data with data_range=2 (what "
                "scikit-image 0.19 assumed for float input), 7x7 uniform window, sample covariance; "
                "SUM over sources."
            ),
        ),
    },
)


@register_metric(
    MetricInfo(
        id="ssim_gt",
        ideal=1.0,
        name="SSIM (ground truth)",
        higher_is_better=True,
        needs_reference=True,
        range=(-1.0, 1.0),
        reference_id="SSIM_wang_GT",
        reference_impl=_LIU + " ssim_index(GT,F)",
        n_sources="any: sources are not used",
        notes=_NOTE_WANG + " Compares F with the all-in-focus reference.",
    )
)
def ssim_gt(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Wang's SSIM between the ground-truth ``reference`` and the fused image."""
    if reference is None:
        raise ValueError("ssim_gt needs a ground-truth image: pass reference=")
    check_inputs(sources, fused, min_n=0, metric="ssim_gt")  # sources unused, but shapes must agree
    (gt,), f = check_inputs([reference], fused, metric="ssim_gt")
    return ssim_index(gt, f)
