"""The SESF-Fuse decision pipeline shared by ``sesf`` (and its ablations), ``msrsf`` and ``gacn``.

One place for the steps that the official SESF-Fuse inference (Keep-Passion/SESF-Fuse
``nets/sesf_net.py`` @ 23e60b8c710919f5b2957b64c96e3c204443c6d7, LGPL-2.1) runs around its network,
and that GACN (Keep-Passion/GACN @ 4994c883, LGPL-2.1) and our MSR-SF re-implementation reuse:

* input conversion: 8-bit levels recovered from our float [0, 1] images (:func:`to_levels`,
  :func:`levels01`), skimage ``rgb2gray`` network input (:func:`network_gray`, :func:`gray01`);
* the focus decision ``SF_A > SF_B`` (strict, ties to B) on per-pixel activity maps;
* consistency verification: opening / small-region removal / closing / small-hole removal
  (:func:`consistency_check`, the old strict skimage area rule and its border modes);
* the guided-filter blend with the initial fused image in 0..255 as guidance, unclamped weights
  (:func:`blend_with_guided_map`), then clip and truncation to 8-bit levels (:func:`decide_and_blend`).

Our own code, written from ``shared/docs/methods.md`` sections 2-3 (as a derivative of LGPL-2.1 code it is
distributed under LGPL-2.1). Every method using this module puts :data:`PIPELINE_VERSION` into its
``MethodInfo.version`` (:func:`method_version`), so a change here invalidates all their cached results:
**bump PIPELINE_VERSION whenever an output of this module can change.**

NumPy/SciPy only: importing this module does not import torch.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from baselines._guided_filter import guided_filter, guided_filter_sesf_color
from bench.luminance import SKIMAGE

#: bump when any output of this module changes (it is part of every user's MethodInfo.version)
PIPELINE_VERSION = "1"

#: skimage.color.rgb2gray weights (the official inference's network input)
SKIMAGE_GRAY = np.array(SKIMAGE)
SF_RADIUS = 5
DISK_RADIUS = 5
AREA_RATIO = 0.01
GF_RADIUS = 4
GF_EPS = 0.1


def method_version(own: str) -> str:
    """``MethodInfo.version`` of a method built on this pipeline: its own version + the pipeline's."""
    return f"{own}+pipeline{PIPELINE_VERSION}"


# ------------------------------------------------------------------------------------------ conversion
def to_levels(img: np.ndarray) -> np.ndarray:
    """float [0, 1] image -> float64 in 0..255, exact integers when the input is 8-bit quantised.

    The official code works on the uint8 arrays read from disk; our loader hands over ``u / 255`` in
    float32. Recovering ``u`` exactly keeps the guided filter, the blend and the final truncation
    bit-compatible. Non-quantised inputs are simply scaled.
    """
    x = np.asarray(img, dtype=np.float64) * 255.0
    u = np.rint(x)
    return u if np.max(np.abs(x - u), initial=0.0) < 1e-3 else x


def network_gray(levels: np.ndarray) -> np.ndarray:
    """Gray image for the network (float32 [0, 1]) from 0..255 levels: skimage luminance for RGB,
    ``u/255`` for gray (SESF, MSR-SF)."""
    if levels.ndim == 3:
        return ((levels / 255.0) @ SKIMAGE_GRAY).astype(np.float32)
    return (levels.astype(np.float32) / np.float32(255.0)).astype(np.float32)


def levels01(img: np.ndarray) -> np.ndarray:
    """float64 copy in [0, 1], snapped to ``u/255`` when the image is 8-bit quantised (GACN).

    Equal to ``to_levels(img) / 255``, computed in place to keep one full-size temporary.
    """
    x = np.array(img, dtype=np.float64)  # always a copy: scaled in place below
    x *= 255.0
    u = np.rint(x)
    np.subtract(x, u, out=x)
    np.abs(x, out=x)
    if np.max(x, initial=0.0) < 1e-3:
        u /= 255.0
        return u
    x = np.array(img, dtype=np.float64)
    x *= 255.0
    x /= 255.0
    return x


def gray01(img01: np.ndarray) -> np.ndarray:
    """Network input (float32 [0, 1]) from a [0, 1] image: skimage luminance for RGB, the image for gray
    (GACN)."""
    return (img01 @ SKIMAGE_GRAY if img01.ndim == 3 else img01).astype(np.float32)


# -------------------------------------------------------------------------------- decision and blend
def _disk(radius: int) -> np.ndarray:
    """``skimage.morphology.disk``: x^2 + y^2 <= r^2 on a (2r+1)^2 grid."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y) <= radius * radius


def _fill_small(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Set to False every 4-connected True component of ``mask`` with area ``< min_area`` (strict)."""
    labels, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    small = sizes < min_area
    small[0] = False
    return mask & ~small[labels]


def consistency_check(d0: np.ndarray, radius: int = DISK_RADIUS, ratio: float = AREA_RATIO) -> np.ndarray:
    """SESF's morphological clean-up of a binary decision map (official order and border rules).

    Opening with ``disk(radius)``; 1-regions smaller than ``ratio*H*W`` become 0; closing; 0-regions
    smaller than ``ratio*H*W`` become 1. Areas compare with the old skimage rule (strictly smaller).

    Parameters
    ----------
    d0 : ndarray of bool
        HxW initial decision (True = take A).

    Returns
    -------
    ndarray of bool
    """
    h, w = d0.shape
    t = ratio * h * w
    fp = _disk(radius)
    d = ndi.binary_erosion(d0, structure=fp, border_value=1)
    d = ndi.binary_dilation(d, structure=fp, border_value=0)
    d = _fill_small(d, t)
    d = ndi.binary_dilation(d, structure=fp, border_value=0)
    d = ndi.binary_erosion(d, structure=fp, border_value=1)
    d = ~_fill_small(~d, t)
    return d


def blend_with_guided_map(a: np.ndarray, b: np.ndarray, d1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Guided-filter the binary map with the initial fused image (0..255) and blend; no clamping.

    Returns the unclipped float64 fused image (0..255 scale) and the filtered weight map ``q``.
    """
    p = d1.astype(np.float64)
    if a.ndim == 3:
        guide = a * p[:, :, None] + b * (1.0 - p[:, :, None])
        q = guided_filter_sesf_color(guide, p, GF_RADIUS, GF_EPS)
        qq = q[:, :, None]
    else:
        guide = a * p + b * (1.0 - p)
        q = guided_filter(guide, p, GF_RADIUS, GF_EPS)
        qq = q
    return a * qq + b * (1.0 - qq), q


def sf_decision(sf_a, sf_b):
    """The initial decision ``SF_A > SF_B`` (strict: exact ties go to B); arrays or tensors."""
    return sf_a > sf_b


def decide_and_blend(
    la: np.ndarray, lb: np.ndarray, d0: np.ndarray, official_rounding: bool = True, strip_rows: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Consistency check of ``d0``, guided-filter blend of the 0..255 levels ``la``/``lb``, clip to
    [0, 255] and (``official_rounding``) truncation to integer levels.

    ``strip_rows`` > 0 blends by strips of that many rows (bounded memory on big images; equal up to
    float rounding); the consistency check always sees the whole map (its area rule is global).

    Returns
    -------
    fused : ndarray
        float32 in [0, 1], shape of ``la``.
    d1 : ndarray of bool
        The cleaned decision map (True = take A).
    """
    d1 = consistency_check(d0)
    if strip_rows:
        return _blend_strips(la, lb, d1, strip_rows, official_rounding), d1
    fused, _ = blend_with_guided_map(la, lb, d1)
    fused = np.clip(fused, 0.0, 255.0)
    if official_rounding:
        fused = np.floor(fused)
    return (fused / 255.0).astype(np.float32), d1


def _blend_strips(la: np.ndarray, lb: np.ndarray, d1: np.ndarray, rows: int, official_rounding: bool):
    """:func:`blend_with_guided_map` + clip + truncation by strips of ``rows`` rows (big images).

    The guided filter's output depends on the rows within ``2 * GF_RADIUS``; each strip is filtered
    with that many extra rows on each inner side and only its own rows are kept, so the result equals
    the whole-image one up to the float rounding of the clipped-window box sums.
    """
    h = d1.shape[0]
    halo = 2 * GF_RADIUS
    out = np.empty(la.shape, np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        o0, o1 = max(0, r0 - halo), min(h, r1 + halo)
        f, _ = blend_with_guided_map(la[o0:o1], lb[o0:o1], d1[o0:o1])
        f = np.clip(f[r0 - o0 : r1 - o0], 0.0, 255.0)
        if official_rounding:
            f = np.floor(f)
        out[r0:r1] = f / 255.0
    return out
