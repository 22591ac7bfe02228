"""The MST toolbox methods' driver: [0, 1] sources -> the toolbox's 0..255 scale -> core -> [0, 1].

Written from Yu Liu's MST-SR fusion toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e (files ``selc.m``, ``selb.m``, ``es2.m``, ``adb.m``, which go back
to Oliver Rockinger's 1999 Image Fusion Toolbox). The repository has no licence file; nothing is copied,
the behaviour is re-implemented from ``shared/docs/methods.md`` sections 1.3-1.5 and checked against the
toolbox's saved output (``tests/test_baselines_mst.py``).

MATLAB-parity note: :func:`matlab_uint8` is MATLAB ``uint8(x)``: round half away from zero, saturate to
[0, 255]. Every channel is fused independently, all channels of all sources in one batch
(:func:`run_toolbox_method`; the toolbox demos looped over RGB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from baselines._mst_rules import _CHUNK_BYTES
from bench.types import FusionResult

QUANTIZE_MODES = ("round", "truncate", "none")

# float32 k/255 times 255 is within ~2e-5 of k; anything within this of an integer grid is 8-bit data.
_EIGHT_BIT_TOL = 1e-3


def matlab_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)`` on finite doubles: round half away from zero, saturate to [0, 255].

    Returned as float64 holding integer values (so it can be divided by 255 without a second cast).
    """
    out = np.floor(np.asarray(x, dtype=np.float64) + 0.5)
    return np.clip(out, 0.0, 255.0, out=out)


def truncate_uint8(x: np.ndarray) -> np.ndarray:
    """``np.clip(x, 0, 255).astype(np.uint8)``: truncation, as the SESF experiment saved toolbox outputs."""
    out = np.clip(np.asarray(x, dtype=np.float64), 0.0, 255.0)
    return np.floor(out, out=out)


def check_sources(images: Sequence[np.ndarray], method: str) -> list[np.ndarray]:
    """Validate N >= 2 float sources of one shape (HxW or HxWxC) and return them as arrays."""
    if isinstance(images, np.ndarray) or not isinstance(images, Sequence):
        raise TypeError(f"{method}: expected a sequence of source images, got {type(images).__name__}")
    if len(images) < 2:
        raise ValueError(f"{method}: expected at least 2 source images, got {len(images)}")
    arrs = [np.asarray(im) for im in images]
    for i, a in enumerate(arrs):
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{method}: expected float images in [0, 1], source {i} has dtype {a.dtype}")
        if a.ndim not in (2, 3):
            raise ValueError(f"{method}: expected HxW or HxWxC images, source {i} has shape {a.shape}")
        if a.shape != arrs[0].shape:
            raise ValueError(
                f"{method}: expected sources of equal shape, got {arrs[0].shape} and {a.shape} (source {i})"
            )
    return arrs


def _near_grid(s32: np.ndarray, r32: np.ndarray) -> bool:
    """``max|s32 - r32| <= _EIGHT_BIT_TOL`` with every value finite, for C-contiguous float32 arrays.

    OpenCV's infinity norm of the difference is one read-only pass (the float32 difference of a value and
    its nearest integer is exact, so it equals NumPy's); ``cv2.norm`` skips NaN, hence the explicit
    ``checkRange`` (False on NaN or infinity, as NumPy's NaN-propagating maximum made the check fail).
    """
    a, b = s32.reshape(s32.shape[0], -1), r32.reshape(r32.shape[0], -1)
    if not cv2.checkRange(a)[0]:
        return False
    return float(cv2.norm(a, b, cv2.NORM_INF)) <= _EIGHT_BIT_TOL


def _snap_to_grid(im: np.ndarray, dtype: type = np.float64) -> np.ndarray | None:
    """``rint(255 * im)`` (as ``dtype``) if every value is within ``_EIGHT_BIT_TOL`` of it, else None.

    The check runs in float32 (8-bit data is within ~2e-5 of the grid there too), by blocks of rows: the
    float32 scratch is reused, and only the result is a full-size allocation.
    """
    h = im.shape[0]
    rows = max(1, _CHUNK_BYTES // max(1, 4 * int(np.prod(im.shape[1:]))))
    out = np.empty(im.shape, dtype=dtype)
    s32 = np.empty((min(rows, h),) + im.shape[1:], dtype=np.float32)
    r32 = np.empty_like(s32) if out.dtype != np.float32 else None
    for r0 in range(0, h, rows):
        n = min(rows, h - r0)
        s = s32[:n]
        r = out[r0 : r0 + n] if r32 is None else r32[:n]
        np.multiply(im[r0 : r0 + n], np.float32(255.0), out=s, dtype=np.float32)
        np.rint(s, out=r)
        if not _near_grid(s, r):
            return None
        if r32 is not None:
            out[r0 : r0 + n] = r
    return out


def to_toolbox_scale(
    images: Sequence[np.ndarray], grid_dtype: type = np.float64
) -> tuple[list[np.ndarray], bool]:
    """Float [0, 1] sources -> 0..255 doubles (the scale the toolbox was called with), each (H, W, K).

    If every value lies within 1e-3 of the 8-bit grid (the sources came from 8-bit files), the values
    are snapped to the exact integers, so the result equals the toolbox's on ``double(uint8 image)``.
    Snapped planes are returned as ``grid_dtype`` (float32 holds those integers exactly, in half the
    memory); the others are always float64.

    Returns
    -------
    planes : list of ndarray
        One (H, W, K) float64 array per source (K = 1 for gray).
    eight_bit : bool
        Whether the inputs were 8-bit valued (and snapped).

    Raises
    ------
    ValueError
        If a source holds NaN or infinite values.
    """
    shaped = [im if im.ndim == 3 else im[:, :, None] for im in images]
    grid = []
    for im in shaped:
        g = _snap_to_grid(im, grid_dtype)
        if g is None:
            grid = None
            break
        grid.append(g)
    if grid is not None:
        return grid, True
    for i, im in enumerate(shaped):
        if not np.all(np.isfinite(im)):
            raise ValueError(f"Expected finite pixel values, source {i} contains NaN or infinity")
    return [im.astype(np.float64) * 255.0 for im in shaped], False


def _resize_planes(x: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """cv2 INTER_AREA resize of each channel of an (H, W, K) array to ``size_hw``."""
    h, w = size_hw
    chans = [
        cv2.resize(np.ascontiguousarray(x[:, :, k]), (w, h), interpolation=cv2.INTER_AREA)
        for k in range(x.shape[2])
    ]
    return np.stack(chans, axis=2)


def run_toolbox_method(
    images: Sequence[np.ndarray],
    core: Callable[[list[np.ndarray]], np.ndarray],
    method: str,
    *,
    quantize: str = "round",
    resize_to_even: bool = False,
) -> FusionResult:
    """Shared wrapper: [0, 1] floats -> toolbox scale -> ``core`` (all channels batched) -> [0, 1] floats.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1], all HxW or all HxWxC.
    core : callable
        ``core(planes) -> fused`` on a list of N (H, W, K) arrays on the 0..255 scale, returning a new
        (H, W, K) array (the quantisation then works on it in place). The planes are float32 exactly when
        the sources are 8-bit data (they then hold integers 0..255, exactly), float64 otherwise; a core
        may use that (:func:`baselines.laplacian_pyramid.lp_fuse`), or just compute in float64, which
        gives the same result. Every channel is fused independently (the toolbox was called once per RGB
        channel).
    method : str
        Method id, used in error messages.
    quantize : {"round", "truncate", "none"}
        ``"round"`` (default): MATLAB ``uint8()`` as the toolbox demo saved its output. ``"truncate"``:
        clip then truncate, as the SESF-Fuse experiment (Ma et al. 2020) stored the toolbox outputs - use it
        to regenerate that paper's tables. ``"none"``: the raw float result, clipped to [0, 1].
    resize_to_even : bool
        SESF-Fuse emulation for odd-sized images: resize the (8-bit) sources to even size with cv2
        INTER_AREA, fuse, then resize the float result back per channel with INTER_AREA. Off by default.
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"{method}: quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    srcs = check_sources(images, method)
    gray = srcs[0].ndim == 2
    planes, eight_bit = to_toolbox_scale(srcs, grid_dtype=np.float32)
    if eight_bit:
        ranges = [cv2.minMaxLoc(p.reshape(p.shape[0], -1))[:2] for p in planes]
        if not all(0.0 <= lo and hi <= 255.0 for lo, hi in ranges):
            planes = [p.astype(np.float64) for p in planes]  # on the grid but outside 0..255: float64
    h, w = planes[0].shape[:2]
    resized = resize_to_even and (h % 2 or w % 2)
    if resized:
        even = (h + h % 2, w + w % 2)
        if eight_bit:  # SESF resized the uint8 arrays it had read from disk
            planes = [_resize_planes(p.astype(np.uint8), even).astype(np.float64) for p in planes]
        else:
            planes = [_resize_planes(p, even) for p in planes]
    fused = core(planes)
    del planes  # free the 0..255 sources before the output is allocated
    if resized:
        fused = _resize_planes(fused, (h, w))
    # ``fused`` is the core's fresh float64 result (never a caller's array): transformed in place, by
    # blocks of rows (the four passes then run on cache-resident data)
    fused = np.asarray(fused, dtype=np.float64)
    out = np.empty(fused.shape, dtype=np.float32)
    rows = max(1, _CHUNK_BYTES // max(1, 8 * int(np.prod(fused.shape[1:]))))
    for r0 in range(0, fused.shape[0], rows):
        f, o = fused[r0 : r0 + rows], out[r0 : r0 + rows]
        if quantize == "none":
            np.multiply(f, 1.0 / 255.0, out=f)
            np.clip(f, 0.0, 1.0, out=o)
            continue
        if quantize == "round":  # matlab_uint8
            f += 0.5
            np.floor(f, out=f)
            np.clip(f, 0.0, 255.0, out=f)
        else:  # truncate_uint8
            np.clip(f, 0.0, 255.0, out=f)
            np.floor(f, out=f)
        # integers 0..255 times 1/255 lie in [0, 1] (255 * (1/255) == 1.0): no second clip needed; the
        # float64 product is rounded once to float32, as ``.astype`` did
        np.multiply(f, 1.0 / 255.0, out=o)
    return FusionResult(out[:, :, 0] if gray else out, None)


def split_sources(x: np.ndarray, n: int) -> list[np.ndarray]:
    """Split an (h, w, N*K, ...) batch (sources major) back into N arrays of (h, w, K, ...)."""
    k = x.shape[2] // n
    return [x[:, :, i * k : (i + 1) * k] for i in range(n)]
