"""Shared pieces of the three re-implementations (fmm, msrsf, sff): weights location, cached model
loading, colour helpers. torch is imported lazily."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from bench import luminance

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def weights_path(method_id: str, weights: str | None = None) -> Path:
    """The committed weights ``methods/weights/<id>.pt`` unless ``weights`` names another file."""
    return Path(weights) if weights else WEIGHTS_DIR / f"{method_id}.pt"


@functools.lru_cache(maxsize=8)
def _cached(method_id: str, path: str, device: str):
    from bench.training import get_trainer, load_model

    return load_model(get_trainer(method_id), path, device)


def get_model(method_id: str, weights: str | None, device: str):
    """Load (once per process) the eval-mode model of ``method_id`` on ``device``."""
    p = weights_path(method_id, weights).resolve()
    return _cached(method_id, str(p), str(device))


def check_sources(images, method_id: str) -> list[np.ndarray]:
    """Validate N >= 2 float images of one shape; returns float32 arrays."""
    if len(images) < 2:
        raise ValueError(f"{method_id}: expected at least 2 source images, got {len(images)}")
    imgs = [np.asarray(im, dtype=np.float32) for im in images]
    shape = imgs[0].shape
    for im in imgs[1:]:
        if im.shape != shape:
            raise ValueError(f"{method_id}: expected sources of equal shape, got {shape} and {im.shape}")
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"{method_id}: expected HxW or HxWx3 images, got shape {shape}")
    return imgs


# BT.601 full-range luma weights (OpenCV ``COLOR_RGB2GRAY``, the training data's gray).
BT601 = np.array(luminance.BT601, dtype=np.float64)
# scikit-image ``rgb2gray`` weights (SESF-Fuse / GACN inference gray).
SKIMAGE = np.array(luminance.SKIMAGE, dtype=np.float64)


def gray(img: np.ndarray, weights: np.ndarray = BT601) -> np.ndarray:
    """HxW float32 gray of an HxW or HxWx3 image."""
    return img.astype(np.float32) if img.ndim == 2 else (img.astype(np.float64) @ weights).astype(np.float32)


def rgb_to_ycbcr(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-range BT.601 YCbCr of an RGB float image in [0, 1] (Cb, Cr centred on 0.5)."""
    x = img.astype(np.float64)
    y = x @ BT601
    cb = 0.5 + (x[..., 2] - y) * (0.5 / (1 - 0.114))
    cr = 0.5 + (x[..., 0] - y) * (0.5 / (1 - 0.299))
    return y, cb, cr


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, clipped to [0, 1], float32."""
    r = y + (cr - 0.5) * (2 * (1 - 0.299))
    b = y + (cb - 0.5) * (2 * (1 - 0.114))
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    return np.clip(np.stack([r, g, b], -1), 0.0, 1.0).astype(np.float32)


def fuse_chroma(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """``(Ca|Ca-0.5| + Cb|Cb-0.5|) / (|Ca-0.5| + |Cb-0.5|)``, 0.5 where both are 0.5."""
    wa, wb = np.abs(ca - 0.5), np.abs(cb - 0.5)
    den = wa + wb
    out = np.full_like(ca, 0.5)
    np.divide(ca * wa + cb * wb, den, out=out, where=den > 0)
    return out
