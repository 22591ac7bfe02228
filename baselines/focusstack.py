"""FocusStack: per-pixel choice of the source with the largest |Laplacian of Gaussian|, N >= 2 natively.

Re-implementation (our own code) of Charles McGuinness's simple focus stacker, the "FocusStack" row
of the SESF-Fuse paper: cmcguinness/focusstack @ 4159421da9503b6a75de1cc4003e6b9ebd3e5ee8,
``FocusStack.py`` (Python 2, Apache License 2.0). Spec: ``shared/docs/methods.md`` 7.10.

Per source: gray, 5x5 Gaussian blur (``cv2.GaussianBlur(.., (5, 5), 0)``, which for ksize 5 and
sigma 0 is OpenCV's fixed binomial kernel [1 4 6 4 1]/16), Laplacian with aperture 5; each output
pixel (all channels) comes from the source with the largest absolute Laplacian, the *last* such
source on ties (the original overwrites in order). No smoothing of the choice map.

Optional alignment (``align=True``, off by default since benchmark pairs are registered): SIFT on
each source and on the first, Lowe ratio 0.7, the 128 best matches, homography by RANSAC
(reprojection threshold 2.0), bilinear warp onto the first source (black outside).

Reproduction switch ``sesf2020=True`` reproduces how the SESF experiment ran it: alignment on,
the 8-bit pipeline of the original (uint8 gray, uint8 blur, float64 Laplacian), and gray computed
with ``COLOR_BGR2GRAY`` on RGB arrays (the R and B weights swapped, as happens when the
scikit-image-loaded arrays were passed to OpenCV). The default computes gray with the MATLAB/BT.601
weights in float and does not align.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from bench.imageio import to_uint8
from bench.luminance import BT601
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

_BT601 = np.array(BT601, dtype=np.float32)


def _check(images: Sequence[np.ndarray]) -> None:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")
    shape = np.shape(images[0])
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {shape}")


def _gray_u8(img_u8: np.ndarray, bgr_quirk: bool) -> np.ndarray:
    if img_u8.ndim == 2:
        return img_u8
    return cv2.cvtColor(img_u8, cv2.COLOR_BGR2GRAY if bgr_quirk else cv2.COLOR_RGB2GRAY)


def align_to_first(
    images: Sequence[np.ndarray], bgr_quirk: bool = True, keypoint_images: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """Warp every source onto the first one with a SIFT + RANSAC homography.

    Parameters
    ----------
    images : sequence of ndarray
        HxW or HxWx3 images to warp (uint8 or float32).
    bgr_quirk : bool
        Gray conversion for SIFT with R and B swapped (what the original did on RGB arrays).
    keypoint_images : sequence of ndarray, optional
        uint8 versions of ``images`` for SIFT (default: ``images`` themselves, which must then be uint8).

    Returns
    -------
    list of ndarray
        The first image unchanged, the others warped (bilinear, zeros outside), dtype kept.

    Raises
    ------
    ValueError
        Fewer than 4 good matches between a source and the first one, or no homography found.
    """
    kp_imgs = list(images) if keypoint_images is None else list(keypoint_images)
    sift = cv2.SIFT_create()
    kp0, desc0 = sift.detectAndCompute(_gray_u8(kp_imgs[0], bgr_quirk), None)
    out = [images[0]]
    matcher = cv2.BFMatcher()
    for i in range(1, len(images)):
        kp, desc = sift.detectAndCompute(_gray_u8(kp_imgs[i], bgr_quirk), None)
        good = []
        if desc is not None and desc0 is not None and len(desc0) >= 2:
            good = [m for m, n in matcher.knnMatch(desc, desc0, k=2) if m.distance < 0.7 * n.distance]
        good = sorted(good, key=lambda m: m.distance)[:128]
        if len(good) < 4:
            raise ValueError(
                f"Expected >= 4 SIFT matches to align source {i + 1} to source 1, got {len(good)}"
            )
        src = np.float32([kp[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([kp0[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, ransacReprojThreshold=2.0)
        if hom is None:
            raise ValueError(f"Expected a homography aligning source {i + 1} to source 1, RANSAC found none")
        h, w = images[i].shape[:2]
        out.append(cv2.warpPerspective(images[i], hom, (w, h), flags=cv2.INTER_LINEAR))
    return out


#: OpenCV's fixed 5-tap Gaussian (``getGaussianKernel(5, 0)``, times 16) and the 5-tap second derivative
#: that ``cv2.Laplacian(.., ksize=5)`` pairs with it: d2x (x) smooth(y) + smooth(x) (x) d2y.
_SMOOTH5 = (1.0, 4.0, 6.0, 4.0, 1.0)
_D2_5 = (1.0, 0.0, -2.0, 0.0, 1.0)


def _correlate5(a: np.ndarray, taps: tuple[float, ...], axis: int) -> np.ndarray:
    """5-tap correlation along ``axis`` with OpenCV's default border (reflect-101), float64, the taps added
    left to right: plain NumPy products and sums, each rounded once, so the result does not depend on
    the CPU's vector instructions (OpenCV's own float filters do: its AVX2 and SSE paths round
    differently, which flipped near-tied choices between machines)."""
    pad = [(0, 0)] * a.ndim
    pad[axis] = (2, 2)
    p = np.pad(a, pad, mode="reflect")  # NumPy's 'reflect' is OpenCV's BORDER_REFLECT_101
    n = a.shape[axis]
    window = [slice(None)] * a.ndim
    out = None
    for i, t in enumerate(taps):
        if t == 0.0:
            continue
        window[axis] = slice(i, i + n)
        term = p[tuple(window)] * t  # a view of the padded array, scaled into a new one
        out = term if out is None else np.add(out, term, out=out)
    return out


def focus_measure(gray: np.ndarray) -> np.ndarray:
    """|Laplacian (aperture 5)| of the 5x5-Gaussian-blurred gray image, float64 HxW.

    8-bit gray (the ``sesf2020`` pipeline): OpenCV's ``GaussianBlur`` (its 8-bit path is bit-exact) and
    ``Laplacian`` (float64 sums of small integers: exact). Float gray: the same two filters in float64 by
    :func:`_correlate5`, the blur's ``1/256`` applied last (a power of two: exact), so every machine
    gives the same bits (the float32 ``GaussianBlur`` of version 1 did not).
    """
    if gray.dtype == np.uint8:
        blurred = cv2.GaussianBlur(gray, (5, 5), 0)
        return np.abs(cv2.Laplacian(blurred, cv2.CV_64F, ksize=5))
    g = np.asarray(gray, dtype=np.float64)
    blurred = _correlate5(_correlate5(g, _SMOOTH5, 1), _SMOOTH5, 0)
    blurred *= 1.0 / 256.0
    lap = _correlate5(_correlate5(blurred, _D2_5, 1), _SMOOTH5, 0)
    lap += _correlate5(_correlate5(blurred, _SMOOTH5, 1), _D2_5, 0)
    return np.abs(lap)


def focusstack(
    images: Sequence[np.ndarray], *, align: bool = False, sesf2020: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 sources by taking each pixel from the sharpest source.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1] of one shape, HxW or HxWx3.
    align : bool
        Align every source to the first (SIFT + RANSAC homography) before fusing.
    sesf2020 : bool
        Reproduce the SESF-Fuse experiment's run (implies ``align``; 8-bit pipeline; BGR/RGB gray
        quirk). Output is then on the 8-bit grid.

    Returns
    -------
    fused : ndarray
        float32 image of the sources' shape.
    index : ndarray
        HxW int index of the chosen source.

    Raises
    ------
    ValueError
        Fewer than two sources, different shapes, not HxW / HxWx3, or alignment impossible.

    References
    ----------
    C. McGuinness, Simple Focus Stacker, https://github.com/cmcguinness/focusstack (2015).
    """
    _check(images)
    if sesf2020:
        srcs = [to_uint8(im) for im in images]
        srcs = align_to_first(srcs, bgr_quirk=True)
        measures = np.stack([focus_measure(_gray_u8(im, True)) for im in srcs], axis=0)
        srcs = [im.astype(np.float32) / np.float32(255.0) for im in srcs]
    else:
        srcs = [np.asarray(im, dtype=np.float32) for im in images]
        if align:  # keypoints on the 8-bit versions, the float images are warped
            srcs = align_to_first(srcs, bgr_quirk=False, keypoint_images=[to_uint8(im) for im in srcs])
        grays = [im if im.ndim == 2 else np.ascontiguousarray(im @ _BT601) for im in srcs]
        measures = np.stack([focus_measure(g) for g in grays], axis=0)
    n = len(srcs)
    # argmax of the reversed stack = last maximum (the original lets later sources overwrite ties)
    index = (n - 1) - np.argmax(measures[::-1], axis=0)
    stack = np.stack(srcs, axis=0)
    sel = index[None, :, :, None] if stack.ndim == 4 else index[None]
    fused = np.take_along_axis(stack, sel, axis=0)[0]
    return fused, index


@register_method(
    MethodInfo(
        id="focusstack",
        name="FocusStack",
        paper="C. McGuinness, Simple Focus Stacker (2015), https://github.com/cmcguinness/focusstack; "
        "compared in Ma et al., SESF-Fuse, Neural Comput & Applic 2020, doi:10.1007/s00521-020-05358-9",
        source="cmcguinness/focusstack @ 4159421da9503b6a75de1cc4003e6b9ebd3e5ee8 FocusStack.py "
        "(re-implemented)",
        license="Apache-2.0",
        n_image_rule="native: argmax of |LoG| over N sources (last wins on ties)",
        version="2",
        notes="Version 2: the float focus measure in exactly rounded float64 NumPy (version 1's float32 "
        "OpenCV blur rounds by OpenCV's CPU dispatch, e.g. AVX2 vs SSE, moving near-tied pixels). "
        "Alignment off by default (align=True turns it on). sesf2020=True reproduces the SESF run: "
        "alignment on, 8-bit pipeline, R/B-swapped gray. Per-image values of that row depend on the "
        "OpenCV SIFT version; only the mean is reproducible.",
        params=(("align", False), ("sesf2020", False)),
        param_specs=(ParamSpec("align", "bool"), ParamSpec("sesf2020", "bool")),
    )
)
def fuse(images: Sequence[np.ndarray], *, align: bool = False, sesf2020: bool = False) -> FusionResult:
    """Registry entry: :func:`focusstack` as a :class:`FusionResult` (decision map = index / (N-1))."""
    fused, index = focusstack(images, align=align, sesf2020=sesf2020)
    return FusionResult(fused.astype(np.float32), (index / (len(images) - 1)).astype(np.float32))
