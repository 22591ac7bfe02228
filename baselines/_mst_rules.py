"""Coefficient rules of the MST toolbox: ``es2``/``adb`` extensions, ``selc`` mode 3, ``selb`` mode 3.

Written from Yu Liu's MST-SR fusion toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e (files ``selc.m``, ``selb.m``, ``es2.m``, ``adb.m``, which go back
to Oliver Rockinger's 1999 Image Fusion Toolbox). The repository has no licence file; nothing is copied,
the behaviour is re-implemented from ``shared/docs/methods.md`` sections 1.3-1.5 and checked against the
toolbox's saved output (``tests/test_baselines_mst.py``).

MATLAB-parity notes:

* :func:`es2` - the toolbox's symmetric extension: mirror *without* repeating the edge sample on the four
  sides, but leave the four corner blocks at **zero** (``es2.m`` never fills them). NumPy's
  ``np.pad(mode="reflect")`` fills the corners, which changes 85 of 65,536 LP pixels by one grey level.
* :func:`adb` - odd-size expansion before decimation: one extra row/column copying row/column ``size-2``
  (0-based), the corner copied from ``(h-2, w-2)``.
* :func:`choose_max_consistency` - ``selc(X, Y, 3)``: 3x3 max of ``|coef|`` (MATLAB ``ordfilt2``, zeros
  outside), strict ``>``, 3x3 majority vote ('valid').
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

# The Python binding of OpenCV 5 maps an (H, W, C) array to a C-channel Mat only up to C = 128
# (checked: 129 fails in copyMakeBorder); larger batches are processed in chunks.
_CV_MAX_CHANNELS = 128
_CHUNK_BYTES = 1 << 19  # row blocks of about 512 KiB keep the float32 temporaries in the L2 cache


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


def _max3x3(a: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """3x3 maximum with zeros outside (MATLAB ``ordfilt2(a, 9, ones(3))``) for non-negative ``a``.

    OpenCV's dilation ignores the outside (its default border value is -inf for dilation), which equals
    zero padding when ``a >= 0``. ``inplace=True`` overwrites a C-contiguous float ``a`` (OpenCV documents
    in-place dilation) and saves an allocation.
    """
    if inplace and a.flags.c_contiguous:
        return _cv_channels(lambda c: cv2.dilate(c, _RECT3, dst=c), a)
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


_ROW3 = np.ones((1, 3), dtype=np.uint8)
_COL3 = np.ones((3, 1), dtype=np.uint8)


def _activity_hbw(band: np.ndarray) -> np.ndarray:
    """:func:`_activity_np` for an (h, B, w) band with axes (0, 2), with OpenCV (identical values).

    ``|band|`` (real or complex) is written straight into the interior of an (h + 2, B, w + 2) buffer whose
    border is then filled as es2 does; the 3x3 maximum is separable and each pass is one in-place OpenCV
    dilation of a 2-D view: 1x3 along w on the ((h + 2) * B, w + 2) view, then 3x1 along h on the
    (h + 2, B * (w + 2)) view. Rows (columns) of those views are independent lines, and the dilation's
    outside value (-inf) equals zero padding for non-negative data, as the ring of zeros of the NumPy version.
    """
    h, b, w = band.shape
    if h < 2 or w < 2:
        raise ValueError(f"Expected a band of at least 2x2 for extension by 1, got {h}x{w}")
    ext = np.empty((h + 2, b, w + 2), dtype=np.float64)
    np.abs(band, out=ext[1:-1, :, 1:-1])
    ext[1:-1, :, 0] = ext[1:-1, :, 2]
    ext[1:-1, :, -1] = ext[1:-1, :, -3]
    ext[0, :, 1:-1] = ext[2, :, 1:-1]
    ext[-1, :, 1:-1] = ext[-3, :, 1:-1]
    for r in (0, -1):
        ext[r, :, 0] = 0
        ext[r, :, -1] = 0
    rows = ext.reshape((h + 2) * b, w + 2)
    cv2.dilate(rows, _ROW3, dst=rows)
    cols = ext.reshape(h + 2, b * (w + 2))
    cv2.dilate(cols, _COL3, dst=cols)
    return ext


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


def _activity_cv(band: np.ndarray) -> np.ndarray:
    """3x3 max (zeros outside) of ``|es2(band, 1)|`` over the leading two axes, with OpenCV.

    For real bands the modulus is taken in place on the freshly extended copy. For speed ``band`` should
    be C-contiguous: a per-source view into a channel-interleaved batch makes every NumPy pass strided.
    """
    if np.iscomplexobj(band):
        ext = es2(np.abs(band), 1)
    else:
        ext = es2(band, 1)
        np.abs(ext, out=ext)
    return _max3x3(ext, inplace=True)


def es2_fill_border(ext: np.ndarray, n: int) -> np.ndarray:
    """Fill the ``n``-wide border of ``ext`` in place so that it equals :func:`es2` of its interior.

    For callers that write a band straight into an (h + 2n, w + 2n, ...) buffer instead of extending a
    copy (saves one full-size pass and allocation). Returns ``ext``.
    """
    h, w = ext.shape[0] - 2 * n, ext.shape[1] - 2 * n
    if h < n + 1 or w < n + 1:
        raise ValueError(f"Expected an array of at least {n + 1}x{n + 1} for extension by {n}, got {h}x{w}")
    ext[n : n + h, :n] = ext[n : n + h, n + 1 : 2 * n + 1][:, ::-1]
    ext[n : n + h, n + w :] = ext[n : n + h, w - 1 : n + w - 1][:, ::-1]
    ext[:n, n : n + w] = ext[n + 1 : 2 * n + 1, n : n + w][::-1]
    ext[n + h :, n : n + w] = ext[h - 1 : n + h - 1, n : n + w][::-1]
    for rows in (slice(0, n), slice(n + h, None)):
        ext[rows, :n] = 0
        ext[rows, n + w :] = 0
    return ext


def choose_max_consistency_es2(extended: Sequence[np.ndarray], *, overwrite: bool = False) -> np.ndarray:
    """:func:`choose_max_consistency` (axes (0, 1)) of bands given already extended, ``es2(band, 1)``.

    ``extended`` holds N >= 2 real arrays (h + 2, w + 2, ...) whose border is the toolbox extension (see
    :func:`es2_fill_border`); the fused (h, w, ...) band is returned. Same result as
    ``choose_max_consistency([e[1:-1, 1:-1] for e in extended])``, without extending copies.
    ``overwrite=True`` (N = 2): the result is written into the interior of ``extended[-1]`` and returned as
    a view of it (saves a full-size allocation when the caller discards the bands).
    """
    if len(extended) < 2:
        raise ValueError(f"Expected at least 2 bands, got {len(extended)}")
    interiors = [e[1:-1, 1:-1] for e in extended]
    if len(extended) == 2 and extended[0].ndim == 3 and extended[0].shape[2] <= _CV_MAX_CHANNELS:
        take_first = _box3_valid(_greater_activity_blocked(extended[0], extended[1])) > 4
        if overwrite:
            np.copyto(interiors[1], interiors[0], where=take_first)
            return interiors[1]
        return np.where(take_first, interiors[0], interiors[1])
    return _select_by_activity(
        [_max3x3(np.abs(e), inplace=True) for e in extended], interiors, (0, 1), overwrite=overwrite
    )


def _greater_activity_blocked(e0: np.ndarray, e1: np.ndarray) -> np.ndarray:
    """``act(e0) > act(e1)`` for real (H, W, K) arrays, ``act`` = 3x3 max of ``|.|``, zeros outside.

    Computed by blocks of rows, each with one row of context above and below, in two small reused buffers:
    the full-size activities never exist (fewer fresh pages) and each block's passes run in the cache. The
    3x3 maximum is exact, and a kept row always has its whole neighbourhood inside the block (or the
    image border, where the dilation's outside value acts as the zero padding), so the result is that of
    the whole-image computation.
    """
    h = e0.shape[0]
    rows = max(1, (_CHUNK_BYTES // 2) // max(1, 8 * int(np.prod(e0.shape[1:]))))
    out = np.empty(e0.shape, dtype=bool)
    buf = [np.empty((min(rows, h) + 2,) + e0.shape[1:]) for _ in range(2)]
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        a0, a1 = max(0, r0 - 1), min(h, r1 + 1)
        act = []
        for e, b in zip((e0, e1), buf, strict=True):
            blk = np.abs(e[a0:a1], out=b[: a1 - a0])
            act.append(cv2.dilate(blk, _RECT3, dst=blk)[r0 - a0 : r1 - a0])
        np.greater(act[0], act[1], out=out[r0:r1])
    return out


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
        act = [_activity_cv(b) for b in bands]
    elif axes == (0, 2) and bands[0].ndim == 3 and bands[0].dtype in (np.float64, np.complex128):
        act = [_activity_hbw(b) for b in bands]
    else:
        act = [_activity_np(b, axes) for b in bands]
    return _select_by_activity(act, bands, axes)


def _select_by_activity(
    act: list[np.ndarray], bands: Sequence[np.ndarray], axes: tuple[int, int], *, overwrite: bool = False
) -> np.ndarray:
    """The vote of :func:`choose_max_consistency` given the activities on the extended grid.

    Empties ``act`` (the caller's throw-away list) once the vote is known, so the activities are freed
    before the output is allocated (a lower peak means fewer fresh pages to fault in). ``overwrite``
    (N = 2 only): write the result into ``bands[1]`` instead of a new array.
    """
    n = len(bands)
    if n == 2:
        take_first = _box3_valid(np.greater(act[0], act[1]), axes) > 4
        act.clear()
        if overwrite:
            np.copyto(bands[1], bands[0], where=take_first)
            return bands[1]
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
