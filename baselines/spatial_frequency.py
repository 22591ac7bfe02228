"""SF: block-wise spatial-frequency fusion (Li, Kwok, Wang 2001), N >= 2 sources natively.

Our own implementation from the paper (no reference code is public). Spec: ``shared/docs/methods.md``
7.9.

1. Gray version of each source (MATLAB ``rgb2gray`` weights), on the 0..255 scale.
2. Tile into non-overlapping ``block_size`` x ``block_size`` blocks (smaller remainder blocks at the
   right and bottom). Block SF = sqrt(RF^2 + CF^2), RF^2 / CF^2 = sum of squared horizontal / vertical
   neighbour differences *inside* the block divided by the block's pixel count.
3. A block is taken from the source with the largest SF if it exceeds every other source's SF by
   more than ``threshold``; otherwise the block is the average of the sources whose SF is within
   ``threshold`` of the largest (for two sources: the paper's "average the two blocks").
4. Consistency verification (``consistency=True``): a block whose 8-neighbourhood has a strict
   majority (more than half of the existing neighbours) of blocks taken from one other single
   source is switched to that source (the paper's 3x3 majority filter on the block decision map).

Choices where the paper is silent or not verified here: the default ``block_size=16`` and
``threshold=1.0`` (0..255 gray scale) were picked by us, not taken from the paper; the N-source rule
in 3; the majority rule also applies to averaged blocks.

The SESF-Fuse paper's "SF" row is *not* this method: its experiment cast the [0, 1] gray image to
int, so almost every block was "uncertain" and the output is the plain average of the sources
(methods.md 7.9). Regenerate that row with the ``average`` method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import correlate

from bench.luminance import MATLAB
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

_RGB2GRAY = np.array(MATLAB)


def _check(images: Sequence[np.ndarray], block_size: int, threshold: float) -> None:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")
    shape = np.shape(images[0])
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {shape}")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 2:
        raise ValueError(f"Expected an integer block_size >= 2, got {block_size!r}")
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"Expected a finite threshold >= 0, got {threshold!r}")


def block_spatial_frequency(gray: np.ndarray, block_size: int) -> np.ndarray:
    """Spatial frequency of every block of a gray image.

    Parameters
    ----------
    gray : ndarray
        HxW image (any scale; SF is in its units).
    block_size : int
        Block side; remainder blocks at the right/bottom are smaller.

    Returns
    -------
    ndarray
        ``ceil(H/b) x ceil(W/b)`` float64 array of block SF values.

    Examples
    --------
    >>> g = np.tile([0.0, 2.0], (4, 2))  # horizontal steps of 2 inside 4x4 blocks
    >>> float(block_spatial_frequency(g, 4)[0, 0])  # sqrt(12 * 4 / 16)
    1.7320508075688772
    """
    g = np.asarray(gray, dtype=np.float64)
    h, w = g.shape
    starts_r, starts_c = np.arange(0, h, block_size), np.arange(0, w, block_size)
    dh = np.zeros_like(g)
    dh[:, 1:] = np.diff(g, axis=1) ** 2
    dh[:, starts_c] = 0.0  # differences across a block border do not count
    dv = np.zeros_like(g)
    dv[1:, :] = np.diff(g, axis=0) ** 2
    dv[starts_r, :] = 0.0
    sums = np.add.reduceat(np.add.reduceat(dh + dv, starts_r, axis=0), starts_c, axis=1)
    rows = np.diff(np.append(starts_r, h))
    cols = np.diff(np.append(starts_c, w))
    return np.sqrt(sums / np.outer(rows, cols))


def _consistency(labels: np.ndarray, n: int) -> np.ndarray:
    """Switch blocks whose 8-neighbourhood is mostly (strictly > half) one other source."""
    ring = np.ones((3, 3))
    ring[1, 1] = 0.0
    n_neigh = correlate(np.ones(labels.shape), ring, mode="constant", cval=0.0)
    out = labels.copy()
    for k in range(n):
        votes = correlate((labels == k).astype(np.float64), ring, mode="constant", cval=0.0)
        out[(votes > n_neigh / 2) & (labels != k)] = k
    return out


def sf_fusion(
    images: Sequence[np.ndarray],
    block_size: int = 16,
    threshold: float = 1.0,
    *,
    consistency: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 sources block by block with the spatial-frequency rule.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1] of one shape, HxW or HxWx3.
    block_size : int
        Block side in pixels.
    threshold : float
        SF margin on the 0..255 gray scale below which blocks are averaged.
    consistency : bool
        Apply the 3x3 majority consistency check to the block decisions.

    Returns
    -------
    fused : ndarray
        float32 image of the sources' shape.
    weights : ndarray
        N x H x W per-pixel weights (rows sum to 1).

    Raises
    ------
    ValueError
        Fewer than two sources, different shapes, bad layout, or invalid block size / threshold.

    References
    ----------
    S. Li, J. T. Kwok, Y. Wang, "Combination of images with diverse focuses using the spatial
    frequency", Information Fusion 2(3):169-176, 2001. doi:10.1016/S1566-2535(01)00038-0
    """
    _check(images, block_size, threshold)
    stack = np.stack([np.asarray(im, dtype=np.float32) for im in images], axis=0)
    n, h, w = stack.shape[:3]
    gray = stack.astype(np.float64) @ _RGB2GRAY if stack.ndim == 4 else stack.astype(np.float64)
    sf = np.stack([block_spatial_frequency(255.0 * g, block_size) for g in gray], axis=0)
    best = np.argmax(sf, axis=0)
    top = np.max(sf, axis=0)
    near = sf >= top - threshold  # sources within the margin of the best (always includes the best)
    labels = np.where(near.sum(axis=0) == 1, best, -1)  # -1: blend the near sources
    if consistency:
        labels = _consistency(labels, n)
    block_w = np.where(labels[None] >= 0, (labels[None] == np.arange(n)[:, None, None]), near)
    block_w = block_w / block_w.sum(axis=0, keepdims=True)
    weights = np.repeat(np.repeat(block_w, block_size, axis=1), block_size, axis=2)[:, :h, :w]
    weights = weights.astype(np.float32)
    wexp = weights[..., None] if stack.ndim == 4 else weights
    fused = wexp[0] * stack[0]
    for k in range(1, n):
        fused += wexp[k] * stack[k]
    return np.clip(fused, 0.0, 1.0), weights


@register_method(
    MethodInfo(
        id="sf",
        name="SF (block spatial frequency)",
        paper="S. Li, J. T. Kwok, Y. Wang, Combination of images with diverse focuses using the spatial "
        "frequency, Information Fusion 2(3) 2001. doi:10.1016/S1566-2535(01)00038-0",
        source="paper (re-implemented; no reference code)",
        license="MIT (our code)",
        n_image_rule="native: the best block wins if it beats all others by the threshold, else the "
        "near-best blocks are averaged; majority check over N labels",
        version="1",
        notes="block_size=16 and threshold=1.0 (0..255 gray SF units) are our choices, not verified "
        "against the paper. The SESF-Fuse paper's 'SF' row is plain averaging (its run cast the [0,1] "
        "gray image to int): regenerate it with the 'average' method.",
        params=(("block_size", 16), ("threshold", 1.0), ("consistency", True)),
        param_specs=(ParamSpec("block_size", "int", 2, 4096), ParamSpec("threshold", "float", 0.0)),
    )
)
def fuse(
    images: Sequence[np.ndarray], block_size: int = 16, threshold: float = 1.0, *, consistency: bool = True
) -> FusionResult:
    """Registry entry: :func:`sf_fusion` as a :class:`FusionResult`.

    The decision map is the weighted source index divided by N-1 (1 = last source).
    """
    fused, weights = sf_fusion(images, block_size, threshold, consistency=consistency)
    n = len(images)
    idx = np.tensordot(np.arange(n, dtype=np.float32), weights, axes=1) / (n - 1)
    return FusionResult(fused.astype(np.float32), idx.astype(np.float32))
