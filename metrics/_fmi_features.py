"""Private feature maps for FMI (Haghighat's ``fmi.m``), each reproducing one MATLAB function.

* :func:`feature_gradient` -- MATLAB ``gradient(X)`` with one output: the x (column) derivative, central
  differences inside, one-sided at the first/last column.
* :func:`feature_edge` -- MATLAB ``edge(X)`` defaults (Sobel): kernel ``fspecial('sobel')/8``,
  ``imfilter(..., 'replicate')``, magnitude ``b = gx**2 + gy**2``, cutoff ``4*mean(b)``, directional
  thinning: keep a pixel if ``b > cutoff`` and either (``|gx| >= |gy| - 100*eps`` and
  ``b(left) <= b > b(right)``) or (``|gy| >= |gx| - 100*eps`` and ``b(up) <= b > b(down)``); a comparison
  with a neighbour outside the image counts as satisfied (``shared/docs/metrics.md`` FMI section).
  Octave's ``edge`` thins differently and does not reproduce the published numbers.
* :func:`feature_dct` -- MATLAB ``dct2``: orthonormal 2-D DCT-II of the whole image.
* :func:`feature_wavelet` -- MATLAB ``dwt2(X, 'dmey')`` (one level, default ``'sym'`` = half-point
  symmetric extension) with MATLAB's 102-tap discrete Meyer filter, sub-bands tiled ``[cA cH; cV cD]``
  and min-max rescaled to [0, 1] (``rerange``; all-equal gives ones). Each sub-band has
  ``floor((N + 101)/2)`` samples per axis. PyWavelets' own ``'dmey'`` is a different 62-tap filter.

``DMEY_MATLAB`` holds MATLAB's ``dmey.mat`` coefficients (variable ``dmey``, 1x102) as data, copied from
``shared/reference/dmey_matlab.json``, which obtained them from CharlesShan-hub/cslib @
26efdb4565b11a6ae25f5805ae53744cdfc5617f ``src/cslib/metrics/fusion/resources/dmey.mat`` (file header
"MATLAB 5.0 MAT-file, Platform: PCWIN, Created on: Thu Jun 05 17:06:55 2003"). Filter construction as
MATLAB's ``wfilters``/``orthfilt``: ``W = dmey/sum(dmey)``, ``LoR = sqrt(2) W``, ``HiR = qmf(LoR)``,
``LoD = rev(LoR)``, ``HiD = rev(HiR)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pywt
from scipy import fft

from metrics._jit import kernels
from metrics._matlab import correlate

DMEY_MATLAB = np.array(
    [
        -1.06754713e-06,
        9.0422391e-07,
        3.1790474e-07,
        -1.48249686e-06,
        1.21850207e-06,
        4.9361831e-07,
        -2.03604729e-06,
        1.68513902e-06,
        6.9474288e-07,
        -2.98242491e-06,
        2.37128175e-06,
        1.18420622e-06,
        -4.26703335e-06,
        3.42066573e-06,
        1.69867277e-06,
        -6.757326e-06,
        5.10285152e-06,
        3.42881336e-06,
        -1.004580737e-05,
        7.42738297e-06,
        4.37527643e-06,
        -1.72802656e-05,
        1.421735152e-05,
        1.060201359e-05,
        -3.283006737e-05,
        2.286874237e-05,
        2.645260683e-05,
        -7.267567236e-05,
        1.72972015e-05,
        0.00010586335588,
        -5.34521877e-05,
        -9.893345543e-05,
        -6.612354762e-05,
        0.0001139783219,
        0.00060775793536,
        -0.00040883876416,
        -0.0019107202819,
        0.00155193926157,
        0.00427481806225,
        -0.00451609544333,
        -0.00780973483285,
        0.01078401534427,
        0.01230639736499,
        -0.02269391137934,
        -0.01719808438302,
        0.04501954358581,
        0.02165247163319,
        -0.09383060025865,
        -0.02478286152969,
        0.31402235238643,
        0.52591095141626,
        0.31402235238643,
        -0.02478286152969,
        -0.09383060025865,
        0.02165247163319,
        0.04501954358581,
        -0.01719808438302,
        -0.02269391137934,
        0.01230639736499,
        0.01078401534427,
        -0.00780973483285,
        -0.00451609544333,
        0.00427481806225,
        0.00155193926157,
        -0.0019107202819,
        -0.00040883876416,
        0.00060775793536,
        0.0001139783219,
        -6.612354762e-05,
        -9.893345543e-05,
        -5.34521877e-05,
        0.00010586335588,
        1.72972015e-05,
        -7.267567236e-05,
        2.645260683e-05,
        2.286874237e-05,
        -3.283006737e-05,
        1.060201359e-05,
        1.421735152e-05,
        -1.72802656e-05,
        4.37527643e-06,
        7.42738297e-06,
        -1.004580737e-05,
        3.42881336e-06,
        5.10285152e-06,
        -6.757326e-06,
        1.69867277e-06,
        3.42066573e-06,
        -4.26703335e-06,
        1.18420622e-06,
        2.37128175e-06,
        -2.98242491e-06,
        6.9474288e-07,
        1.68513902e-06,
        -2.03604729e-06,
        4.9361831e-07,
        1.21850207e-06,
        -1.48249686e-06,
        3.1790474e-07,
        9.0422391e-07,
        -1.06754713e-06,
        0.0,
    ]
)


def _dmey_wavelet() -> pywt.Wavelet:
    w = DMEY_MATLAB / DMEY_MATLAB.sum()
    rec_lo = np.sqrt(2.0) * w
    rec_hi = rec_lo[::-1].copy()
    rec_hi[1::2] = -rec_hi[1::2]  # MATLAB qmf: reverse, then negate entries 2, 4, ... (1-based)
    dec_lo, dec_hi = rec_lo[::-1], rec_hi[::-1]
    return pywt.Wavelet(
        "dmey_matlab", filter_bank=[dec_lo.tolist(), dec_hi.tolist(), rec_lo.tolist(), rec_hi.tolist()]
    )


_DMEY = _dmey_wavelet()
_SOBEL8 = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]) / 8.0


def feature_gradient(img: np.ndarray) -> np.ndarray:
    """MATLAB ``gradient(img)`` (first output only: derivative along columns), without the unused ``gy``."""
    from metrics.ag import matlab_gradient_x

    return matlab_gradient_x(img)


def feature_edge(img: np.ndarray) -> np.ndarray:
    """MATLAB ``edge(img)`` (Sobel, automatic threshold, thinning) as a float 0/1 map."""
    x = np.asarray(img, dtype=np.float64)
    bx = correlate(x, _SOBEL8.T, "nearest")  # x_mask = op'
    by = correlate(x, _SOBEL8, "nearest")  # y_mask = op
    b = bx * bx + by * by
    cutoff = 4.0 * np.mean(b)
    k = kernels("fmi")
    if k is not None:  # the same comparisons in one compiled pass (no boolean temporaries)
        return k.edge_thin(bx, by, b, cutoff, np.empty_like(b))
    return _edge_thin_numpy(bx, by, b, cutoff)


def _edge_thin_numpy(bx: np.ndarray, by: np.ndarray, b: np.ndarray, cutoff: float) -> np.ndarray:
    ax, ay = np.abs(bx), np.abs(by)
    eps100 = 100.0 * np.finfo(np.float64).eps
    left_ok = np.ones_like(b, dtype=bool)
    right_ok = np.ones_like(b, dtype=bool)
    up_ok = np.ones_like(b, dtype=bool)
    down_ok = np.ones_like(b, dtype=bool)
    left_ok[:, 1:] = b[:, :-1] <= b[:, 1:]
    right_ok[:, :-1] = b[:, :-1] > b[:, 1:]
    up_ok[1:, :] = b[:-1, :] <= b[1:, :]
    down_ok[:-1, :] = b[:-1, :] > b[1:, :]
    horiz = (ax >= ay - eps100) & left_ok & right_ok
    vert = (ay >= ax - eps100) & up_ok & down_ok
    return ((b > cutoff) & (horiz | vert)).astype(np.float64)


def feature_dct(img: np.ndarray) -> np.ndarray:
    """MATLAB ``dct2(img)``: orthonormal 2-D DCT-II."""
    return fft.dctn(np.asarray(img, dtype=np.float64), type=2, norm="ortho")


def rerange(x: np.ndarray) -> np.ndarray:
    """``fmi.m`` ``rerange``: min-max to [0, 1]; an all-equal array gives ones."""
    mx, mn = x.max(), x.min()
    if mx == mn:
        return np.ones_like(x)
    return (x - mn) / (mx - mn)


_DWT_MATRIX_MAX = 2048
_BAND_COLS = 64  # output samples per banded block


def _dwt_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi): one-level ``pywt.dwt`` with the MATLAB dmey filters on a length-``n`` signal as matrices.

    Row k is the transform of the k-th unit vector, so ``x @ lo`` is ``pywt.dwt(x, ..., 'symmetric')[0]``
    along the last axis, border extension included (the transform is linear).
    """
    lo, hi = pywt.dwt(np.eye(n), _DMEY, mode="symmetric", axis=1)
    return np.ascontiguousarray(lo), np.ascontiguousarray(hi)


@lru_cache(maxsize=8)
def _dwt_bands(n: int) -> tuple[int, tuple[tuple[int, int, int, np.ndarray], ...]]:
    """``[lo | hi]`` of :func:`_dwt_matrices` (the dense matrices are not kept) cut into blocks of
    ``_BAND_COLS`` output samples, each with only the input rows where it has non-zero taps (the 102-tap
    filter touches ~230 of 520 inputs per block): (number of output columns, ((first row, last row + 1,
    first column, block), ...))."""
    lo, hi = _dwt_matrices(n)
    both = np.hstack([lo, hi])
    blocks = []
    c0 = 0
    while c0 < both.shape[1]:
        c1 = min(c0 + _BAND_COLS, lo.shape[1] if c0 < lo.shape[1] else both.shape[1])  # not across lo|hi
        rows = np.flatnonzero(np.any(both[:, c0:c1] != 0, axis=1))
        r0, r1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 1)
        block = np.ascontiguousarray(both[r0:r1, c0:c1])
        block.setflags(write=False)
        blocks.append((r0, r1, c0, block))
        c0 = c1
    return both.shape[1], tuple(blocks)


def _banded_product(x: np.ndarray, n: int) -> np.ndarray:
    """``x @ [lo | hi]`` (the one-level dmey transform of every row of ``x``), block by block over the
    band of non-zero taps: ~2.3x fewer multiply-adds than the dense product, same value up to rounding."""
    ncols, blocks = _dwt_bands(n)
    out = np.empty((x.shape[0], ncols))
    for r0, r1, c0, block in blocks:
        np.matmul(x[:, r0:r1], block, out=out[:, c0 : c0 + block.shape[1]])
    return out


def feature_wavelet(img: np.ndarray) -> np.ndarray:
    """``rerange([cA cH; cV cD])`` of MATLAB ``dwt2(img, 'dmey')``.

    Computed as banded matrix products (:func:`_dwt_bands`: BLAS over the filter's band, 2-3x faster than
    ``pywt.dwt2``'s 102-tap loops and 1.5x faster than dense products at 520x520); equal to ``pywt.dwt2``
    up to rounding (~1e-12 on coefficients of ~500).
    """
    x = np.asarray(img, dtype=np.float64)
    if max(x.shape) > _DWT_MATRIX_MAX:  # dense matrices cost O(n^3): the filter loop wins on big images
        ca, (ch, cv, cd) = pywt.dwt2(x, _DMEY, mode="symmetric")
        return rerange(np.block([[ca, ch], [cv, cd]]))
    nr, nc = _dwt_bands(x.shape[0])[0] // 2, _dwt_bands(x.shape[1])[0] // 2  # floor((N + 101) / 2)
    rows = _banded_product(x, x.shape[1])  # [low | high]: along rows (axis 1)
    t = _banded_product(rows.T, x.shape[0])  # then along columns: [[cA', cH'], [cV', cD']] transposed
    ca, ch = t[:nc, :nr].T, t[:nc, nr:].T  # cH = detail along axis 0
    cv, cd = t[nc:, :nr].T, t[nc:, nr:].T
    return rerange(np.block([[ca, ch], [cv, cd]]))


FEATURES = {
    "none": lambda x: np.asarray(x, dtype=np.float64),
    "gradient": feature_gradient,
    "edge": feature_edge,
    "dct": feature_dct,
    "wavelet": feature_wavelet,
}
