"""Private: the Haar wavelet pyramid of Simoncelli's matlabPyrTools, ``buildWpyr(im, ht, 'haar')``.

Reproduces ``buildWpyr.m`` + the ``corrDn`` MEX (convolve.c / edges.c) of matlabPyrTools (Eero Simoncelli;
MIT licence as distributed by LabForComputationalVision/matlabPyrTools), shipped as ``matlabPyrTools.zip``
in zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273. Re-derived from that code;
no code copied.

What MATLAB does, step by step:

* ``namedFilter('haar')`` = ``[1 1]' / sqrt(2)``; the high-pass is ``modulateFlip`` of it,
  ``[-1 1]' / sqrt(2)``. Both have even length, so ``buildWpyr`` samples with ``stag = 2``: every
  ``corrDn`` call starts at (1-based) position 2 with step 2.
* ``corrDn`` correlates with the filter origin at ``floor(len/2)`` (0-based) = 1, i.e. the output at
  0-based position ``y`` is ``im[y-1]*f[0] + im[y]*f[1]``. With start 1 (0-based) and step 2 the outputs
  cover the pixel pairs (0,1), (2,3), ... and the output length is ``ceil((n-1)/2) = floor(n/2)``.
* Edge handling ``'reflect1'`` (the default) never comes into play for this filter and sampling: the
  window never leaves the image (the MEX pads even filters with a zero tap, which may fall outside but
  carries weight 0). For odd sizes the last row/column is simply not used.
* Rows are filtered first (``lo``/``hi``), then columns; the three detail bands are ``lohi`` (horizontal),
  ``hilo`` (vertical) and ``hihi`` (diagonal); the next level decomposes ``lolo``.
* ``maxPyrHt`` allows a level only while both sides are >= 2 (the filter length).

Sums are formed in the MEX order (``0 + a*f0 + b*f1``), so coefficients agree with MATLAB to the last bit.
"""

from __future__ import annotations

import numpy as np

_C = 1.0 / np.sqrt(2.0)  # namedFilter('haar') entries: [1 1]/sqrt(2)


def _pairs_rows(x: np.ndarray, f0: float, f1: float) -> np.ndarray:
    n = (x.shape[0] // 2) * 2
    return x[0:n:2, :] * f0 + x[1:n:2, :] * f1


def _pairs_cols(x: np.ndarray, f0: float, f1: float) -> np.ndarray:
    n = (x.shape[1] // 2) * 2
    return x[:, 0:n:2] * f0 + x[:, 1:n:2] * f1


def max_pyr_height(shape: tuple[int, int], filt_len: int = 2) -> int:
    """``maxPyrHt`` for a 2-D image and a 1-D filter of length ``filt_len``."""
    h, w = shape
    height = 0
    while h >= filt_len and w >= filt_len:
        height += 1
        h, w = h // 2, w // 2
    return height


def haar_wpyr(img: np.ndarray, levels: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Detail bands of ``buildWpyr(img, levels, 'haar')``, finest first.

    Parameters
    ----------
    img : numpy.ndarray
        2-D float64 image.
    levels : int
        Number of levels (``ht``).

    Returns
    -------
    list of (H, V, D)
        Per level the bands ``lohi``, ``hilo``, ``hihi`` (MATLAB ``pyrBand`` 1, 2, 3 of that level).

    Raises
    ------
    ValueError
        ``levels`` exceeds ``maxPyrHt`` (MATLAB: "Cannot build pyramid higher than %d levels").
    """
    img = np.asarray(img, dtype=np.float64)
    max_ht = max_pyr_height(img.shape)
    if levels > max_ht:
        raise ValueError(
            f"cannot build a {levels}-level Haar pyramid on a {img.shape[0]}x{img.shape[1]} image "
            f"(at most {max_ht} levels; each side must stay >= 2)"
        )
    bands = []
    cur = img
    for _ in range(levels):
        lo = _pairs_rows(cur, _C, _C)
        hi = _pairs_rows(cur, -_C, _C)
        lolo = _pairs_cols(lo, _C, _C)
        lohi = _pairs_cols(hi, _C, _C)
        hilo = _pairs_cols(lo, -_C, _C)
        hihi = _pairs_cols(hi, -_C, _C)
        bands.append((lohi, hilo, hihi))
        cur = lolo
    return bands
