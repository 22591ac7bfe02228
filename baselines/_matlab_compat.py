"""Small MATLAB emulations shared by the survey ports (gfdf, quadtree, dsift, mwgf). Our own code.

* :func:`source_stack`: checks the sources and returns them as float64 in [0, 1]; values that sit on
  the 8-bit grid (the sources came from 8-bit files and were read as float32) are snapped to the exact
  doubles ``k/255``, i.e. what the MATLAB originals compute from ``double(imread(...))/255``.
* :func:`rgb2gray`: MATLAB ``rgb2gray`` on doubles (no rounding; weights from the inverse YIQ matrix).
* :func:`bwareaopen`: MATLAB ``bwareaopen(bw, p)`` (2-D default 8-connectivity): drop connected
  components of fewer than ``p`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
_EIGHT = np.ones((3, 3), dtype=bool)


def source_stack(images: Sequence[np.ndarray], return_grid: bool = False):
    """N x H x W (x 3) float64 stack of N >= 2 equal-shape HxW / HxWx3 sources in [0, 1].

    With ``return_grid``, also whether the values were snapped to the 8-bit grid.

    Raises
    ------
    ValueError
        Fewer than two sources, shapes differ, wrong layout, or non-finite values.
    """
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")
    arrs = [np.asarray(im) for im in images]
    shape = arrs[0].shape
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {shape}")
    dt = np.result_type(*arrs)  # the dtype np.stack would give
    if not np.issubdtype(dt, np.floating):
        dt = np.dtype(np.float64)
    # one source at a time (the temporaries are one source's size); the same values as the stacked form
    worst = []
    for a in arrs:
        a = a.astype(dt, copy=False)
        if not np.isfinite(a).all():
            raise ValueError("Expected finite source values (got NaN or inf)")
        scaled = a * dt.type(255.0)  # float32 inputs checked in float32 (half the traffic)
        worst.append(np.abs(scaled - np.rint(scaled)).max())
    snapped = bool(max(worst) <= 1e-3)  # compared in dt, as the stacked form did
    out = np.empty((len(arrs),) + shape, dtype=np.float64)
    for o, a in zip(out, arrs, strict=True):
        a = a.astype(dt, copy=False)
        if snapped:
            o[...] = np.rint(a * dt.type(255.0))
            o /= 255.0
        else:
            o[...] = a
    return (out, snapped) if return_grid else out


def rgb2gray(stack: np.ndarray) -> np.ndarray:
    """Gray version of an N x H x W x 3 stack (MATLAB ``rgb2gray`` on doubles); gray stacks pass through."""
    if stack.ndim == 4:
        return np.ascontiguousarray(stack @ RGB2GRAY)
    return stack


def bwareaopen(bw: np.ndarray, p: int) -> np.ndarray:
    """MATLAB ``bwareaopen(bw, p)`` with 8-connectivity: keep components of at least ``p`` pixels."""
    from scipy import ndimage

    bw = np.asarray(bw, dtype=bool)
    lab, n = ndimage.label(bw, structure=_EIGHT)
    if n == 0:
        return bw.copy()
    sizes = np.bincount(lab.ravel())
    keep = sizes >= p
    keep[0] = False
    return keep[lab]
