"""Shared pieces of the multi-scale-transform (MST) baselines ``lp``, ``rp``, ``dwt`` and ``dtcwt``.

Written from Yu Liu's MST-SR fusion toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e (files ``selc.m``, ``selb.m``, ``es2.m``, ``adb.m``, which go back
to Oliver Rockinger's 1999 Image Fusion Toolbox). The repository has no licence file; nothing is copied,
the behaviour is re-implemented from ``shared/docs/methods.md`` sections 1.3-1.5 and checked against the
toolbox's saved output (``tests/test_baselines_mst.py``).

MATLAB-parity notes (what MATLAB behaviour each helper reproduces):

* :func:`es2` - the toolbox's symmetric extension: mirror *without* repeating the edge sample on the four
  sides, but leave the four corner blocks at **zero** (``es2.m`` never fills them). NumPy's
  ``np.pad(mode="reflect")`` fills the corners, which changes 85 of 65,536 LP pixels by one grey level.
* :func:`adb` - odd-size expansion before decimation: one extra row/column copying row/column ``size-2``
  (0-based), the corner copied from ``(h-2, w-2)``.
* :func:`choose_max_consistency` - ``selc(X, Y, 3)``: 3x3 max of ``|coef|`` (MATLAB ``ordfilt2``, zeros
  outside), strict ``>``, 3x3 majority vote ('valid').
* :func:`matlab_uint8` - MATLAB ``uint8(x)``: round half away from zero, saturate to [0, 255].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from bench.types import FusionResult

QUANTIZE_MODES = ("round", "truncate", "none")

# The Python binding of OpenCV 5 maps an (H, W, C) array to a C-channel Mat only up to C = 128
# (checked: 129 fails in copyMakeBorder); larger batches are processed in chunks.
_CV_MAX_CHANNELS = 128
# float32 k/255 times 255 is within ~2e-5 of k; anything within this of an integer grid is 8-bit data.
_EIGHT_BIT_TOL = 1e-3


def _cv_channels(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Apply an OpenCV image function to an (H, W, ...) array, trailing axes flattened into channels.

    ``fn`` maps an (H, W, C) array to an (H', W', C) array; batches above the 128-channel limit are
    processed in chunks.
    """
    h, w = x.shape[:2]
    trailing = x.shape[2:]
    flat = np.ascontiguousarray(x).reshape(h, w, -1)
    outs = []
    for c0 in range(0, flat.shape[2], _CV_MAX_CHANNELS):
        chunk = np.ascontiguousarray(flat[:, :, c0 : c0 + _CV_MAX_CHANNELS])
        y = fn(chunk)
        outs.append(y.reshape(y.shape[0], y.shape[1], chunk.shape[2]))
    y = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
    return y.reshape(y.shape[:2] + trailing)


def es2(x: np.ndarray, n: int) -> np.ndarray:
    """Toolbox symmetric extension by ``n`` pixels on all four sides, corner blocks left at zero.

    Parameters
    ----------
    x : ndarray
        Array of shape (h, w, ...); the extension applies to the first two axes. Real or complex.
    n : int
        Number of rows/columns added on each side.

    Returns
    -------
    ndarray
        Shape (h + 2n, w + 2n, ...), same dtype as ``x``.

    Raises
    ------
    ValueError
        If ``h`` or ``w`` is smaller than ``n + 1`` (MATLAB's ``es2`` would index out of range).
    """
    h, w = x.shape[:2]
    if h < n + 1 or w < n + 1:
        raise ValueError(f"Expected an array of at least {n + 1}x{n + 1} for extension by {n}, got {h}x{w}")
    if x.dtype in (np.float64, np.float32):
        # fast path: OpenCV's reflect-101 border equals es2 on the four sides; then clear the corners
        out = _cv_channels(lambda c: cv2.copyMakeBorder(c, n, n, n, n, cv2.BORDER_REFLECT_101), x)
        for rows in (slice(0, n), slice(n + h, None)):
            out[rows, :n] = 0
            out[rows, n + w :] = 0
        return out
    out = np.zeros((h + 2 * n, w + 2 * n) + x.shape[2:], dtype=x.dtype)
    out[n : n + h, n : n + w] = x
    out[n : n + h, :n] = x[:, 1 : n + 1][:, ::-1]
    out[n : n + h, n + w :] = x[:, w - n - 1 : w - 1][:, ::-1]
    out[:n, n : n + w] = x[1 : n + 1][::-1]
    out[n + h :, n : n + w] = x[h - n - 1 : h - 1][::-1]
    return out


def adb(x: np.ndarray) -> np.ndarray:
    """Make both sizes even by appending one mirrored row/column where odd (toolbox ``adb.m``).

    The appended row copies row ``h-2`` and the appended column copies column ``w-2`` (0-based), i.e.
    mirroring without repeating the edge sample; the new corner is ``x[h-2, w-2]``.
    """
    if x.shape[0] % 2:
        x = np.concatenate([x, x[-2:-1]], axis=0)
    if x.shape[1] % 2:
        x = np.concatenate([x, x[:, -2:-1]], axis=1)
    return x


_RECT3 = np.ones((3, 3), dtype=np.uint8)


def _max3x3(a: np.ndarray) -> np.ndarray:
    """3x3 maximum with zeros outside (MATLAB ``ordfilt2(a, 9, ones(3))``) for non-negative ``a``.

    OpenCV's dilation ignores the outside (its default border value is -inf for dilation), which equals
    zero padding when ``a >= 0``.
    """
    return _cv_channels(lambda c: cv2.dilate(c, _RECT3), a)


def _sl(ndim: int, **axes: slice) -> tuple:
    """Index tuple with the given slice on axes named ``a<k>`` (e.g. ``a0=slice(1, None)``)."""
    idx = [slice(None)] * ndim
    for key, sl in axes.items():
        idx[int(key[1:])] = sl
    return tuple(idx)


def _box3_valid(b: np.ndarray, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """3x3 sum, 'valid' region, of a boolean array over ``axes`` (MATLAB ``conv2(b, ones(3), 'valid')``)."""
    b = b.view(np.uint8) if b.dtype == bool else b.astype(np.uint8)
    for ax in (axes[1], axes[0]):
        k = f"a{ax}"
        b = (
            b[_sl(b.ndim, **{k: slice(None, -2)})]
            + b[_sl(b.ndim, **{k: slice(1, -1)})]
            + b[_sl(b.ndim, **{k: slice(2, None)})]
        )
    return b


def _activity_np(band: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    """3x3 max (zeros outside) of ``|es2(band, 1)|`` over ``axes``, in NumPy (any memory layout).

    Used when the spatial axes are not the leading two (the DT-CWT works in an (h, batch, w) layout, where
    the innermost axis is spatial and NumPy's strided loops are fast).
    """
    a0, a1 = axes
    mag = np.abs(band)
    nd = mag.ndim
    h, w = mag.shape[a0], mag.shape[a1]
    if h < 2 or w < 2:
        raise ValueError(f"Expected a band of at least 2x2 for extension by 1, got {h}x{w}")
    shape = list(mag.shape)
    shape[a0], shape[a1] = h + 4, w + 4  # es2 by 1, plus a zero ring for the max filter
    p = np.zeros(shape, dtype=mag.dtype)
    k0, k1 = f"a{a0}", f"a{a1}"
    p[_sl(nd, **{k0: slice(2, h + 2), k1: slice(2, w + 2)})] = mag
    p[_sl(nd, **{k0: slice(2, h + 2), k1: slice(1, 2)})] = mag[_sl(nd, **{k1: slice(1, 2)})]
    p[_sl(nd, **{k0: slice(2, h + 2), k1: slice(w + 2, w + 3)})] = mag[_sl(nd, **{k1: slice(w - 2, w - 1)})]
    p[_sl(nd, **{k0: slice(1, 2), k1: slice(2, w + 2)})] = mag[_sl(nd, **{k0: slice(1, 2)})]
    p[_sl(nd, **{k0: slice(h + 2, h + 3), k1: slice(2, w + 2)})] = mag[_sl(nd, **{k0: slice(h - 2, h - 1)})]
    for ax in (a1, a0):
        k = f"a{ax}"
        m = np.maximum(p[_sl(nd, **{k: slice(None, -2)})], p[_sl(nd, **{k: slice(1, -1)})])
        p = np.maximum(m, p[_sl(nd, **{k: slice(2, None)})], out=m)
    return p


def choose_max_consistency(bands: Sequence[np.ndarray], axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Toolbox ``selc`` mode 3: choose-max of the 3x3 max-abs activity with a 3x3 majority check.

    For two bands X, Y (real or complex): the activity is the 3x3 maximum of ``|es2(X, 1)|``;
    ``C = aX > aY`` (strict) on the extended (h+2)x(w+2) grid; ``X`` is taken where more than 4 of the
    9 ``C`` values around a pixel are true, else ``Y``.

    N > 2 bands (our generalisation, identical to the toolbox for N = 2): on the extended grid each
    position votes for the band with the largest activity (ties go to the later band, as the strict
    ``>`` gives ties to Y); each pixel takes the band with most votes in its 3x3 window (ties, possible
    only for N > 2, again go to the later band).

    Parameters
    ----------
    bands : sequence of ndarray
        N >= 2 coefficient arrays of equal shape, at least 2x2 over ``axes``.
    axes : tuple of int
        The two spatial axes (rows, columns). Other axes are a batch, fused independently.

    Returns
    -------
    ndarray
        The fused band, same shape and dtype as the inputs.
    """
    n = len(bands)
    if n < 2:
        raise ValueError(f"Expected at least 2 bands, got {n}")
    axes = (axes[0] % bands[0].ndim, axes[1] % bands[0].ndim)
    if axes == (0, 1):  # OpenCV path; |es2(X)| == es2(|X|) since es2 only copies and zeros
        act = [_max3x3(es2(np.abs(b), 1)) for b in bands]
    else:
        act = [_activity_np(b, axes) for b in bands]
    if n == 2:
        take_first = _box3_valid(act[0] > act[1], axes) > 4
        return np.where(take_first, bands[0], bands[1])
    stack = np.stack(act, axis=0)
    winner = n - 1 - np.argmax(stack[::-1], axis=0)
    votes = np.stack([_box3_valid(winner == i, axes) for i in range(n)], axis=0)
    select = n - 1 - np.argmax(votes[::-1], axis=0)
    return np.take_along_axis(np.stack(bands, axis=0), select[None], axis=0)[0]


def average_bands(bands: Sequence[np.ndarray]) -> np.ndarray:
    """Toolbox ``selb`` mode 3 (base/low-pass rule): the mean, ``(X + Y) / 2`` for two bands."""
    total = bands[0]
    for b in bands[1:]:
        total = total + b
    return total / len(bands)


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


def to_toolbox_scale(images: Sequence[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """Float [0, 1] sources -> 0..255 doubles (the scale the toolbox was called with), each (H, W, K).

    If every value lies within 1e-3 of the 8-bit grid (the sources came from 8-bit files), the values
    are snapped to the exact integers, so the result equals the toolbox's on ``double(uint8 image)``.

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
    for im in shaped:  # the check runs in float32: 8-bit data is within ~2e-5 of the grid there too
        s32 = np.multiply(im, np.float32(255.0), dtype=np.float32)
        r32 = np.rint(s32)
        np.subtract(s32, r32, out=s32)
        if not float(np.max(np.abs(s32, out=s32))) <= _EIGHT_BIT_TOL:
            grid = None
            break
        grid.append(r32)
    if grid is not None:
        return [g.astype(np.float64) for g in grid], True
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
        ``core(planes) -> fused`` on a list of N (H, W, K) float64 arrays in 0..255, returning (H, W, K).
        Every channel is fused independently (the toolbox was called once per RGB channel).
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
    planes, eight_bit = to_toolbox_scale(srcs)
    h, w = planes[0].shape[:2]
    resized = resize_to_even and (h % 2 or w % 2)
    if resized:
        even = (h + h % 2, w + w % 2)
        if eight_bit:  # SESF resized the uint8 arrays it had read from disk
            planes = [_resize_planes(p.astype(np.uint8), even).astype(np.float64) for p in planes]
        else:
            planes = [_resize_planes(p, even) for p in planes]
    fused = core(planes)
    if resized:
        fused = _resize_planes(fused, (h, w))
    if quantize == "round":
        fused = matlab_uint8(fused)
    elif quantize == "truncate":
        fused = truncate_uint8(fused)
    out = np.clip(fused * (1.0 / 255.0), 0.0, 1.0).astype(np.float32)
    return FusionResult(out[:, :, 0] if gray else out, None)


def split_sources(x: np.ndarray, n: int) -> list[np.ndarray]:
    """Split an (h, w, N*K, ...) batch (sources major) back into N arrays of (h, w, K, ...)."""
    k = x.shape[2] // n
    return [x[:, :, i * k : (i + 1) * k] for i in range(n)]


# --- Gaussian pyramid steps shared by LP and RP (toolbox lp_fuse.m / rp_fuse.m) ---------------------------


def pyramid_reduce(x: np.ndarray) -> np.ndarray:
    """Toolbox Gaussian step, decimated: ``dec2(conv2(conv2(es2(x, 2), w, 'valid'), w', 'valid'))``.

    ``w = [1 4 6 4 1] / 16``; ``x`` has even height and width. OpenCV's ``pyrDown`` filters with the same
    kernel and keeps the even samples; run on the es2-extended array, its interior outputs are exactly the
    toolbox's (the extension by 2 keeps the sample parity).
    """
    h, w = x.shape[:2]
    down = _cv_channels(cv2.pyrDown, es2(x, 2))
    return down[1 : 1 + h // 2, 1 : 1 + w // 2]


def pyramid_expand(x: np.ndarray) -> np.ndarray:
    """Toolbox interpolation: ``conv2(conv2(es2(undec2(x), 2), 2w, 'valid'), 2w', 'valid')``.

    ``undec2`` inserts zeros (sample at even positions, size doubled). Seen from ``x``, es2 of the
    zero-inserted array mirrors without edge repeat on the top/left (virtual ``x[-1] = x[1]``), repeats the
    edge on the bottom/right (virtual ``x[h] = x[h-1]``) and leaves the corners at zero. We build that
    one-sample extension of ``x`` and let OpenCV's ``pyrUp`` (zero insertion + the same ``2w`` kernel) do the
    rest; the outputs that would touch pyrUp's own border are cropped away.
    """
    h, w = x.shape[:2]
    q = np.zeros((h + 2, w + 2) + x.shape[2:], dtype=np.float64)
    q[1:-1, 1:-1] = x
    q[0, 1:-1] = x[1]
    q[-1, 1:-1] = x[-1]
    q[1:-1, 0] = x[:, 1]
    q[1:-1, -1] = x[:, -1]
    up = _cv_channels(cv2.pyrUp, q)
    return up[2 : 2 + 2 * h, 2 : 2 + 2 * w]


def check_pyramid_size(h: int, w: int, levels: int, method: str) -> None:
    """Raise ValueError if an HxW image is too small for ``levels`` toolbox pyramid levels."""
    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"{method}: levels must be a positive integer, got {levels!r}")
    sh, sw = h, w
    for lev in range(levels):
        sh, sw = sh + sh % 2, sw + sw % 2
        if min(sh, sw) < 4:
            raise ValueError(
                f"{method}: a {h}x{w} image is too small for {levels} pyramid levels "
                f"(level {lev + 1} would be {sh}x{sw}; each level needs at least 3x3)"
            )
        sh, sw = sh // 2, sw // 2
