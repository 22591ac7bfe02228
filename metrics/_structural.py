"""Local (co)variance statistics of the structural-similarity / information-fidelity metrics (private).

* :func:`local_moments` -- the ``ssim_index.m`` statistics: local means and ``E[xy] - E[x]E[y]``
  (co)variances with one window, through :class:`metrics._matlab.OctaveWindow` (Octave's exact bits on
  exactly-flat windows). Memoised for frozen inputs (:func:`metrics._memo.freeze`, as the runner and
  ``bench score`` pass them): Qy, Qy@liu, Qc, Qc@sesf ask for the same (source, fused) moments with the
  same window, SSIM and its variants too, and the source-only pairs (Qy's (A, B), Qs's (A, A)) come back
  for every fused image of a scene. Same arrays as computed the first time (read-only): no value moves.

The MATLAB emulations (windows, ``filter2``, rounding) live in :mod:`metrics._matlab`, the memo caches in
:mod:`metrics._memo`, input validation in :mod:`metrics._checks`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from metrics._matlab import OctaveWindow
from metrics._memo import _ALL_MEMOS, _frozen_owner, array_key, flat_windows

#: Bytes the moments memo may hold (5 maps of 8 bytes per pixel per entry: 10.6 MB at 520x520).
MOMENTS_MAX_BYTES = 160 << 20
_MOMENTS: OrderedDict = OrderedDict()
_MOMENTS_SIZES: dict = {}
_MOMENTS_LOCK = threading.Lock()
_ALL_MEMOS.append((_MOMENTS, {}, _MOMENTS_SIZES))


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
    with _MOMENTS_LOCK:
        hit = _MOMENTS.get(key)
        if hit is not None:
            _MOMENTS.move_to_end(key)
            return hit
    val = _local_moments(x, y, win, exact_near_flat)
    for a in val:
        a.setflags(write=False)
    with _MOMENTS_LOCK:
        _MOMENTS[key] = val
        _MOMENTS_SIZES[key] = sum(a.nbytes for a in val)
        while len(_MOMENTS) > 1 and sum(_MOMENTS_SIZES.values()) > MOMENTS_MAX_BYTES:
            old, _ = _MOMENTS.popitem(last=False)
            _MOMENTS_SIZES.pop(old, None)
    return val


def _local_moments(x: np.ndarray, y: np.ndarray, win: OctaveWindow, exact_near_flat: bool):
    fx = flat_windows(x, win.n)
    fy = flat_windows(y, win.n)
    fxy = fx & fy
    ex = (fx | fy) if exact_near_flat else None
    mx = win.filter_valid(x, fx, ex)
    my = win.filter_valid(y, fy, ex)
    sxx = win.filter_valid(x * x, fx, ex) - mx * mx
    syy = win.filter_valid(y * y, fy, ex) - my * my
    sxy = win.filter_valid(x * y, fxy, ex) - mx * my
    return mx, my, sxx, syy, sxy
