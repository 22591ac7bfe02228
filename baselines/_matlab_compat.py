"""Small MATLAB emulations shared by the survey ports (gfdf, quadtree, dsift, mwgf). Our own code.

* :func:`source_stack`: checks the sources and returns them as float64 in [0, 1]; values that sit on
  the 8-bit grid (the sources came from 8-bit files and were read as float32) are snapped to the exact
  doubles ``k/255``, i.e. what the MATLAB originals compute from ``double(imread(...))/255``.
  :class:`CompactSources`: the same sources one at a time, without holding the float64 stack (brw).
* :func:`rgb2gray`: MATLAB ``rgb2gray`` on doubles (no rounding; weights from the inverse YIQ matrix).
* :func:`gray_0_255`: ``double(rgb2gray(uint8 img))`` of one 0..255 image (rounded like MATLAB's uint8
  ``rgb2gray``) when it holds 8-bit values, the unrounded gray otherwise (dsift, mwgf).
* :func:`serial_pairs` / :func:`index_result`: the serial N > 2 extension ``((I1 + I2) + I3) + ...`` of
  the pairwise methods (dsift, mwgf) and their registry result (decision map = expected index / (N-1)).
* :func:`bwareaopen`: MATLAB ``bwareaopen(bw, p)`` (2-D default 8-connectivity): drop connected
  components of fewer than ``p`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
_EIGHT = np.ones((3, 3), dtype=bool)


def _checked_sources(images: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.dtype, bool]:
    """The checks of :func:`source_stack`: ``(arrays, working dtype, whether on the 8-bit grid)``."""
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
    return arrs, dt, snapped


def source_stack(images: Sequence[np.ndarray], return_grid: bool = False):
    """N x H x W (x 3) float64 stack of N >= 2 equal-shape HxW / HxWx3 sources in [0, 1].

    With ``return_grid``, also whether the values were snapped to the 8-bit grid.

    Raises
    ------
    ValueError
        Fewer than two sources, shapes differ, wrong layout, or non-finite values.
    """
    arrs, dt, snapped = _checked_sources(images)
    out = np.empty((len(arrs),) + arrs[0].shape, dtype=np.float64)
    for o, a in zip(out, arrs, strict=True):
        a = a.astype(dt, copy=False)
        if snapped:
            o[...] = np.rint(a * dt.type(255.0))
            o /= 255.0
        else:
            o[...] = a
    return (out, snapped) if return_grid else out


class CompactSources:
    """The sources of :func:`source_stack` without the float64 stack (the same checks and values).

    ``sources[k]`` is a fresh float64 array equal, bit for bit, to ``source_stack(images)[k]``; between
    calls only the compact form is kept: on the 8-bit grid the rounded ``255 x`` values in the sources'
    precision (float32 inputs: half a float64 copy), otherwise the caller's arrays themselves.
    """

    def __init__(self, images: Sequence[np.ndarray]):
        arrs, dt, self.snapped = _checked_sources(images)
        self.shape = arrs[0].shape
        if self.snapped:
            self._data = [np.rint(a.astype(dt, copy=False) * dt.type(255.0)) for a in arrs]
        else:
            self._data = [a.astype(dt, copy=False) for a in arrs]

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, k: int) -> np.ndarray:
        x = self._data[k].astype(np.float64)  # a copy (the caller may write to it)
        if self.snapped:
            x /= 255.0
        return x


def rgb2gray(stack: np.ndarray) -> np.ndarray:
    """Gray version of an N x H x W x 3 stack (MATLAB ``rgb2gray`` on doubles); gray stacks pass through."""
    if stack.ndim == 4:
        return np.ascontiguousarray(stack @ RGB2GRAY)
    return stack


def gray_0_255(img: np.ndarray, on_grid: bool | None = None) -> np.ndarray:
    """0..255 gray of one HxW / HxWx3 image: ``double(rgb2gray(uint8 img))`` (rounded) for 8-bit colour.

    ``on_grid``: whether the image holds integers (8-bit data); None = check. Off the grid the gray is
    not rounded. Gray images pass through.
    """
    if img.ndim == 2:
        return img
    g = img @ RGB2GRAY
    if on_grid is None:
        on_grid = bool(np.array_equal(img, np.rint(img)))
    return np.floor(g + 0.5) if on_grid else g


def serial_pairs(stack: np.ndarray, pair, *, skip_identical: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Serial extension of a pairwise fusion to N sources: ``((I1 + I2) + I3) + ...``.

    Parameters
    ----------
    stack : ndarray
        N x H x W (x 3) sources, on whatever scale ``pair`` expects.
    pair : callable
        ``pair(running, source) -> (fused, w)``: the fused pair and the HxW weight of ``running``.
    skip_identical : bool
        Skip a source equal to the running result (it adds nothing).

    Returns
    -------
    fused : ndarray
        The last fused result (``stack[0]`` if every other source was skipped).
    index : ndarray
        HxW expected source index (0 = first source): ``w * index + (1 - w) * k`` at step k.
    """
    fused, index = stack[0], np.zeros(stack.shape[1:3])
    for k in range(1, stack.shape[0]):
        if skip_identical and np.array_equal(fused, stack[k]):
            continue
        fused, w = pair(fused, stack[k])
        index = w * index + (1 - w) * k
    return fused, index


def index_result(fused: np.ndarray, index: np.ndarray, n: int):
    """``FusionResult`` of a [0, 1] image and an expected source index (map = index / (N-1), clipped).

    Works in place on ``fused`` and ``index`` (big images: no extra float64 copies); callers hand over
    arrays they no longer need.
    """
    from bench.types import FusionResult

    index /= n - 1
    return FusionResult(
        np.clip(fused, 0.0, 1.0, out=fused).astype(np.float32),
        np.clip(index, 0.0, 1.0, out=index).astype(np.float32),
    )


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


def gauss_1d(sigma: float) -> np.ndarray:
    """Separable factor of ``fspecial('gauss', w, sigma)``, ``w = ceil(6 sigma)`` made odd."""
    w = int(np.ceil(sigma * 6))
    w += 1 - w % 2
    x = np.arange(w) - (w - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def smooth_symmetric(x: np.ndarray, sigma: float) -> np.ndarray:
    """``imfilter(x, fspecial('gauss', ...), 'symmetric')`` (float64 result)."""
    import cv2

    g = gauss_1d(sigma)
    return cv2.sepFilter2D(x, cv2.CV_64F, g, g, borderType=cv2.BORDER_REFLECT)  # 'symmetric'


def gradient_zhou(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``GradientMethod(img, 'zhou')`` of the MWGF and BRW releases: backward differences, 1-pixel frame 0."""
    dx = np.zeros_like(img)
    dy = np.zeros_like(img)
    dx[1:-1, 1:-1] = img[1:-1, 1:-1] - img[1:-1, :-2]
    dy[1:-1, 1:-1] = img[1:-1, 1:-1] - img[:-2, 1:-1]
    return dx, dy
