"""Image I/O and the one image convention.

Everything that enters a method or metric is ``float32`` in ``[0, 1]``, shaped ``HxW`` (gray) or
``HxWx3`` (RGB). This module is the only place where files or integer arrays are converted.

- 8-bit files are divided by 255, 16-bit files by 65535 (PNG and TIFF, gray and colour: TIFFs with
  more than 8 bits or float samples are read with ``tifffile``, everything else with Pillow).
- Float (and other non-8/16-bit) samples must lie in [0, 1] unless an input range says how to scale
  them (``--input-range``: ``LO,HI`` or ``auto``, see :func:`parse_input_range`); values outside the
  range and NaN/inf pixels are errors naming the file, never clipped.
- RGBA and LA lose their alpha channel, with a warning.
- Palette and 1-bit images are expanded.
- Among sources, a gray image next to colour images is promoted to three equal channels.

Problems with user-supplied files raise :class:`bench.errors.UserError` with a one-line message that
names the file.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import UserError
from bench.luminance import MATLAB

Image.MAX_IMAGE_PIXELS = None  # focus stacks are large; we trust declared datasets

READ_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def to_float(img: np.ndarray) -> np.ndarray:
    """Convert an array to the convention: float32 in [0, 1].

    uint8 is divided by 255, uint16 by 65535, bool maps to {0, 1}; float input must be finite and in
    [0, 1] (up to a rounding slack of 1e-6, which is clipped); anything else raises ``ValueError``
    rather than being clipped silently.
    """
    img = np.asarray(img)
    if img.dtype == np.uint8:
        out = img.astype(np.float32) / np.float32(255.0)
    elif img.dtype == np.uint16:
        out = img.astype(np.float32) / np.float32(65535.0)
    elif img.dtype == bool:
        out = img.astype(np.float32)
    elif np.issubdtype(img.dtype, np.floating):
        out = img.astype(np.float32, copy=False)
        if out.size:
            lo, hi = float(np.min(out)), float(np.max(out))
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError("image contains NaN or infinite values")
            if lo < -1e-6 or hi > 1 + 1e-6:
                raise ValueError(f"float image values span [{lo:.6g}, {hi:.6g}], outside [0, 1]")
            if lo < 0 or hi > 1:
                out = np.clip(out, 0.0, 1.0)
    else:
        raise TypeError(f"Expected uint8, uint16, bool or float image, got dtype {img.dtype}")
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]
    if out.ndim not in (2, 3) or (out.ndim == 3 and out.shape[2] != 3):
        raise ValueError(f"Expected an HxW or HxWx3 image, got shape {img.shape}")
    return out


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float in [0, 1] -> uint8 with round-half-up (MATLAB ``im2uint8``).

    ``floor(clip(x, 0, 1) * 255 + 0.5)`` in float64, computed in place on one copy (the same IEEE
    operations in the same order as the expression, so the same bytes; half the time of the
    expression's four temporaries)."""
    a = np.array(img, dtype=np.float64)  # a copy: the input is never modified
    np.clip(a, 0.0, 1.0, out=a)
    a *= 255.0
    a += 0.5
    np.floor(a, out=a)
    return a.astype(np.uint8)


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
        arr = arr.astype(np.int32)  # scaled only with an input range (see _scale)
    elif mode == "F":
        arr = arr.astype(np.float32)
    return arr


@dataclass(frozen=True)
class ImageMeta:
    """What :func:`read_image_meta` found in a file: its sample depth and any scaling applied.

    ``bit_depth`` is 8 or 16 for integer files, 32/64 for float files; ``scaled_from`` is the
    ``(lo, hi)`` range mapped to [0, 1] for float/other samples (``None`` for 8/16-bit files).
    """

    bit_depth: int
    dtype: str
    format: str
    scaled_from: tuple[float, float] | None = None


def parse_input_range(spec: str | None) -> tuple[float, float] | str | None:
    """``--input-range``: ``None``/``unit`` (float samples must be in [0, 1]), ``auto`` or ``LO,HI``.

    ``auto`` takes the range a TIFF declares (SMinSampleValue/SMaxSampleValue), else the smallest of
    [0, 1], [0, 255], [0, 65535] holding every value; ``LO,HI`` maps LO to 0 and HI to 1.
    """
    if spec is None or spec in ("", "unit"):
        return None
    if spec == "auto":
        return "auto"
    lo_s, sep, hi_s = spec.partition(",")
    try:
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise UserError(f"--input-range {spec!r}: expected auto, unit or LO,HI with LO < HI (e.g. 0,255)")
    return (lo, hi)


def _tiff_header(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _read_tiff_wide(path: Path):
    """Read a TIFF with tifffile when Pillow would lose depth (> 8 bits or float); else None."""
    import tifffile

    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        if page.bitspersample <= 8 and page.sampleformat in (1, 2) or page.photometric == 3:
            return None  # 1-8 bit integer or palette: Pillow reads these exactly
        axes = page.axes
        try:
            arr = page.asarray()
        except Exception as exc:  # noqa: BLE001 - e.g. LZW/Deflate without imagecodecs: OpenCV's libtiff
            arr = _read_cv2(path)
            if arr is None:
                raise UserError(f"{path}: cannot decode this {page.bitspersample}-bit TIFF ({exc})") from None
            axes = "YXS" if arr.ndim == 3 else "YX"  # RGB(A) order; alpha is dropped below
        declared = None
        smin, smax = page.tags.get(340), page.tags.get(341)
        if smin is not None and smax is not None:
            lo = np.min(smin.value) if np.ndim(smin.value) else smin.value
            hi = np.max(smax.value) if np.ndim(smax.value) else smax.value
            declared = (float(lo), float(hi))
        miniswhite = page.photometric == 0
        extrasamples = len(page.extrasamples or ())
    if axes.startswith("S") and arr.ndim == 3:
        arr = np.moveaxis(arr, 0, -1)
    arr = np.squeeze(arr) if arr.ndim > 3 else arr
    if arr.ndim == 3 and (extrasamples or arr.shape[2] in (2, 4)) and arr.shape[2] in (2, 4):
        warnings.warn(f"{path}: dropping the alpha channel", stacklevel=4)
        arr = arr[:, :, : arr.shape[2] - 1]
    if miniswhite and arr.dtype == np.uint16:
        arr = np.uint16(65535) - arr
    return arr, declared


def _scale(arr: np.ndarray, path: Path, input_range, declared) -> tuple[np.ndarray, tuple | None]:
    """Map non-8/16-bit samples to [0, 1]; every out-of-range or non-finite value is an error."""
    a = arr.astype(np.float64) if arr.dtype != np.float32 else arr
    if a.size == 0:
        raise UserError(f"{path}: image has no pixels")
    lo, hi = float(np.min(a)), float(np.max(a))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        n = int(np.count_nonzero(~np.isfinite(a)))
        raise UserError(f"{path}: {n} pixel values are NaN or infinite")
    if input_range is None:
        rng = (0.0, 1.0)
    elif input_range == "auto":
        rng = declared or next(r for r in ((0.0, 1.0), (0.0, 255.0), (0.0, 65535.0), (lo, hi)) if lo >= r[0]
                                and hi <= r[1])
    else:
        rng = tuple(input_range)
    if rng[1] <= rng[0]:
        raise UserError(f"{path}: constant image with values {lo:g}; pass --input-range LO,HI")
    if lo < rng[0] or hi > rng[1]:
        hint = " (pass --input-range 0,255, LO,HI or auto to scale them)" if input_range is None else ""
        raise UserError(
            f"{path}: pixel values span [{lo:.6g}, {hi:.6g}], outside the input range "
            f"[{rng[0]:g}, {rng[1]:g}]{hint}"
        )
    if rng == (0.0, 1.0):
        out = a.astype(np.float32, copy=False)
    else:
        out = ((a - rng[0]) / (rng[1] - rng[0])).astype(np.float32)
    return np.clip(out, 0.0, 1.0), (rng if rng != (0.0, 1.0) or input_range is not None else None)


def read_image(path: str | os.PathLike, input_range=None) -> np.ndarray:
    """Read one image file into float32 [0, 1], HxW or HxWx3 (see :func:`read_image_meta`)."""
    return read_image_meta(path, input_range)[0]


def read_image_meta(path: str | os.PathLike, input_range=None) -> tuple[np.ndarray, ImageMeta]:
    """Read one image file into float32 [0, 1], HxW or HxWx3, and describe what the file held.

    ``input_range``: the result of :func:`parse_input_range` (``None``, ``"auto"`` or ``(lo, hi)``),
    used for float and other non-8/16-bit samples only.

    Raises
    ------
    UserError
        The file is missing, unreadable, truncated or not an image, holds NaN/inf pixels, or float
        values outside the input range.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not an image file")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied")
    declared = None
    fmt = ""
    try:
        wide = None
        if _tiff_header(path):
            fmt = "TIFF"
            try:
                wide = _read_tiff_wide(path)
            except UserError:
                raise
            except Exception:  # noqa: BLE001 - let Pillow try, and report its error
                wide = None
        if wide is not None:
            arr, declared = wide
        elif _png_is_16bit_colour(path):
            fmt = "PNG"
            arr = _read_cv2(path)
            if arr is None:
                raise UserError(f"{path}: cannot decode 16-bit PNG")
            if arr.ndim == 3 and arr.shape[2] == 4:
                warnings.warn(f"{path}: dropping the alpha channel", stacklevel=2)
                arr = arr[:, :, :3]
        else:
            with Image.open(path) as im:
                im.load()
                fmt = fmt or (im.format or "")
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
    if arr.ndim == 3 and arr.shape[2] == 2:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3)):
        raise UserError(f"{path}: unsupported image layout {arr.shape} (expected gray or RGB)")
    scaled = None
    if arr.dtype in (np.uint8, np.uint16, np.bool_):
        depth = 16 if arr.dtype == np.uint16 else 8
        out = to_float(arr)
    elif np.issubdtype(arr.dtype, np.number):
        depth = 8 * arr.dtype.itemsize
        out, scaled = _scale(arr, path, input_range, declared)
        if out.ndim == 3 and out.shape[2] == 1:
            out = out[:, :, 0]
    else:
        raise UserError(f"{path}: unsupported sample type {arr.dtype}")
    return out, ImageMeta(depth, str(arr.dtype), fmt, scaled)


def harmonise(images: Sequence[np.ndarray], names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Check a set of sources and bring them to one layout.

    Gray sources next to colour ones are promoted to three channels. Different sizes, or fewer
    than two sources, raise :class:`UserError` naming the files.
    """
    names = list(names) if names is not None else [f"source {i + 1}" for i in range(len(images))]
    if len(images) < 2:
        raise UserError(
            f"need at least two source images, got {len(images)}" + (f" ({names[0]})" if names else "")
        )
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


def read_sources(
    paths: Sequence[str | os.PathLike], input_range=None, metas: list | None = None
) -> list[np.ndarray]:
    """Read N >= 2 source images and harmonise them (see :func:`harmonise`).

    ``input_range`` as in :func:`read_image_meta`; ``metas``, when a list, receives each file's
    :class:`ImageMeta` (so a caller can pick the output bit depth).
    """
    if len(paths) < 2:
        raise UserError(
            f"need at least two source images, got {len(paths)}" + (f": {paths[0]}" if paths else "")
        )
    images = []
    for p in paths:
        img, meta = read_image_meta(p, input_range)
        images.append(img)
        if metas is not None:
            metas.append(meta)
    return harmonise(images, [str(p) for p in paths])


def to_uint16(img: np.ndarray) -> np.ndarray:
    """float in [0, 1] -> uint16 with round-half-up (MATLAB ``im2uint16``)."""
    return np.floor(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


WRITE_FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}


def check_output_path(path: str | os.PathLike, what: str = "output") -> Path:
    """Refuse, before any work, an output path that is a folder, has no known format or cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: {what} path is a directory; give a file name such as {path / 'fused.png'}")
    if path.suffix.lower() not in WRITE_FORMATS:
        raise UserError(
            f"{path}: unknown {what} format {path.suffix or '(no extension)'!r}; use .png, .tif or .tiff"
        )
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write here ({probe} is not a writable folder)")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{path}: cannot overwrite (permission denied)")
    return path


def _png_text_chunk(key: str, text: str) -> bytes:
    import struct
    import zlib

    data = key.encode("latin-1") + b"\x00" + text.encode("latin-1", "replace")
    return struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))


def png_params() -> list[int]:
    """OpenCV's PNG settings of every PNG we write (cached images, ``fuse`` outputs): zlib level 1 with the
    run-length strategy and the Paeth filter on every row. Lossless like any PNG; measured against the
    previous setting of the cache (level 1, default strategy and adaptive filters) on 15 images of lytro,
    classic_gray, mffw, mfi_whu and lytro_triple: encoding 17.7 -> 12.2 ms per raw MB (-31 %), decoding 8.4
    -> 8.0 ms/MB, files 47 % -> 43 % of the raw size. Uncompressed PNG (level 0, no filter) would encode at
    0.9 ms/MB and decode at 0.8 ms/MB, i.e. ~3.4 s less CPU on a full lytro table (~0.7 %), but the files
    are 2.3x larger (lytro: ~260 MB instead of ~110 MB) in a cache that persists per user: not taken.
    OpenCV before 4.11 has no filter setting; it then writes with its default filters (still lossless, the
    cache key is the pixels' sha256). For the ``fuse`` command's output (a 520x520 colour image) against
    Pillow's default (zlib level 6, adaptive filters): 84 -> 12 ms, file 380 -> 385 KB."""
    import cv2

    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    if hasattr(cv2, "IMWRITE_PNG_FILTER"):
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH]
    return params


def swap_red_blue(a: np.ndarray) -> np.ndarray:
    """RGB(A) <-> OpenCV's BGR(A) channel order (a view; gray images as they are)."""
    if a.ndim == 2:
        return a
    return a[:, :, ::-1] if a.shape[2] != 4 else a[:, :, [2, 1, 0, 3]]


def encode_png(img: np.ndarray) -> bytes:
    """A uint8 or uint16 gray/RGB(A) array as PNG bytes (OpenCV, :func:`png_params`)."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(swap_red_blue(img)), png_params())
    if not ok:  # pragma: no cover - OpenCV failure
        raise OSError("PNG encoding failed")
    return buf.tobytes()


def encode_image(img: np.ndarray, fmt: str, bit_depth: int = 8, description: str = "") -> bytes:
    """Encode a float [0, 1] image (or uint8/uint16 array) as PNG/TIFF/JPEG bytes at ``bit_depth``."""
    import io

    a = np.asarray(img)
    if bit_depth not in (8, 16):
        raise UserError(f"--bit-depth must be 8 or 16, got {bit_depth}")
    if a.dtype == np.uint8 and bit_depth == 16:
        a = a.astype(np.uint16) * np.uint16(257)
    elif a.dtype not in (np.uint8, np.uint16):
        a = to_uint16(a) if bit_depth == 16 else to_uint8(a)
    elif a.dtype == np.uint16 and bit_depth == 8:
        a = to_uint8(a.astype(np.float64) / 65535.0)
    if fmt == "TIFF":
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, a, photometric="rgb" if a.ndim == 3 else "minisblack",
                         description=description or None, metadata=None)
        return buf.getvalue()
    if fmt == "JPEG":
        if a.dtype != np.uint8:
            raise UserError("JPEG holds 8 bits only; use .png or .tif for 16-bit output")
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=95)
        return buf.getvalue()
    data = encode_png(a)
    if description:  # a tEXt chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)
        data = data[:33] + _png_text_chunk("Description", description) + data[33:]
    return data


def write_image(
    path: str | os.PathLike, img: np.ndarray, bit_depth: int = 8, description: str = ""
) -> str:
    """Write ``img`` in the format its extension names (.png, .tif/.tiff; .jpg/.jpeg with a warning),
    at ``bit_depth`` (8 or 16), atomically (temporary file + rename). Returns a short description of
    what was written (``"16-bit PNG"``)."""
    path = check_output_path(path)
    fmt = WRITE_FORMATS[path.suffix.lower()]
    if fmt == "JPEG":
        if bit_depth != 8:
            raise UserError(f"{path}: JPEG holds 8 bits only; use .png or .tif for {bit_depth}-bit output")
        warnings.warn(f"{path}: JPEG is lossy; the written pixels differ from the fused ones "
                      "(use .png or .tif for exact output)", stacklevel=2)
    data = encode_image(img, fmt, bit_depth, description)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return f"{bit_depth}-bit {fmt}"


def write_png(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write a float [0, 1] (or uint8) image as an 8-bit PNG, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = img if np.asarray(img).dtype == np.uint8 else to_uint8(img)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(encode_png(np.asarray(arr)))
    os.replace(tmp, path)


def luminance(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` weights on a float image (no rounding); gray input is returned as is."""
    if img.ndim == 2:
        return img
    w = np.array(MATLAB, dtype=np.float64)
    return img.astype(np.float64) @ w
