"""Local (co)variance statistics of the structural-similarity / information-fidelity metrics (private).

* :func:`local_moments` -- the ``ssim_index.m`` statistics: local means and ``E[xy] - E[x]E[y]``
  (co)variances with one window, through :class:`metrics._matlab.OctaveWindow` (Octave's exact bits on
  exactly-flat windows).

The MATLAB emulations (windows, ``filter2``, rounding) live in :mod:`metrics._matlab`, the memo caches in
:mod:`metrics._memo`, input validation in :mod:`metrics._checks`.
"""

from __future__ import annotations

import numpy as np

from metrics._matlab import OctaveWindow
from metrics._memo import flat_windows


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
        ``(mu_x, mu_y, sigma_x_sq, sigma_y_sq, sigma_xy)``, each of the valid size.
    """
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
