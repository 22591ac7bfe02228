"""Rockinger's decimated DWT with the DBSS(2,2) wavelet (``fuse_dwb.m``), the Liu et al. (2020) survey's DWT.

Re-implementation (nothing copied) of ``fuse_dwb.m`` from O. Rockinger's Image Fusion Toolbox for MATLAB
(1999, http://www.metapix.de/toolbox.htm; distributed by its author free of charge for research, no
licence file; the copy we read came through the public code index, the helpers ``es.m``, ``dec.m``,
``undec.m``, ``selb.m``, ``selc.m`` are also in yuliu316316/MST-SR-Fusion-Toolbox @
6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e). Found by measurement: the survey's DWT images (yuliu316316/MFIF
@ 267c081b) are ``fuse_dwb(A, B, 4, 3, 3)`` per channel with MATLAB ``uint8()`` rounding
(``tests/test_baselines_liu2020_mst.py``).

The transform, per level, on an (H, W) plane (any size >= 8x8, no even-size requirement):

1. columns (along a row) extended by 7 samples with a whole-sample mirror (``es(X, 7, 1)``), convolved
   ('valid') with the 7-tap analysis filters ``h1 = [-1 2 6 2 -1 0 0] / (4 sqrt 2)`` (lowpass, the LeGall
   5/3 / CDF(2,2) lowpass) and ``g1 = [0 0 -2 4 -2 0 0] / (4 sqrt 2)`` (highpass), every other column
   kept starting with the first (``dec``): W + 8 filtered samples -> ceil((W + 8) / 2), so each level
   carries a few border coefficients and the grid of the next level shifts (the survey's images show
   that shift: the highpass sits on even pixels at levels 1-2 and on odd pixels at levels 3-4);
2. the same along the columns (rows extended by 7), giving the bands ``g1 g1``, ``g1 h1``, ``h1 g1`` and
   the lowpass ``h1 h1``;
3. synthesis: upsample by zero insertion (``undec``), mirror by 3, convolve with
   ``h2 = [0 0 0 2 4 2 0] / (4 sqrt 2)`` / ``g2 = [0 -1 -2 6 -2 -1 0] / (4 sqrt 2)``, rows then columns,
   and keep rows/columns 5.. (1-based) of the level's input size.

Fusion (``fuse_dwb`` with ``ap = 3``, ``mp = 3``): every detail band by the choose-max + consistency rule
(toolbox ``selc`` mode 3, :func:`baselines._mst.choose_max_consistency`), the last lowpass averaged
(``selb`` mode 3). N > 2: the same rules over N sources (native, as the toolbox DWT).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines import _mst

_S = 4.0 * np.sqrt(2.0)
H1 = np.array([-1.0, 2.0, 6.0, 2.0, -1.0, 0.0, 0.0]) / _S
G1 = np.array([0.0, 0.0, -2.0, 4.0, -2.0, 0.0, 0.0]) / _S
H2 = np.array([0.0, 0.0, 0.0, 2.0, 4.0, 2.0, 0.0]) / _S
G2 = np.array([0.0, -1.0, -2.0, 6.0, -2.0, -1.0, 0.0]) / _S
MIN_SIZE = 8  # es(X, 7) mirrors 7 samples without the edge one


def _take(x: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    idx = [slice(None)] * x.ndim
    idx[axis] = sl
    return x[tuple(idx)]


def _mirror(x: np.ndarray, n: int, axis: int) -> np.ndarray:
    """``es(X, n, wo)``: whole-sample symmetric extension by ``n`` on both ends of ``axis``."""
    size = x.shape[axis]
    head = _take(x, axis, slice(n, 0, -1))
    tail = _take(x, axis, slice(size - 2, size - 2 - n, -1))
    return np.concatenate([head, x, tail], axis=axis)


def _conv_valid(x: np.ndarray, f: np.ndarray, axis: int, step: int = 1) -> np.ndarray:
    """MATLAB ``conv2(x, f, 'valid')`` along ``axis`` (``f`` 7 taps), keeping every ``step``-th output."""
    m = f.size
    n_out = x.shape[axis] - m + 1
    out = None
    for t in np.flatnonzero(f):  # conv: output j = sum_t f[t] x[j + m - 1 - t]
        start = m - 1 - t
        term = _take(x, axis, slice(start, start + n_out, step)) * f[t]
        out = term if out is None else out + term
    return out


def _upsample(x: np.ndarray, axis: int) -> np.ndarray:
    """``undec``: zeros between samples (the samples at even positions, 0-based)."""
    shape = list(x.shape)
    shape[axis] *= 2
    y = np.zeros(shape, dtype=x.dtype)
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(0, None, 2)
    y[tuple(idx)] = x
    return y


def analysis(x: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """One level of ``fuse_dwb``'s analysis on (H, W, ...) arrays: ``((gg, gh, hg), lowpass)``."""
    ext = _mirror(x, 7, 1)
    zg, zh = _conv_valid(ext, G1, 1, 2), _conv_valid(ext, H1, 1, 2)
    eg, eh = _mirror(zg, 7, 0), _mirror(zh, 7, 0)
    return (_conv_valid(eg, G1, 0, 2), _conv_valid(eg, H1, 0, 2), _conv_valid(eh, G1, 0, 2)), _conv_valid(
        eh, H1, 0, 2
    )


def synthesis(
    low: np.ndarray, details: tuple[np.ndarray, np.ndarray, np.ndarray], size: tuple[int, int]
) -> np.ndarray:
    """One level of ``fuse_dwb``'s synthesis, cropped to the level's input ``size`` (rows, columns)."""
    gg, gh, hg = details

    def up_rows(b: np.ndarray, f: np.ndarray) -> np.ndarray:
        return _conv_valid(_mirror(_upsample(b, 0), 3, 0), f, 0)

    a4 = up_rows(low, H2) + up_rows(hg, G2)
    a2 = up_rows(gh, H2) + up_rows(gg, G2)
    a4 = _conv_valid(_mirror(_upsample(a4, 1), 3, 1), H2, 1)
    a2 = _conv_valid(_mirror(_upsample(a2, 1), 3, 1), G2, 1)
    return (a4 + a2)[4 : 4 + size[0], 4 : 4 + size[1]]


def dbss_fuse(sources: Sequence[np.ndarray], levels: int = 4) -> np.ndarray:
    """Fuse N >= 2 images with ``fuse_dwb(.., levels, 3, 3)`` (the functional core).

    ``sources``: N >= 2 float arrays of one shape, (H, W) or (H, W, K) with H, W >= 8, any scale; the
    channels are fused independently. ``levels``: decomposition levels (the survey: 4). Returns the fused
    float64 array (not rounded). Fusion rules of Li, Manjunath & Mitra (1995), doi:10.1006/gmip.1995.1022.
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"dwt: levels must be a positive integer, got {levels!r}")
    h, w = sources[0].shape[:2]
    if min(h, w) < MIN_SIZE:
        raise ValueError(f"dwt: a {h}x{w} image is smaller than {MIN_SIZE}x{MIN_SIZE} (preset liu2020)")
    n = len(sources)
    srcs = [np.asarray(s if s.ndim == 3 else s[:, :, None], dtype=np.float64) for s in sources]
    k = srcs[0].shape[2]
    x = np.concatenate(srcs, axis=2)  # (H, W, N*K): one transform for every source and channel

    def parts(band: np.ndarray) -> list[np.ndarray]:
        return [band[:, :, i * k : (i + 1) * k] for i in range(n)]

    sizes, fused = [], []
    for _ in range(levels):
        sizes.append(x.shape[:2])
        details, x = analysis(x)
        fused.append(tuple(_mst.choose_max_consistency(parts(b), axes=(0, 1)) for b in details))
    out = _mst.average_bands(parts(x))
    for size, details in zip(reversed(sizes), reversed(fused), strict=True):
        out = synthesis(out, details, size)
    return out if sources[0].ndim == 3 else out[:, :, 0]
