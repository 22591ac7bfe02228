"""Image I/O and the one image convention.

Everything that enters a method or metric is ``float32`` in ``[0, 1]``, shaped ``HxW`` (gray) or
``HxWx3`` (RGB). This module is the only place where files or integer arrays are converted.

- 8-bit files are divided by 255, 16-bit files by 65535.
- RGBA and LA lose their alpha channel, with a warning.
- Palette and 1-bit images are expanded.
- Among sources, a gray image next to colour images is promoted to three equal channels.

Problems with user-supplied files raise :class:`bench.errors.UserError` with a one-line message that
names the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import UserError
from bench.luminance import MATLAB

Image.MAX_IMAGE_PIXELS = None  # focus stacks are large; we trust declared datasets

READ_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def to_float(img: np.ndarray) -> np.ndarray:
    """Convert an array to the convention: float32 in [0, 1].

    uint8 is divided by 255, uint16 by 65535, bool maps to {0, 1}; float input is assumed to be in
    [0, 1] already and is clipped to that range.
    """
    img = np.asarray(img)
    if img.dtype == np.uint8:
        out = img.astype(np.float32) / np.float32(255.0)
    elif img.dtype == np.uint16:
        out = img.astype(np.float32) / np.float32(65535.0)
    elif img.dtype == bool:
        out = img.astype(np.float32)
    elif np.issubdtype(img.dtype, np.floating):
        out = np.clip(img.astype(np.float32, copy=False), 0.0, 1.0)
    else:
        raise TypeError(f"Expected uint8, uint16, bool or float image, got dtype {img.dtype}")
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]
    if out.ndim not in (2, 3) or (out.ndim == 3 and out.shape[2] != 3):
        raise ValueError(f"Expected an HxW or HxWx3 image, got shape {img.shape}")
    return out


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float in [0, 1] -> uint8 with round-half-up (MATLAB ``im2uint8``)."""
    return np.floor(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _png_is_16bit_colour(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(26)
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 26 and head[24] == 16 and head[25] in (2, 6)


def _read_cv2(path: Path) -> np.ndarray | None:
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        return None
    if arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]] if arr.shape[2] in (3, 4) else arr
    return arr


def _pil_to_array(im: Image.Image, path: Path) -> np.ndarray:
    mode = im.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        warnings.warn(f"{path}: dropping the alpha channel", stacklevel=3)
        im = im.convert("RGB" if mode != "LA" else "L")
    elif mode in ("P", "CMYK", "YCbCr", "HSV", "LAB"):
        im = im.convert("RGB")
    elif mode == "1":
        im = im.convert("L")
    arr = np.asarray(im)
    if mode.startswith("I;16") or (mode == "I" and arr.max(initial=0) <= 65535 and arr.min(initial=0) >= 0):
        arr = arr.astype(np.uint16)
    elif mode == "I":
        raise UserError(f"{path}: 32-bit integer images are not supported")
    elif mode == "F":
        arr = arr.astype(np.float32)
    return arr


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one image file into float32 [0, 1], HxW or HxWx3.

    Raises
    ------
    UserError
        The file is missing, unreadable, truncated or not an image.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not an image file")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied")
    try:
        if _png_is_16bit_colour(path):
            arr = _read_cv2(path)
            if arr is None:
                raise UserError(f"{path}: cannot decode 16-bit PNG")
            if arr.ndim == 3 and arr.shape[2] == 4:
                warnings.warn(f"{path}: dropping the alpha channel", stacklevel=2)
                arr = arr[:, :, :3]
        else:
            with Image.open(path) as im:
                im.load()
                arr = _pil_to_array(im, path)
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in msg.lower() or isinstance(exc, (SyntaxError, ValueError)):
            raise UserError(f"{path}: truncated or corrupt image ({msg})") from None
        raise UserError(f"{path}: cannot read image ({msg})") from None
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return to_float(arr)


def harmonise(images: Sequence[np.ndarray], names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Check a set of sources and bring them to one layout.

    Gray sources next to colour ones are promoted to three channels. Different sizes, or fewer
    than two sources, raise :class:`UserError` naming the files.
    """
    names = list(names) if names is not None else [f"source {i + 1}" for i in range(len(images))]
    if len(images) < 2:
        raise UserError(f"need at least two source images, got {len(images)}" + (f" ({names[0]})" if names else ""))
    sizes = [im.shape[:2] for im in images]
    for n, s in zip(names, sizes, strict=True):
        if s != sizes[0]:
            raise UserError(
                f"{n}: size {s[1]}x{s[0]} differs from {names[0]} ({sizes[0][1]}x{sizes[0][0]}); "
                "sources must have equal sizes"
            )
    if any(im.ndim == 3 for im in images):
        images = [np.repeat(im[:, :, None], 3, axis=2) if im.ndim == 2 else im for im in images]
    return list(images)


def read_sources(paths: Sequence[str | os.PathLike]) -> list[np.ndarray]:
    """Read N >= 2 source images and harmonise them (see :func:`harmonise`)."""
    if len(paths) < 2:
        raise UserError(
            f"need at least two source images, got {len(paths)}" + (f": {paths[0]}" if paths else "")
        )
    return harmonise([read_image(p) for p in paths], [str(p) for p in paths])


def write_png(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write a float [0, 1] (or uint8) image as an 8-bit PNG, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = img if np.asarray(img).dtype == np.uint8 else to_uint8(img)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(arr).save(tmp, format="PNG")
    os.replace(tmp, path)


def luminance(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` weights on a float image (no rounding); gray input is returned as is."""
    if img.ndim == 2:
        return img
    w = np.array(MATLAB, dtype=np.float64)
    return img.astype(np.float64) @ w
