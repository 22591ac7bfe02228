"""MATLAB/Octave compatibility helpers of the metric ports (private): the one home for them in ``metrics/``.

Each helper names the MATLAB behaviour it reproduces; all work on float64 arrays.

Rounding and normalisation

* :func:`matlab_round` -- MATLAB ``round`` / ``int16(x)`` / ``uint8(x)`` rounding: half away from zero
  (NumPy's ``round`` is half to even), exact, signed zero kept.
* :func:`normalize1` -- Liu toolbox ``normalize1.m``: min-max stretch to 0..255 then ``round``; an
  all-zero image is returned unchanged; any other constant image is 0/0 = NaN everywhere (as MATLAB).

Windows

* :func:`fspecial_gaussian` -- ``fspecial('gaussian', n, sigma)``: ``exp(-(x^2+y^2)/(2 sigma^2))`` on the
  integer grid centred on the kernel, entries below ``eps * max`` set to 0, normalised to sum 1. The
  kernel is separable; we return its normalised 1-D factor (the outer product equals the 2-D kernel to
  the last bit or two, far below every metric tolerance); :func:`gaussian_2d` is the 2-D kernel.
* :class:`OctaveWindow` -- a ``fspecial``/``ones(n)/n^2`` window with an exact model of Octave's
  ``conv2`` summation (column-major, fused multiply-add; :func:`fma` emulates the FMA). Over windows
  where the input is exactly constant the local variance ``E[x^2] - E[x]^2`` is pure rounding noise
  (~1e-12), and metrics with tiny constants (Qy, Qc: 2e-16; VIF: 1e-10 clamps) divide by it, so the
  reference values there depend on Octave's exact bits: e.g. grey level 16 gives exactly 0 (Liu's Qy
  turns into 0/0 = NaN), grey level 220 gives -7e-12 (a number). Those windows are recomputed exactly.

Filtering (``filter2`` / ``conv2`` / ``imfilter`` emulations)

* :func:`filter2_valid` -- ``filter2(h, X, 'valid')`` for a separable symmetric window (OpenCV).
* :func:`filter2_same` -- ``filter2(h, X, 'same')`` for odd-sized ``h``: 2-D correlation, zero padding.
* :func:`conv2_same` -- ``conv2(X, h, 'same')`` for odd-sized ``h``: true convolution, zero padding.
* :func:`correlate` -- ``scipy.ndimage.correlate`` in all four border modes, bit-identical, through
  OpenCV's direct filter for small odd kernels.
* :func:`imfilter_symmetric_2x2_decimate` -- ``imfilter(I, ones(2)/4, 'symmetric', 'same')`` followed by
  ``I(1:2:end, 1:2:end)`` (MATLAB anchors an even kernel at its top-left-of-centre element, so output
  (i, j) averages rows i, i+1 and columns j, j+1, with the edge pixel repeated past the border).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from metrics._jit import kernels
from metrics._memo import _frozen_owner, derived_key, flat_windows, memoize_images


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: to nearest integer, halves away from zero (exact, no ``floor(x + 0.5)`` error)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size >= 4096:
        compiled = kernels("matlab")
        if compiled is not None:  # the same operations in one compiled pass (same bits)
            out = np.empty(x.shape)  # owns its memory (content keys of frozen results are then kept)
            compiled.round_half_away(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
            return out
    a = np.abs(x)
    fl = np.floor(a)
    with np.errstate(invalid="ignore"):  # inf - inf for infinite input: NaN >= 0.5 is False, inf kept
        return np.copysign(fl + (a - fl >= 0.5), x)


def normalize1(data: np.ndarray) -> np.ndarray:
    """Liu toolbox ``normalize1``: ``round((x - min) / (max - min) * 255)``.

    An all-zero image is returned unchanged (MATLAB ``if (da==0 & xiao==0)``, a copy); any other constant
    image gives NaN everywhere (0/0), as in MATLAB, so that the calling metric returns NaN. For a frozen
    input (:func:`metrics._memo.freeze`) the result is memoised and read-only: NMI, Qncie, Qte, Qcb and Qcv
    normalise the same images of a pass (a source's for every fused image of a scene).
    """
    if _frozen_owner(data):
        return _normalize1_memo(data)
    return _normalize1(data)


def _normalize1(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, dtype=np.float64)
    da, xiao = data.max(), data.min()
    if da == 0 and xiao == 0:
        return data.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return matlab_round((data - xiao) / (da - xiao) * 255.0)


def _normalize1_frozen(data: np.ndarray) -> np.ndarray:
    out = _normalize1(data)
    out.setflags(write=False)
    return derived_key(out, "normalize1", data)  # keyed by its input's key: never hashed


_normalize1_memo = memoize_images(_normalize1_frozen, maxsize=5)


_EPS = np.finfo(np.float64).eps


def fspecial_gaussian(n: int, sigma: float) -> np.ndarray:
    """Normalised 1-D factor of MATLAB ``fspecial('gaussian', n, sigma)`` (separable kernel).

    Parameters
    ----------
    n : int
        Kernel side (odd or even, like MATLAB).
    sigma : float
        Standard deviation in pixels.

    Returns
    -------
    numpy.ndarray
        1-D float64 array ``g`` of length ``n`` with ``np.outer(g, g)`` equal to the MATLAB kernel.
    """
    half = (n - 1) / 2.0
    x = np.arange(n, dtype=np.float64) - half
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    # MATLAB zeroes entries below eps*max of the 2-D kernel; with max = 1 at the centre this is
    # g_i * g_j < eps. Never triggered for the kernels used here (all entries > 1e-6), kept for parity.
    g2 = np.outer(g, g)
    if np.any(g2 < _EPS * g2.max()):
        raise ValueError(f"gaussian kernel n={n}, sigma={sigma} has entries below eps*max; not separable")
    return g / g.sum()


def gaussian_2d(n: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', n, sigma)`` as a 2-D array (for checks and non-separable uses)."""
    half = (n - 1) / 2.0
    x = np.arange(n, dtype=np.float64) - half
    h = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma * sigma))
    h[h < _EPS * h.max()] = 0.0
    return h / h.sum()


# --- exact fused multiply-add, vectorised -------------------------------------------------------------
# Octave's conv2 accumulates with a BLAS daxpy that uses FMA. To reproduce its bits where they matter we
# need fl(a*b + c) with a single rounding. Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
# proved algorithms using rounding to odd", IEEE TC 57(4), 2008, doi:10.1109/TC.2007.70819: exact product
# (Veltkamp/Dekker split), exact sum, one addition rounded to odd, final round to nearest.
_SPLIT = 134217729.0  # 2**27 + 1


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_round_odd(x, y):
    s, e = _two_sum(x, y)
    need = (e != 0) & ((s.view(np.int64) & 1) == 0)
    if np.any(need):
        s = np.array(s, copy=True)
        s[need] = np.nextafter(s[need], np.where(e[need] > 0, np.inf, -np.inf))
    return s


def fma(a, b, c) -> np.ndarray:
    """Correctly rounded ``a*b + c`` (one rounding) for float64 arrays, like a hardware FMA."""
    a, b, c = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(a, b, c))
    uh, ul = _two_prod(a, b)
    th, tl = _two_sum(c, uh)
    return th + _add_round_odd(tl, ul)


class OctaveWindow:
    """A MATLAB window, filtered fast, with an exact model of Octave's ``filter2`` where it matters.

    Fast filtering uses the separable 1-D factor ``g`` (OpenCV). Over a window where the input is exactly
    constant the true local variance is 0, but MATLAB/Octave compute ``E[x^2] - E[x]^2`` from two filtered
    images and get rounding noise of order 1e-12, which metrics with tiny constants (Qy, Qc: C = 2e-16;
    VIF: 1e-10 clamps) then divide by. The reference values were produced by Octave, whose
    ``conv2(..., 'valid')`` (``filter2`` rotates the kernel by 180 degrees and calls it) accumulates
    ``c += b(i,j) * a(...)`` over the kernel in column-major order with a BLAS ``daxpy`` that fuses the
    multiply-add. :meth:`exact_at` reproduces that sum bit for bit at chosen windows; :meth:`filter_valid`
    uses it on exactly-flat windows. This reproduces, e.g., which grey levels give Liu's Qy an exact
    0/0 = NaN (16, 149, 151 on lytro_04) and which give 1e-12 noise (all of lytro_20's flat areas).

    Parameters
    ----------
    n : int
        Kernel side.
    sigma : float or None
        Gaussian sigma (``fspecial('gaussian', n, sigma)``: ``exp(-(x^2+y^2)/(2 sigma^2))`` divided by its
        sequential column-major sum); ``None`` gives the box ``ones(n)/n^2``.
    renormalize : bool
        Apply ``window = window/sum(sum(window))`` once more, as ``ssim_index.m`` does.
    """

    def __init__(self, n: int, sigma: float | None, *, renormalize: bool = False) -> None:
        self.n = n
        if sigma is None:
            h = [[1.0 / (n * n)] * n for _ in range(n)]
            self.g = np.full(n, 1.0 / n)
        else:
            half = (n - 1) / 2.0
            h = [
                [math.exp(-((i - half) ** 2 + (j - half) ** 2) / (2.0 * sigma * sigma)) for j in range(n)]
                for i in range(n)
            ]
            tot = 0.0
            for j in range(n):
                for i in range(n):
                    tot += h[i][j]
            h = [[v / tot for v in row] for row in h]
            self.g = fspecial_gaussian(n, sigma)
        if renormalize:
            tot = 0.0
            for j in range(n):
                col = 0.0
                for i in range(n):
                    col += h[i][j]
                tot += col
            h = [[v / tot for v in row] for row in h]
        # conv2 kernel b = rot180(h), loop j (columns) outer, i (rows) inner; the term for b(i, j) reads
        # h[p][q] * X[r + p, c + q] with p = n-1-i, q = n-1-j (0-based, window top-left at (r, c)).
        self._order = [(n - 1 - i, n - 1 - j) for j in range(n) for i in range(n)]
        self._taps = [h[p][q] for p, q in self._order]
        self._cache: dict[float, float] = {}

    def exact_at(self, img: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Octave's ``filter2(h, img, 'valid')`` at the windows with top-left corners ``(rows, cols)``."""
        compiled = kernels("structural")
        if compiled is not None:  # the same fused multiply-adds in one compiled loop (same bits)
            if not hasattr(self, "_arrays"):
                self._arrays = (
                    np.array([p for p, _ in self._order], dtype=np.int64),
                    np.array([q for _, q in self._order], dtype=np.int64),
                    np.array(self._taps, dtype=np.float64),
                )
            r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
            img = np.ascontiguousarray(img, dtype=np.float64)
            return compiled.exact_at(img, r.ravel(), c.ravel(), *self._arrays).reshape(r.shape)
        acc = np.zeros(np.shape(rows), dtype=np.float64)
        for (p, q), t in zip(self._order, self._taps, strict=True):
            acc = fma(t, img[rows + p, cols + q], acc)
        return acc

    def const_response(self, values: np.ndarray) -> np.ndarray:
        """Octave's ``filter2`` output over windows where the input is constant, one per value (cached)."""
        values = np.asarray(values, dtype=np.float64)
        missing = [v for v in values.tolist() if v not in self._cache]
        if missing:
            acc = np.zeros(len(missing))
            vals = np.array(missing)
            for t in self._taps:
                acc = fma(t, vals, acc)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache.update(zip(missing, acc.tolist(), strict=True))
        return np.array([self._cache[v] for v in values.tolist()], dtype=np.float64)

    def filter_valid(
        self, img: np.ndarray, flat: np.ndarray | None = None, exact: np.ndarray | None = None
    ) -> np.ndarray:
        """``filter2(h, img, 'valid')``: fast separable filtering; Octave's exact bits where it matters.

        Parameters
        ----------
        img : numpy.ndarray
            2-D float64 image.
        flat : numpy.ndarray of bool, optional
            Valid-size map of the windows where ``img`` is exactly constant (computed if omitted).
        exact : numpy.ndarray of bool, optional
            Further windows (valid-size mask) to compute exactly, tap by tap.
        """
        out = filter2_valid(img, self.g)
        if flat is None:
            flat = flat_windows(img, self.n)
        if exact is not None:
            exact = exact & ~flat
            if exact.any():
                r, c = np.nonzero(exact)
                out[r, c] = self.exact_at(img, r, c)
        if flat.any():
            vals = img[: flat.shape[0], : flat.shape[1]][flat]
            uniq, inv = np.unique(vals, return_inverse=True)
            out[flat] = self.const_response(uniq)[inv]
        return out


def filter2_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(outer(g, g), img, 'valid')`` for a symmetric separable kernel ``g``.

    Parameters
    ----------
    img : numpy.ndarray
        2-D float64 image.
    g : numpy.ndarray
        1-D kernel factor (length k).

    Returns
    -------
    numpy.ndarray
        Array of shape ``(H - k + 1, W - k + 1)``.
    """
    k = g.size
    h, w = img.shape
    if h < k or w < k:
        raise ValueError(f"image {img.shape} smaller than the {k}x{k} window")
    out = cv2.sepFilter2D(
        np.ascontiguousarray(img, dtype=np.float64),
        cv2.CV_64F,
        g,
        g,
        anchor=(0, 0),
        borderType=cv2.BORDER_CONSTANT,
    )
    return out[: h - k + 1, : w - k + 1]


def imfilter_symmetric_2x2_decimate(img: np.ndarray) -> np.ndarray:
    """``imfilter(img, ones(2)/4, 'symmetric', 'same')`` then ``(1:2:end, 1:2:end)``."""
    p = np.pad(img, ((0, 1), (0, 1)), mode="symmetric")
    s = (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4.0
    return s[::2, ::2]


_CV_BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "nearest": cv2.BORDER_REPLICATE,
    "mirror": cv2.BORDER_REFLECT_101,
    "reflect": cv2.BORDER_REFLECT,
}


def correlate(img: np.ndarray, kernel: np.ndarray, mode: str) -> np.ndarray:
    """``scipy.ndimage.correlate(img, kernel, mode=mode)`` (cval 0) of a 2-D image, as float64.

    Odd kernels of at most 7x7 go through OpenCV's direct ``filter2D``, which adds the products in the
    same order as SciPy (bit-identical, tested) and is 3-5x faster; larger kernels stay with SciPy
    (OpenCV would switch to a DFT: other bits).
    """
    x = np.ascontiguousarray(img, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    if x.ndim == 2 and k.ndim == 2 and k.size <= 49 and k.shape[0] % 2 and k.shape[1] % 2:
        return cv2.filter2D(x, cv2.CV_64F, k, borderType=_CV_BORDERS[mode])
    from scipy import ndimage  # lazily: most calls take the OpenCV path, and `score` starts faster

    return ndimage.correlate(x, k, mode=mode, cval=0.0)


def filter2_same(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(h, x, 'same')`` for an odd-sized kernel: correlation with zero padding."""
    h = np.asarray(h, dtype=np.float64)
    if h.shape[0] % 2 == 0 or h.shape[1] % 2 == 0:
        raise ValueError(f"filter2_same supports odd kernel sizes only, got {h.shape}")
    return correlate(x, h, "constant")


def conv2_same(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """MATLAB ``conv2(x, h, 'same')`` for an odd-sized kernel: convolution (kernel flipped), zero padding."""
    return filter2_same(np.asarray(h, dtype=np.float64)[::-1, ::-1], x)
