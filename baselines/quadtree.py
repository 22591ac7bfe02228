"""Quadtree: quadtree-based fusion with a weighted focus measure (Bai, Zhang, Zhou, Xue 2015), N >= 2.

Port (our own code) of Yu Zhang's MATLAB release, read from github.com/zhangyu87/
Quadtree_based_Image_Fusion @ de4a6041492299e6b9825eef4fd0442ae118adbd (``Main.m``, ``qt_sm_fusion.m``,
``QTDECOMP_Split.m``, ``SML.m``, ``Local_Saliency.m``, ``morph_filter.m``, ``Small_Block_Filter.m``)
and its later version mirrored in Jilei-Hou/code-for-image-fusion @ 846776c
(``Traditional-fusion-methods/Multi-Focus/Quadtree-Based-Multi-focus-Image-Fusion-master/``, same
rules). Licence: "free for research purposes only" (README); no licence file. Nothing is copied.

Pipeline on one channel, values on the 0..255 scale (the code reads ``double(imread(...))``):

1. modified Laplacian ``ML = |2g - g_up - g_down| + |2g - g_left - g_right|`` (symmetric padding),
   set to 0 where below T = 5;
2. weighted focus measure ``FM = ML`` correlated with the 17x17 kernel ``1 / (1 + distance)``
   (``imfilter(..., 'symmetric')``);
3. the FMs are centred in a zero square of side ``2^k >= max(H, W)``; quadtree decomposition from
   the whole square down to 2x2 blocks: a block is split when ``0 < MDFM < 0.98 SMDG``, with MDFM the
   spread of the sources' block sums of FM and SMDG ``|sum max_n FM - sum min_n FM|`` over the block;
4. each leaf block goes to the source with the largest block sum (-1 = undefined when tied);
5. per source, the map ``label == n`` is opened and closed with MATLAB's ``strel('disk', 3)`` (a
   5x5 square after MATLAB's decomposition); pixels
   claimed by exactly one source keep it, others become undefined; then, per source, components
   (8-connected) of fewer than ``H W / 40`` pixels are removed and holes of fewer than that filled,
   and again pixels claimed by exactly one source keep it;
6. defined pixels copy their source; undefined pixels copy the source with the largest FM, or the
   mean of all N sources where several share the maximum; the code writes ``uint8``.

The rule is native for any N (the original handles N sources). Colour: the survey's published colour
image (Liu et al. 2020) takes every channel value from A or B but mixes them within 2.6 % of the
pixels of lytro-01, i.e. it fused the three channels independently; so do we.

Exactness: step 2 is computed with an FFT correlation (a direct 17x17 correlation costs ~0.1 s per
channel). The decisions need exact ties where MATLAB has them (equal or all-zero windows); we
filter source 0 and the differences ``ML_n - ML_0`` and set a filtered value to exactly 0 wherever its
17x17 window holds only zeros, so such windows give exactly equal (or zero) focus measures.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from baselines._matlab_compat import source_stack
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo

_EIGHT = np.ones((3, 3), dtype=bool)


def _weight_kernel(size: int) -> np.ndarray:
    """``Local_Saliency.m``: ``H(i, j) = 1 / (1 + distance to the centre)``, size x size."""
    i = np.arange(size, dtype=np.float64) - size // 2
    return 1.0 / (np.sqrt(i[:, None] ** 2 + i[None, :] ** 2) + 1.0)


def _disk3() -> np.ndarray:
    """MATLAB ``strel('disk', 3)`` with its default 4-line decomposition: a 5x5 square.

    ``strel`` (Image Processing Toolbox, ``MakeDiskStrel``) builds radius-3 disks from periodic lines
    ``[1 0]`` and ``[0 1]`` with repetition 1 (the diagonal ones get 0) plus 3-pixel horizontal and
    vertical lines to make up the radius: their dilation is the full 5x5 square, not a round disk.
    """
    return np.ones((5, 5), np.uint8)


def modified_laplacian(g: np.ndarray, t: float) -> np.ndarray:
    """``SML.m`` with step 1 on K x H x W: |2g - up - down| + |2g - left - right|, < t set to 0."""
    p = np.pad(g, ((0, 0), (1, 1), (1, 1)), mode="symmetric")
    c = p[:, 1:-1, 1:-1]
    ml = np.abs(2 * c - p[:, :-2, 1:-1] - p[:, 2:, 1:-1]) + np.abs(2 * c - p[:, 1:-1, :-2] - p[:, 1:-1, 2:])
    ml[ml < t] = 0.0
    return ml


def weighted_focus(ml: np.ndarray, size: int = 17) -> np.ndarray:
    """``imfilter(ML_n, H, 'symmetric')`` for N x H x W, with exact ties where MATLAB has them.

    Filters ``ML_0`` and ``ML_n - ML_0`` by FFT; a result whose window holds only zeros is set to 0.
    """
    from scipy.signal import fftconvolve

    r = size // 2
    d = ml.copy()
    d[1:] -= ml[0]
    out = np.empty(d.shape)
    for k in range(d.shape[0]):  # one source at a time (the FFT is per slice: the same values)
        pad = np.pad(d[k], r, mode="symmetric")
        out[k] = fftconvolve(pad, _weight_kernel(size), mode="valid")
        del pad
    for k in range(d.shape[0]):
        nz = cv2.boxFilter(
            (d[k] != 0).astype(np.float32), -1, (size, size), normalize=False, borderType=cv2.BORDER_REFLECT
        )
        out[k][nz < 0.5] = 0.0
    out[1:] += out[0]
    return out


def _pair_sums(x: np.ndarray) -> np.ndarray:
    """2x2 block sums over the last two (even) axes."""
    x = x[..., 0::2, :] + x[..., 1::2, :]
    return x[..., 0::2] + x[..., 1::2]


def quadtree_labels(fm: np.ndarray) -> np.ndarray:
    """Steps 3-4 on an N x H x W focus-measure stack: labels 0..N-1, -1 = undefined (tie)."""
    n, h, w = fm.shape
    side = 1 << max(1, int(np.ceil(np.log2(max(h, w)))))  # normalize_dim: smallest 2^k >= max(H, W)
    dx, dy = (side - h + 1) // 2, (side - w + 1) // 2
    # the sources' FM, their pixelwise max and min, placed at the image's parity in the zero square,
    # summed over 2x2 blocks there (the rest of the square is zero) and put into the 2x2-block grid
    py, px = dx % 2, dy % 2
    small = np.zeros((h + py + (h + py) % 2, w + px + (w + px) % 2))  # one slice at a time
    grid = np.zeros((n + 2, side // 2, side // 2))
    gh, gw = small.shape[0] // 2, small.shape[1] // 2
    for j in range(n + 2):
        src = fm[j] if j < n else (fm.max(axis=0) if j == n else fm.min(axis=0))
        small[py : py + h, px : px + w] = src
        del src
        grid[j, dx // 2 : dx // 2 + gh, dy // 2 : dy // 2 + gw] = _pair_sums(small)
    maxlevel = int(np.log2(side))
    sums = {2: grid}  # block sums at every level, finest (2x2) first
    d = 2
    while d < side:
        sums[2 * d] = _pair_sums(sums[d])
        d *= 2
    # decisions only where blocks exist at this level (active), on gathered block sums
    active = np.ones((1, 1), bool)
    tag = np.full((1, 1), -1, np.int8)
    for level in range(1, maxlevel + 1):
        d = side >> (level - 1)
        if level > 1:
            tag = tag.repeat(2, axis=0).repeat(2, axis=1)
        ay, ax = np.nonzero(active)
        vals = sums[d][:, ay, ax]  # (n + 2) x K: the sources' sums, then max and min
        v = vals[:n]
        if level < maxlevel:
            mdfm = np.abs(v.min(axis=0) - v.max(axis=0))
            split = (mdfm > 0) & (mdfm < np.abs(vals[n] - vals[n + 1]) * 0.98)
        else:
            split = np.zeros(ay.size, bool)
        leaf = ~split
        vl = v[:, leaf]
        tag[ay[leaf], ax[leaf]] = _exactly_one(vl == vl.max(axis=0))
        nxt = np.zeros(active.shape, bool)
        nxt[ay[split], ax[split]] = True
        active = nxt.repeat(2, axis=0).repeat(2, axis=1)
    # tag is on the 2x2-block grid: crop the blocks covering the image, then expand to pixels
    y0, x0 = dx // 2, dy // 2
    tag = tag[y0 : (dx + h + 1) // 2, x0 : (dy + w + 1) // 2]
    tag = tag.repeat(2, axis=0).repeat(2, axis=1)
    return tag[dx - 2 * y0 : dx - 2 * y0 + h, dy - 2 * x0 : dy - 2 * x0 + w].astype(np.int64)


def _exactly_one(maps: np.ndarray) -> np.ndarray:
    """Labels from N boolean maps: the only source claiming a pixel, -1 where none or several."""
    out = np.full(maps.shape[1:], -1, np.int64)
    claim = np.zeros(maps.shape[1:], np.int8)
    for k in range(maps.shape[0]):
        out[maps[k]] = k
        claim += maps[k]
    out[claim != 1] = -1
    return out


def morph_filter(labels: np.ndarray, n: int) -> np.ndarray:
    """``morph_filter.m`` (Iter = 1): open then close each source's map with ``strel('disk', 3)``.

    OpenCV's default borders equal MATLAB's binary morphology (outside = 1 for erosion, 0 for dilation).
    """
    se = _disk3()
    maps = np.empty((n,) + labels.shape, bool)
    for k in range(n):
        m = (labels == k).astype(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, se)
        maps[k] = cv2.morphologyEx(m, cv2.MORPH_CLOSE, se) > 0
    return _exactly_one(maps)


def _keep_large(bw: np.ndarray, p: float) -> np.ndarray:
    from scipy import ndimage

    lab, count = ndimage.label(bw, structure=_EIGHT)
    if count == 0:
        return bw
    keep = np.bincount(lab.ravel()) >= p
    keep[0] = False
    return keep[lab]


def small_block_filter(labels: np.ndarray, n: int, p: float) -> np.ndarray:
    """``Small_Block_Filter.m``: per source drop components < p, fill holes < p (8-connected)."""
    maps = np.empty((n,) + labels.shape, bool)
    for k in range(n):
        pos = _keep_large(labels == k, p)
        maps[k] = ~_keep_large(~pos, p)
    return _exactly_one(maps)


def quadtree_channel(planes: np.ndarray, t: float = 5.0, size: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Fuse one channel of N sources (N x H x W on the 0..255 scale); returns (fused, expected index)."""
    n, h, w = planes.shape
    fm = weighted_focus(modified_laplacian(planes, t), size)
    labels = quadtree_labels(fm)
    labels = morph_filter(labels, n)
    labels = small_block_filter(labels, n, h * w / 40.0)
    choice = np.where(labels >= 0, labels, _exactly_one(fm == fm.max(axis=0)))
    fused = planes.sum(axis=0) / n  # undefined pixels whose maximum FM is shared: mean of all sources
    index = np.full((h, w), (n - 1) / 2.0)
    for k in range(n):
        sel = choice == k
        fused[sel] = planes[k][sel]
        index[sel] = k
    return fused, index


def quadtree(images: Sequence[np.ndarray], t: float = 5.0, size: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 registered sources (float [0, 1], HxW or HxWx3) with the quadtree method.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1] of one shape.
    t : float
        Modified-Laplacian threshold on the 0..255 scale (``Main.m``: 5).
    size : int
        Odd side of the focus-measure weighting window (``Main.m``: 17).

    Returns
    -------
    fused : ndarray
        Float64 image in [0, 1] of the sources' shape.
    index : ndarray
        HxW expected source index (mean over channels; undefined ties count as (N-1)/2).

    Raises
    ------
    ValueError
        Fewer than two sources, shapes differ, wrong layout, bad parameters.
    """
    if size < 1 or size % 2 == 0 or t < 0:
        raise ValueError(f"Expected an odd size >= 1 and t >= 0, got size={size}, t={t}")
    stack = source_stack(images)
    stack *= 255.0
    if stack.ndim == 3:
        fused, index = quadtree_channel(stack, t, size)
        fused /= 255.0
        return fused, index
    # channel by channel into the outputs (the values of stacking the channels, then dividing, then
    # averaging the three index maps in order)
    fused = np.empty(stack.shape[1:])
    index = None
    for c in range(3):
        f, i = quadtree_channel(np.ascontiguousarray(stack[..., c]), t, size)
        np.divide(f, 255.0, out=fused[..., c])
        del f
        if index is None:
            index = i
        else:
            index += i
    del stack
    index /= 3
    return fused, index


@register_method(
    MethodInfo(
        id="quadtree",
        name="Quadtree (weighted focus measure)",
        paper="X. Bai, Y. Zhang, F. Zhou, B. Xue, Quadtree-based multi-focus image fusion using a weighted "
        "focus-measure, Information Fusion 22 (2015) 105-118. doi:10.1016/j.inffus.2014.05.003",
        source="github.com/zhangyu87/Quadtree_based_Image_Fusion @ de4a6041, Main.m + qt_sm_fusion.m "
        "(re-implemented)",
        license="research use only (upstream README); our code MIT",
        n_image_rule="native: block focus measures compared over N sources (as in the original)",
        version="1",
        notes="faithful: identical bytes to the survey's published Quadtree images (Liu et al. 2020) on "
        "lytro-01, g_05, g_06, g_09, g_10 (100 % within 1 grey level, PSNR inf). Colour: the three channels "
        "are fused independently, as the survey's colour result shows. Output kept float (the code writes "
        "uint8; values are on the 8-bit grid except averaged ties).",
        params=(("t", 5.0), ("size", 17)),
    )
)
def fuse(images: Sequence[np.ndarray], t: float = 5.0, size: int = 17) -> FusionResult:
    """Registry entry: :func:`quadtree` (decision map = expected source index / (N-1))."""
    fused, index = quadtree(images, t, size)
    n = len(images)
    index /= n - 1
    return FusionResult(
        np.clip(fused, 0.0, 1.0, out=fused).astype(np.float32),
        np.clip(index, 0.0, 1.0, out=index).astype(np.float32),
    )
