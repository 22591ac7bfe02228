"""Local (co)variance statistics of the structural-similarity / information-fidelity metrics (private).

* :func:`local_moments` -- the ``ssim_index.m`` statistics: local means and ``E[xy] - E[x]E[y]``
  (co)variances with one window, through :class:`metrics._matlab.OctaveWindow` (Octave's exact bits on
  exactly-flat windows). Memoised for frozen inputs (:func:`metrics._memo.freeze`, as the runner and
  ``bench score`` pass them): Qy, Qy@liu, Qc, Qc@sesf ask for the same (source, fused) moments with the
  same window, SSIM and its variants too, and the source-only pairs (Qy's (A, B), Qs's (A, A)) come back
  for every fused image of a scene; one image's own mean and variance maps are shared by all its pairs
  (a source's by every fused image). Same arrays as computed the first time (read-only): no value moves.

* :func:`ssim_formula`, :func:`cs_formula` -- the SSIM map ``((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 +
  C1)(sxx + syy + C2))`` (Qy, Qc, SSIM, MS-SSIM, Qs) and MS-SSIM's ``cs`` term from the moments: one
  compiled pass (:mod:`metrics._kernels_structural`) with the NumPy expression's bits, or that expression.

The MATLAB emulations (windows, ``filter2``, rounding) live in :mod:`metrics._matlab`, the memo caches in
:mod:`metrics._memo`, input validation in :mod:`metrics._checks`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from metrics._jit import kernels
from metrics._matlab import OctaveWindow
from metrics._memo import _ALL_MEMOS, _frozen_owner, array_key, flat_windows


class _Lru:
    """A byte-bounded LRU of tuples of read-only arrays (cleared by :func:`metrics._memo.clear_memos`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.cache: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.lock = threading.Lock()
        _ALL_MEMOS.append((self.cache, {}, self.sizes))

    def get(self, key):
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache.move_to_end(key)
            return hit

    def put(self, key, val: tuple) -> tuple:
        for a in val:
            a.setflags(write=False)
        with self.lock:
            self.cache[key] = val
            self.sizes[key] = sum(a.nbytes for a in val)
            while len(self.cache) > 1 and sum(self.sizes.values()) > self.max_bytes:
                old, _ = self.cache.popitem(last=False)
                self.sizes.pop(old, None)
        return val


#: (x, y, window, exact) -> the five maps (at most 10.6 MB per entry at 520x520; the means and variances
#: are often the per-image arrays below, shared, so the memory held is less than counted).
_MOMENTS = _Lru(96 << 20)
#: (image, window) -> (mu, sigma^2): one image's half, shared by all its pairs (4.2 MB at 520x520).
_IMAGE_MOMENTS = _Lru(96 << 20)


def _window_key(win: OctaveWindow) -> tuple:
    """What :meth:`OctaveWindow.filter_valid` depends on: equal windows of different modules share."""
    key = getattr(win, "_memo_key", None)
    if key is None:
        key = win._memo_key = (win.n, win.g.tobytes(), tuple(win._taps))
    return key


def local_moments(x: np.ndarray, y: np.ndarray, win: OctaveWindow, *, exact_near_flat: bool = False):
    """Local means, variances and covariance as in ``ssim_index.m`` (``filter2 'valid'``).

    ``sigma_xy = filter2(w, x.*y) - mu_x.*mu_y`` etc., through :meth:`OctaveWindow.filter_valid`, so that
    exactly-flat windows carry Octave's exact rounding.

    Parameters
    ----------
    x, y : numpy.ndarray
        2-D float64 images of equal shape.
    win : OctaveWindow
        The normalised window.
    exact_near_flat : bool
        Also compute every statistic exactly on windows where only one of ``x``, ``y`` is flat (there the
        covariance is pure rounding noise whose *sign* some metrics test, e.g. Cvejic's Qc).

    Returns
    -------
    tuple of numpy.ndarray
        ``(mu_x, mu_y, sigma_x_sq, sigma_y_sq, sigma_xy)``, each of the valid size (read-only when the
        inputs are frozen: then they come from the memo).
    """
    if not (_frozen_owner(x) and _frozen_owner(y)):
        return _local_moments(x, y, win, exact_near_flat)
    key = (array_key(x), array_key(y), _window_key(win), exact_near_flat)
    hit = _MOMENTS.get(key)
    if hit is not None:
        return hit
    return _MOMENTS.put(key, _local_moments(x, y, win, exact_near_flat))


def _image_moments(img: np.ndarray, win: OctaveWindow, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma^2)`` of one frozen image (no extra exact windows), memoised per (image, window)."""
    key = (array_key(img), _window_key(win))
    hit = _IMAGE_MOMENTS.get(key)
    if hit is not None:
        return hit
    m = win.filter_valid(img, flat)
    return _IMAGE_MOMENTS.put(key, (m, win.filter_valid(img * img, flat) - m * m))


def _local_moments(x: np.ndarray, y: np.ndarray, win: OctaveWindow, exact_near_flat: bool):
    fx = flat_windows(x, win.n)
    fy = flat_windows(y, win.n)
    fxy = fx & fy
    ex = (fx | fy) if exact_near_flat else None
    # An image's mean and variance depend on its partner only through the extra exact windows (ex & ~own
    # flat = the partner's flat windows): the image's own maps (shared by its pairs) with those windows
    # recomputed exactly are the same arrays as filtering it with them (see _own_moments).
    if _frozen_owner(x):
        mx, sxx = _own_moments(x, win, fx, fy if ex is not None else None)
    else:
        mx = win.filter_valid(x, fx, ex)
        sxx = win.filter_valid(x * x, fx, ex) - mx * mx
    if _frozen_owner(y):
        my, syy = _own_moments(y, win, fy, fx if ex is not None else None)
    else:
        my = win.filter_valid(y, fy, ex)
        syy = win.filter_valid(y * y, fy, ex) - my * my
    sxy = win.filter_valid(x * y, fxy, ex) - mx * my
    return mx, my, sxx, syy, sxy


def _own_moments(img: np.ndarray, win: OctaveWindow, flat: np.ndarray, partner_flat: np.ndarray | None):
    """``(mu, sigma^2)`` of a frozen image as ``filter_valid(img, flat, flat | partner_flat)`` and
    ``filter_valid(img * img, flat, flat | partner_flat) - mu * mu`` give them, from the memoised own maps.

    ``filter_valid`` differs from the own maps only on the extra exact windows ``partner_flat & ~flat``
    (Octave's tap-by-tap sums there): those windows are recomputed exactly in copies, everything else is
    the memoised bits (same values as before, without filtering the image again for every partner).
    """
    m, v = _image_moments(img, win, flat)
    if partner_flat is None:
        return m, v
    extra = partner_flat & ~flat
    if not extra.any():
        return m, v
    r, c = np.nonzero(extra)
    mu = win.exact_at(img, r, c)
    m = m.copy()
    v = v.copy()
    m[r, c] = mu
    v[r, c] = win.exact_at(img * img, r, c) - mu * mu
    return m, v


def ssim_formula(mx, my, sxx, syy, sxy, c1: float, c2: float, guard: float = 0.0) -> np.ndarray:
    """``((2*mx*my + c1) * (2*sxy + c2)) / ((mx*mx + my*my + c1) * (sxx + syy + c2) [+ guard])``.

    NumPy's grouping (``2*mx*my`` is ``(2*mx)*my``, equal to ``2*(mx*my)``: doubling is exact); ``guard``
    is added to the denominator when it is not 0. The compiled kernel gives the same bits in one pass.
    """
    k = kernels("structural")
    if k is not None:
        out = np.empty(np.shape(mx))
        return k.ssim_map(mx, my, sxx, syy, sxy, float(c1), float(c2), float(guard), out)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        if guard != 0.0:
            den = den + guard
        return ((2 * mx * my + c1) * (2 * sxy + c2)) / den


def cs_formula(sxx, syy, sxy, c2: float) -> np.ndarray:
    """``(2*sxy + c2) / (sxx + syy + c2)`` (MS-SSIM's contrast-structure map), compiled or NumPy."""
    k = kernels("structural")
    if k is not None:
        return k.cs_map(sxx, syy, sxy, float(c2), np.empty(np.shape(sxy)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (2 * sxy + c2) / (sxx + syy + c2)
