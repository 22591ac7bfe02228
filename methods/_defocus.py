"""Seeded, deterministic multi-focus pair synthesis from a natural image and its foreground mask.

Implements the defocus model of ``shared/docs/methods.md`` section 3.2 (GACN's training recipe, read
from Keep-Passion/GACN @ 4994c883 ``nets/coco_dataset.py`` / ``train_net.py``; LGPL-2.1; written in our
own words from the spec, no code copied):

* near-focus image ``N = mask * I + (1 - mask) * blur(I)`` (hard boundary);
* far-focus image ``F = (1 - Ms) * I + Ms * blur(I)`` where ``Ms`` is the mask blurred with a
  91x91 Gaussian (sigma 8): the object is defocused with its blur spreading across the boundary;
* ``blur`` is a Gaussian with sigma 2 and radius k drawn from {1..7} (kernel 2k+1);
* optional random shift (p = 0.5, integer dx, dy in [-2, 2], zero fill, one image), shared noise
  ``0.95 x + 0.05 n`` with ``n ~ N(0, s)``, ``s ~ U(0, 0.1)``, and a swap (p = 0.5) that exchanges
  the images and inverts the mask.

Differences from GACN's code, all deliberate: the blur radius, noise level and shift are drawn per
sample (GACN draws the radius and noise level per batch), and randomness comes from a
``numpy.random.Generator`` the caller seeds, so a sample depends only on (seed, epoch, index).
``padding="constant"`` reproduces GACN's zero padding of the blur; ``"reflect"`` avoids the dark
frame that zero padding puts on small crops.

Everything here works on single-channel float32 arrays in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_BORDERS = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


__all__ = ["DefocusConfig", "blurred_patch_pair", "gaussian_blur", "synthesize_pair"]

@dataclass(frozen=True)
class DefocusConfig:
    """Parameters of :func:`synthesize_pair` (defaults = methods.md section 3.2)."""

    blur_sigma: float = 2.0
    blur_radii: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    spread_sigma: float = 8.0
    spread_radius: int = 45
    p_shift: float = 0.5
    max_shift: int = 2
    max_noise_std: float = 0.1
    noise_mix: float = 0.05
    p_swap: float = 0.5
    padding: str = "constant"


def gaussian_blur(img: np.ndarray, sigma: float, radius: int, padding: str = "constant") -> np.ndarray:
    """Gaussian blur with an explicit (2 radius + 1)^2 kernel, normalised to sum 1.

    Parameters
    ----------
    img : ndarray
        HxW float32 image.
    sigma : float
        Standard deviation in pixels.
    radius : int
        Kernel radius; the kernel is ``2 * radius + 1`` wide.
    padding : {"constant", "reflect"}
        Zero padding (GACN) or reflect-101.

    Returns
    -------
    ndarray
        Blurred float32 image of the same shape.
    """
    if padding not in _BORDERS:
        raise ValueError(f"Expected padding in {sorted(_BORDERS)}, got {padding!r}")
    if img.ndim != 2:
        raise ValueError(f"Expected an HxW image, got shape {img.shape}")
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x**2) / (2.0 * sigma**2))
    k = (k / k.sum()).astype(np.float32)
    return cv2.sepFilter2D(img.astype(np.float32), cv2.CV_32F, k, k, borderType=_BORDERS[padding])


def _shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(img)
    h, w = img.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = img[ys, xs]
    return out


def synthesize_pair(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    config: DefocusConfig = DefocusConfig(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make one multi-focus pair from an all-in-focus image and its binary foreground mask.

    Parameters
    ----------
    image : ndarray
        HxW float32 gray image in [0, 1] (all in focus).
    mask : ndarray
        HxW binary mask (1 = foreground), any numeric dtype.
    rng : numpy.random.Generator
        Source of all randomness (seed it per sample for a deterministic pipeline).
    config : DefocusConfig
        Synthesis parameters.

    Returns
    -------
    a, b, target : ndarray
        Two float32 HxW source images and the float32 target decision map (1 where ``a`` is the
        sharp one). Before the optional swap ``a`` is the near-focus (foreground sharp) image.

    Raises
    ------
    ValueError
        If the image and mask shapes differ or the image is not 2-D.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or np.shape(mask) != image.shape:
        raise ValueError(
            f"Expected an HxW image and a mask of the same shape, got {image.shape} and {np.shape(mask)}"
        )
    m = (np.asarray(mask) > 0.5).astype(np.float32)
    radius = int(rng.choice(config.blur_radii))
    blurred = gaussian_blur(image, config.blur_sigma, radius, config.padding)
    soft = gaussian_blur(m, config.spread_sigma, config.spread_radius, config.padding)
    near = m * image + (1.0 - m) * blurred
    far = (1.0 - soft) * image + soft * blurred
    if rng.random() < config.p_shift:
        dy, dx = (int(v) for v in rng.integers(-config.max_shift, config.max_shift + 1, size=2))
        if rng.random() < 0.5:
            near = _shift(near, dy, dx)
        else:
            far = _shift(far, dy, dx)
    std = rng.uniform(0.0, config.max_noise_std)
    noise = rng.normal(0.0, std, size=image.shape).astype(np.float32)
    near = (1.0 - config.noise_mix) * near + config.noise_mix * noise
    far = (1.0 - config.noise_mix) * far + config.noise_mix * noise
    if rng.random() < config.p_swap:
        return far.astype(np.float32), near.astype(np.float32), (1.0 - m).astype(np.float32)
    return near.astype(np.float32), far.astype(np.float32), m


def blurred_patch_pair(
    patch: np.ndarray,
    rng: np.random.Generator,
    sigma_range: tuple[float, float] = (0.5, 3.0),
    margin: int = 0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """A labelled (sharp, blurred) patch pair in random order, as CNN-Fuse builds its training data.

    Parameters
    ----------
    patch : ndarray
        (P + 2 margin) x (P + 2 margin) float32 gray patch; the margin feeds the blur and is cropped.
    rng : numpy.random.Generator
        Source of randomness.
    sigma_range : tuple of float
        Blur sigma drawn uniformly in this range.
    margin : int
        Pixels cropped on each side after blurring.

    Returns
    -------
    a, b : ndarray
        P x P float32 patches.
    label : float
        1.0 if ``a`` is the sharp patch, else 0.0.
    """
    if patch.ndim != 2:
        raise ValueError(f"Expected an HxW patch, got shape {patch.shape}")
    sigma = rng.uniform(*sigma_range)
    blurred = gaussian_blur(patch, sigma, max(1, int(np.ceil(3 * sigma))), "reflect")
    sl = slice(margin, patch.shape[0] - margin)
    sharp, blur = patch[sl, sl].astype(np.float32), blurred[sl, sl]
    if rng.random() < 0.5:
        return sharp, blur, 1.0
    return blur, sharp, 0.0
