"""Fast gray guided filter for GFF: same clipped-window rule as :mod:`bench.guided_filter`.

GFF needs 2N gray guided filters (radius 45 and 7) per fusion; the cumulative-sum box filter of
:func:`bench.guided_filter.guided_filter` costs ~45 ms per call on 520x520, which alone would break the
60 ms budget of ``gf`` (issue 4). This module computes the *same* filter (He's ``guidedfilter.m``:
window clipped at the border, divided by the true pixel count, methods.md section 1.2) with
OpenCV's running-sum ``boxFilter`` on a zero-padded border (``normalize=False``, ``BORDER_CONSTANT``),
which is the clipped-window sum exactly, then divides by the pixel count. It batches all guides in
one call. ``tests/test_baselines_gf.py`` checks it against :func:`bench.guided_filter.guided_filter`
(max abs difference below 1e-9).

It is not OpenCV's ``cv2.ximgproc.guidedFilter`` (reflect-101 borders); only the box sum comes from
OpenCV. Our own code, no port.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np


@functools.lru_cache(maxsize=16)
def _counts(h: int, w: int, r: int) -> np.ndarray:
    """Pixels in each clipped window, HxW float64 (read-only, cached)."""
    ih, iw = np.arange(h), np.arange(w)
    nh = np.minimum(ih + r, h - 1) - np.maximum(ih - r, 0) + 1
    nw = np.minimum(iw + r, w - 1) - np.maximum(iw - r, 0) + 1
    out = np.outer(nh, nw).astype(np.float64)
    out.flags.writeable = False
    return out


def box_mean_stack(x: np.ndarray, r: int) -> np.ndarray:
    """Clipped-window (2r+1)^2 mean (true pixel count) of each HxW slice of a KxHxW float64 array."""
    k = 2 * r + 1
    n = _counts(x.shape[1], x.shape[2], r)
    out = np.empty(x.shape, dtype=np.float64)
    for i in range(x.shape[0]):
        # zero-padded unnormalised box sum == sum over the window clipped at the border
        cv2.boxFilter(
            np.ascontiguousarray(x[i]),
            -1,
            (k, k),
            dst=out[i],
            normalize=False,
            borderType=cv2.BORDER_CONSTANT,
        )
    out /= n
    return out


def guided_filter_stack(guides: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Gray guided filter applied slice-wise: slice k of ``p`` is filtered with guide k.

    Parameters
    ----------
    guides, p : ndarray
        KxHxW float arrays of equal shape.
    r : int
        Window radius (>= 0).
    eps : float
        Regularisation in the guides' units squared.

    Returns
    -------
    ndarray
        KxHxW float64, not clipped.

    Raises
    ------
    ValueError
        Shapes differ or are not KxHxW, or ``r`` is negative.
    """
    guides = np.asarray(guides, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if guides.ndim != 3 or guides.shape != p.shape:
        raise ValueError(f"Expected guides and inputs of one KxHxW shape, got {guides.shape} and {p.shape}")
    if r < 0:
        raise ValueError(f"Expected radius >= 0, got {r}")
    if guides.shape[0] > 1:  # one slice at a time: the same bits (every step is per slice), 1/K of the memory
        out = np.empty(guides.shape, dtype=np.float64)
        for k in range(guides.shape[0]):
            out[k] = guided_filter_stack(guides[k : k + 1], p[k : k + 1], r, eps)[0]
        return out
    mean_i = box_mean_stack(guides, r)
    mean_p = box_mean_stack(p, r)
    cov_ip = box_mean_stack(guides * p, r)
    cov_ip -= mean_i * mean_p
    var_i = box_mean_stack(guides * guides, r)
    var_i -= mean_i * mean_i
    var_i += eps
    a = cov_ip / var_i
    b = mean_p - a * mean_i
    q = box_mean_stack(a, r)
    q *= guides
    q += box_mean_stack(b, r)
    return q
