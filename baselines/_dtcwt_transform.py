"""In-house 2-D dual-tree complex wavelet transform (Kingsbury), NumPy 2 compatible.

Why in-house: PyPI ``dtcwt`` 0.14.0 declares ``numpy<2`` and crashes on NumPy 2 (``np.asfarray``,
``np.issubsctype``). This module re-implements the transform's algorithm - odd level-1 biorthogonal filters,
then q-shift filter pairs with the tree-a/tree-b interleaving, quad-to-complex conversion, symmetric
extension with repeated end samples - as described in N. G. Kingsbury, "Complex wavelets for shift invariant
analysis and filtering of signals", Appl. Comput. Harmon. Anal. 10(3), 234-253, 2001,
doi:10.1006/acha.2000.0343, following the conventions (band order, extension rules for sizes that are not
multiples of 2 and 4) of Kingsbury's DTCWT MATLAB toolbox ``dtwavexfm2`` / ``dtwaveifm2`` (as shipped in
Yu Liu's MST-SR-Fusion-Toolbox ``dtcwt_toolbox``) and of its BSD-2-licensed Python port
(rjw57/dtcwt 0.14.0, ``dtcwt/numpy/transform2d.py`` and ``lowlevel.py``). No code is copied; the result was
checked against dtcwt 0.14.0 (with a NumPy-2 shim, outside this repository) to ~1e-13, see
``tests/test_baselines_mst.py``.

Only the filter sets the MST toolbox uses are provided: level 1 ``'legall'`` (LeGall 5/3) and levels >= 2
``'qshift_06'`` (10-tap q-shift, 6 non-zero taps). Their published coefficients (Kingsbury's ``legall.mat``
and ``qshift_06.mat``, also the ``.npz`` data files of dtcwt 0.14.0) are written out below; the derived
filters are exact reversals.

All functions work on arrays shaped (H, W, ...): the transform runs over the first two axes and any trailing
axes are a batch (e.g. colour channels of several images), processed in one go.
"""

from __future__ import annotations

import cv2
import numpy as np

# --- published filter coefficients ------------------------------------------------------------------------
# legall (biorthogonal LeGall 5/3), level 1: analysis h0o/h1o, synthesis g0o/g1o.
LEGALL_H0O = np.array([-0.125, 0.25, 0.75, 0.25, -0.125])
LEGALL_H1O = np.array([-0.25, 0.5, -0.25])
LEGALL_G0O = np.array([0.25, 0.5, 0.25])
LEGALL_G1O = np.array([-0.125, -0.25, 0.75, -0.25, -0.125])

# qshift_06 (orthogonal Q-shift, 10 taps of which 6 non-zero), levels >= 2: tree-a analysis filters.
QSHIFT06_H0A = np.array(
    [
        0.03516383657149474,
        0.0,
        -0.08832942445107285,
        0.23389032060723564,
        0.7602723690661257,
        0.5875182977235605,
        0.0,
        -0.11430183714424873,
        0.0,
        0.0,
    ]
)
QSHIFT06_H1A = np.array(
    [
        0.0,
        0.0,
        -0.11430183714424873,
        0.0,
        0.5875182977235605,
        -0.7602723690661257,
        0.23389032060723564,
        0.08832942445107285,
        0.0,
        -0.03516383657149474,
    ]
)
# Tree b is the time reverse of tree a; orthogonal synthesis filters are the analysis filters reversed.
QSHIFT06_H0B = QSHIFT06_H0A[::-1].copy()
QSHIFT06_H1B = QSHIFT06_H1A[::-1].copy()
QSHIFT06_G0A, QSHIFT06_G0B = QSHIFT06_H0B, QSHIFT06_H0A
QSHIFT06_G1A, QSHIFT06_G1B = QSHIFT06_H1B, QSHIFT06_H1A

_SQRT_HALF = np.sqrt(0.5)

# Band order of the highpasses (as Kingsbury's toolbox): bands (0, 5) come from the vertical highpass
# (along axis 0) / horizontal lowpass, (2, 3) from vertical lowpass / horizontal highpass, (1, 4) diagonal.
_PAIRS = ((0, 5), (2, 3), (1, 4))


# --- filtering helpers (OpenCV, batched over trailing axes) --------------------------------------------------
_ONE = np.ones((1, 1))


def _cv_sep(x: np.ndarray, kx: np.ndarray, ky: np.ndarray, border: int, anchor: tuple[int, int]) -> np.ndarray:
    """``cv2.sepFilter2D`` (correlation; ``kx`` along axis 1, ``ky`` along axis 0) on (H, W, ...) float64."""
    shape = x.shape
    flat = x.reshape(shape[0], shape[1], -1)
    outs = []
    for c0 in range(0, flat.shape[2], 512):  # OpenCV's channel limit (CV_CN_MAX)
        chunk = np.ascontiguousarray(flat[:, :, c0 : c0 + 512])
        y = cv2.sepFilter2D(chunk, cv2.CV_64F, kx, ky, anchor=anchor, borderType=border)
        outs.append(y.reshape(chunk.shape))
    y = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
    return y.reshape(shape)


def _conv_head(x: np.ndarray, h: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """First ``n_out`` samples of the 'valid' convolution of ``x`` with ``h`` along ``axis`` (0 or 1).

    ``out[k] = sum_j h[j] * x[k + len(h) - 1 - j]``: correlation with the reversed filter, anchored at 0.
    """
    k = np.ascontiguousarray(h[::-1], dtype=np.float64).reshape(-1, 1)
    if axis == 0:
        y = _cv_sep(x, _ONE, k, cv2.BORDER_CONSTANT, (0, 0))
        return y[:n_out]
    y = _cv_sep(x, k, _ONE, cv2.BORDER_CONSTANT, (0, 0))
    return y[:, :n_out]


def _pad_symmetric(x: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Extend ``axis`` by ``n`` samples each side, mirroring with the end sample repeated."""
    widths = [(0, 0)] * x.ndim
    widths[axis] = (n, n)
    return np.pad(x, widths, mode="symmetric")


def _take(x: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    return x[sl] if axis == 0 else x[:, sl]


def _coldfilt(x: np.ndarray, ha: np.ndarray, hb: np.ndarray, axis: int = 0) -> np.ndarray:
    """Q-shift analysis along ``axis``: filter with the pair (ha, hb) and decimate by 2.

    With ``ext`` the input extended by ``len(ha)`` samples (symmetric, end sample repeated), tree a is
    ``ya[k] = sum_j ha[j] ext[2m + 4k - 2j]`` and tree b ``yb[k] = sum_j hb[j] ext[2m + 1 + 4k - 2j]``
    (m = len(ha)); the two are interleaved in an order fixed by the sign of ``sum(ha * hb)``. Needs a
    length that is a multiple of 4.
    """
    r = x.shape[axis]
    if r % 4:
        raise ValueError(f"Expected a length that is a multiple of 4 along axis {axis}, got {r}")
    m = len(ha)
    ext = _pad_symmetric(x, m, axis)
    half = r // 2
    even = np.ascontiguousarray(_take(ext, axis, slice(0, None, 2)))
    odd = np.ascontiguousarray(_take(ext, axis, slice(1, None, 2)))
    ya = _take(_conv_head(even, ha, axis, half + 1), axis, slice(1, None, 2))
    yb = _take(_conv_head(odd, hb, axis, half + 1), axis, slice(1, None, 2))
    shape = list(x.shape)
    shape[axis] = half
    out = np.empty(shape, dtype=np.float64)
    first, second = (ya, yb) if np.sum(ha * hb) > 0 else (yb, ya)
    if axis == 0:
        out[0::2], out[1::2] = first, second
    else:
        out[:, 0::2], out[:, 1::2] = first, second
    return out


def _colifilt(x: np.ndarray, ha: np.ndarray, hb: np.ndarray, axis: int = 0) -> np.ndarray:
    """Q-shift synthesis along ``axis``: interpolate by 2 with the pair (ha, hb).

    Only filters whose half-length is odd (such as the 10-tap q-shift filters) are supported.
    """
    r = x.shape[axis]
    m = len(ha)
    if r % 2:
        raise ValueError(f"Expected an even length along axis {axis}, got {r}")
    if (m // 2) % 2 != 1:
        raise ValueError(f"Only q-shift filters with an odd half-length are supported, got length {m}")
    ext = _pad_symmetric(x, m // 2, axis)
    count = r // 2 + m // 2 - 1
    start_a, start_b = (2, 1) if np.sum(ha * hb) > 0 else (1, 2)
    xa = np.ascontiguousarray(_take(ext, axis, slice(start_a, start_a + 2 * count, 2)))
    xb = np.ascontiguousarray(_take(ext, axis, slice(start_b, start_b + 2 * count, 2)))
    shape = list(x.shape)
    shape[axis] = 2 * r
    out = np.empty(shape, dtype=np.float64)
    n_out = count - len(ha[0::2]) + 1
    for phase, (src, h) in enumerate(((xb, ha[0::2]), (xa, hb[0::2]), (xb, ha[1::2]), (xa, hb[1::2]))):
        y = _conv_head(src, h, axis, n_out)
        if axis == 0:
            out[phase::4] = y
        else:
            out[:, phase::4] = y
    return out


def _sep_reflect(x: np.ndarray, h_axis0: np.ndarray, h_axis1: np.ndarray) -> np.ndarray:
    """Separable filtering with odd symmetric filters, symmetric extension with repeated end samples.

    ``h_axis0`` filters along axis 0 and ``h_axis1`` along axis 1 (OpenCV ``BORDER_REFLECT`` is that
    extension; the filters are symmetric, so correlation equals convolution).
    """
    return _cv_sep(x, h_axis1, h_axis0, cv2.BORDER_REFLECT, (-1, -1))


def _pack(h: np.ndarray, v: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Three real quad images -> (6, h/2, w/2, ...) complex highpasses in the toolbox's band order.

    Each quad image with samples ``a = y[0::2, 0::2]``, ``b = y[0::2, 1::2]``, ``c = y[1::2, 0::2]``,
    ``d = y[1::2, 1::2]`` gives ``p = (a + jb)/sqrt(2)``, ``q = (d - jc)/sqrt(2)`` and the two subbands
    ``p - q`` and ``p + q``.
    """
    shape = (6, h.shape[0] // 2, h.shape[1] // 2) + h.shape[2:]
    out = np.empty(shape, dtype=np.complex128)
    for (i, j), y in zip(_PAIRS, (h, v, d), strict=True):
        a, b = y[0::2, 0::2], y[0::2, 1::2]
        c, dd = y[1::2, 0::2], y[1::2, 1::2]
        np.multiply(a - dd, _SQRT_HALF, out=out[i].real)
        np.multiply(b + c, _SQRT_HALF, out=out[i].imag)
        np.multiply(a + dd, _SQRT_HALF, out=out[j].real)
        np.multiply(b - c, _SQRT_HALF, out=out[j].imag)
    return out


def _c2q(w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """Inverse of one pair of :func:`_pack`: two complex subbands -> a real quad image (double size)."""
    out = np.empty((2 * w0.shape[0], 2 * w0.shape[1]) + w0.shape[2:], dtype=np.float64)
    np.multiply(w0.real + w1.real, _SQRT_HALF, out=out[0::2, 0::2])  # a
    np.multiply(w0.imag + w1.imag, _SQRT_HALF, out=out[0::2, 1::2])  # b
    np.multiply(w0.imag - w1.imag, _SQRT_HALF, out=out[1::2, 0::2])  # c
    np.multiply(w1.real - w0.real, _SQRT_HALF, out=out[1::2, 1::2])  # d
    return out


def _unpack(yh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(_c2q(yh[i], yh[j]) for i, j in _PAIRS)  # type: ignore[return-value]


def dtcwt_forward(x: np.ndarray, nlevels: int = 4) -> tuple[np.ndarray, list[np.ndarray]]:
    """Forward 2-D DT-CWT with 'legall' (level 1) and 'qshift_06' (levels >= 2) filters.

    Parameters
    ----------
    x : ndarray
        Real array (H, W, ...); trailing axes are a batch.
    nlevels : int
        Number of levels (>= 1).

    Returns
    -------
    lowpass : ndarray
        Real lowpass of the last level.
    highpasses : list of ndarray
        One complex array per level, shaped (6, h_l, w_l, ...) - band first, unlike the (h, w, 6) of
        Kingsbury's toolbox and PyPI ``dtcwt``, so that each band is contiguous. Bands in Kingsbury's order
        (approximately 15, 45, 75, 105, 135, 165 degrees).

    Notes
    -----
    An odd H or W is first made even by repeating the last row/column (the inverse then returns the
    extended size; crop it). Before each q-shift level a lowpass whose size is not a multiple of 4 is
    extended by one repeated row/column on both sides, as in Kingsbury's toolbox.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.0).reshape(8, 8)
    >>> lo, hi = dtcwt_forward(x, 2)
    >>> [h.shape for h in hi]
    [(6, 4, 4), (6, 2, 2)]
    >>> bool(np.allclose(dtcwt_inverse(lo, hi), x, atol=1e-10))
    True
    """
    if not isinstance(nlevels, (int, np.integer)) or nlevels < 1:
        raise ValueError(f"nlevels must be a positive integer, got {nlevels!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"Expected an array with at least 2 dimensions, got shape {x.shape}")
    if x.shape[0] % 2:
        x = np.concatenate([x, x[-1:]], axis=0)
    if x.shape[1] % 2:
        x = np.concatenate([x, x[:, -1:]], axis=1)

    lolo = _sep_reflect(x, LEGALL_H0O, LEGALL_H0O)
    highpasses = [
        _pack(
            _sep_reflect(x, LEGALL_H1O, LEGALL_H0O),  # highpass along axis 0
            _sep_reflect(x, LEGALL_H0O, LEGALL_H1O),  # highpass along axis 1
            _sep_reflect(x, LEGALL_H1O, LEGALL_H1O),  # diagonal
        )
    ]
    for _ in range(1, nlevels):
        if lolo.shape[0] % 4:
            lolo = np.concatenate([lolo[:1], lolo, lolo[-1:]], axis=0)
        if lolo.shape[1] % 4:
            lolo = np.concatenate([lolo[:, :1], lolo, lolo[:, -1:]], axis=1)
        lo = _coldfilt(lolo, QSHIFT06_H0B, QSHIFT06_H0A)
        hi = _coldfilt(lolo, QSHIFT06_H1B, QSHIFT06_H1A)
        lolo = _coldfilt(lo, QSHIFT06_H0B, QSHIFT06_H0A, 1)
        highpasses.append(
            _pack(
                _coldfilt(hi, QSHIFT06_H0B, QSHIFT06_H0A, 1),
                _coldfilt(lo, QSHIFT06_H1B, QSHIFT06_H1A, 1),
                _coldfilt(hi, QSHIFT06_H1B, QSHIFT06_H1A, 1),
            )
        )
    return lolo, highpasses


def dtcwt_inverse(lowpass: np.ndarray, highpasses: list[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`dtcwt_forward` (same filters); returns the (even-extended) image.

    Raises
    ------
    ValueError
        If the highpass sizes are inconsistent with each other or with ``lowpass``.
    """
    z = np.asarray(lowpass, dtype=np.float64)
    for level in range(len(highpasses) - 1, 0, -1):
        lh, hl, hh = _unpack(highpasses[level])
        y1 = _colifilt(z, QSHIFT06_G0B, QSHIFT06_G0A) + _colifilt(lh, QSHIFT06_G1B, QSHIFT06_G1A)
        y2 = _colifilt(hl, QSHIFT06_G0B, QSHIFT06_G0A) + _colifilt(hh, QSHIFT06_G1B, QSHIFT06_G1A)
        z = _colifilt(y1, QSHIFT06_G0B, QSHIFT06_G0A, 1) + _colifilt(y2, QSHIFT06_G1B, QSHIFT06_G1A, 1)
        target = (2 * highpasses[level - 1].shape[1], 2 * highpasses[level - 1].shape[2])
        if z.shape[0] != target[0]:
            z = z[1:-1]
        if z.shape[1] != target[1]:
            z = z[:, 1:-1]
        if z.shape[:2] != target:
            raise ValueError(f"Highpass sizes are inconsistent: reconstructed {z.shape[:2]}, expected {target}")
    lh, hl, hh = _unpack(highpasses[0])
    if lh.shape != z.shape:
        raise ValueError(f"Level-1 highpasses imply shape {lh.shape}, lowpass path gives {z.shape}")
    return (
        _sep_reflect(z, LEGALL_G0O, LEGALL_G0O)
        + _sep_reflect(lh, LEGALL_G1O, LEGALL_G0O)
        + _sep_reflect(hl, LEGALL_G0O, LEGALL_G1O)
        + _sep_reflect(hh, LEGALL_G1O, LEGALL_G1O)
    )
