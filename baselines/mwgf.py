"""MWGF: multi-scale weighted gradient-based fusion (Zhou, Li, Wang 2014), pairs; N > 2 serially.

Port (our own code) of the authors' MATLAB release, read from github.com/lsauto/MWGF-Fusion
@ 52a16deddf24aa99a104935d456caf9bc44442c6 (``MWGFusion.m``, ``WeightGradient.m``, ``MergeWeights.m``,
``GradientMethod.m``, ``GradientMixWeightModify.m``, ``RecByGraInitial.m``, ``RGBTOGRAY.m``,
``Fusion_test_for_registered_img.m`` for the parameters). Licence: "free for research purposes only"
(README). Nothing is copied; MATLAB routines are emulated where they decide pixels (``imresize``
bicubic with antialiasing, ``strel('disk', 9)``'s decomposed shape, even-sized ``strel('square')``
origins, ``ordfilt2`` zero padding, ``int16`` rounding).

Pipeline (registered-image parameters: large/small scale sigma 4 / 0.5, alpha 0.5, merge per 0.5,
margin 6, method 2; reconstruction 500 iterations, step 0.1, orientation modify 5, init 'weight'):

1. gray ``G`` (``rgb2gray`` of the 8-bit image, rounded) and its gradients ``dx = G - G_left``,
   ``dy = G - G_up`` (zero outside, border pixels set to 0);
2. structure saliency at a scale: Gaussian-smoothed structure tensor (``imfilter 'symmetric'``,
   window ``ceil(6 sigma)`` made odd), eigenvalues ``l1, l2``, saliency
   ``sqrt((sqrt l1 + sqrt l2)^2 + alpha (sqrt l1 - sqrt l2)^2)``;
3. "oppo": if more than half of the pixels of the 1/4-size gradients (``imresize`` bicubic) have a
   larger saliency (sigma 6) in A, the roles of the sources are swapped for step 4;
4. ``MergeWeights``: the focused region is the largest 8-connected component of
   ``S_L(first) > S_L(second) + eps + 0.8``, closed with ``strel('disk', 9)``, holes filled,
   border lines shorter than 13 pixels removed; eroded (6x6 square) = sure, outside the 9x9 dilation
   = sure other, the band between gets soft-max weights of the small-scale saliencies around the
   median (``per`` = 0.5) of each source's saliency in its sure region; 3x3 median (``ordfilt2``);
5. per channel: the gradient field of the two sources is merged as the principal eigenvector of
   their weighted structure tensor, its sign taken from the weighted mean gradient; the image is
   reconstructed from it by 500 steps ``f <- clip(f + 0.1 (Lap(int16(f)) - div g), 0, 255)``
   (Laplacian with replicated borders) starting from the weighted mean; ``round``.

N > 2: pairs only in the original; we fuse serially, ``((I1 + I2) + I3) + ...``. Our rule where the
original misbehaves: a source identical (bitwise) to the running result is skipped, so
``fuse([A, A]) == A``; ``MWGFusion.m`` would alter such an image in a band along the borders, because
its gradients are zeroed on the 1-pixel frame and 500 reconstruction sweeps diffuse the mismatch.

Agreement with the survey (Liu et al. 2020): 100 % of pixel values within 1 grey level on lytro-01,
g_06, g_09, 99.996 % on g_05; 92.8 % on g_10. On g_10 the second source has a bright line along its top
edge, so the largest "focused in B" component is a band of 11-12 rows that ``DeleteLine`` removes; the
2x12-pixel remainder vanishes in the 6x6 erosion and the threshold ``thre2`` has no pixel to rank
(``temp(0)``: an index error in MATLAB). The survey nevertheless has an image, so its run took another
path there that we could not identify. Our guard ranks the saliency of the uncertain band instead and
the run goes on; the result is then close to source A, as the survey's image is.

Speed: the 500 reconstruction sweeps run in a numba kernel (:mod:`baselines._mwgf_kernel`, same bits
as the NumPy path, which is used when numba is missing or ``MFIF_NO_NUMBA=1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from baselines._matlab_compat import (
    gradient_zhou,
    gray_0_255,
    index_result,
    serial_pairs,
    smooth_symmetric,
    source_stack,
)
from baselines._matlab_imgproc import disk_strel as _disk_strel
from baselines._matlab_imgproc import imresize
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo

EPS = np.finfo(np.float64).eps  # MATLAB eps



def saliency(dx: np.ndarray, dy: np.ndarray, sigma: float, alpha: float) -> np.ndarray:
    """``WeightGradient`` ('eigdecxq'): structure-tensor saliency at one scale."""
    # the formula below, with each temporary freed or reused as soon as possible (the same operations)
    dxx, dyy = smooth_symmetric(dx * dx, sigma), smooth_symmetric(dy * dy, sigma)
    c = dxx * dyy
    dxy = smooth_symmetric(dx * dy, sigma)
    c -= dxy * dxy  # c = dxx dyy - dxy^2
    del dxy
    b = np.add(dxx, dyy, out=dxx)
    del dyy
    np.negative(b, out=b)  # b = -(dxx + dyy)
    disc = b * b
    c *= 4
    disc -= c
    del c
    np.maximum(disc, 0.0, out=disc)  # MATLAB: tiny negative -> imaginary, abs() ~ same
    np.sqrt(disc, out=disc)
    s1 = np.negative(b)
    s1 += disc
    s1 /= 2
    np.abs(s1, out=s1)
    np.sqrt(s1, out=s1)  # sqrt(|(-b + disc) / 2|)
    s2 = np.negative(b, out=b)
    s2 -= disc
    del disc
    s2 /= 2
    np.abs(s2, out=s2)
    np.sqrt(s2, out=s2)  # sqrt(|(-b - disc) / 2|)
    out = np.add(s1, s2)
    np.square(out, out=out)
    np.subtract(s1, s2, out=s1)
    del s2
    np.square(s1, out=s1)
    s1 *= alpha
    out += s1
    return np.sqrt(out, out=out)  # sqrt((s1 + s2)^2 + alpha (s1 - s2)^2)


# -- weights --------------------------------------------------------------------------------------


def _largest_component(bw: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    lab, n = ndimage.label(bw, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros_like(bw)
    sizes = np.bincount(lab.ravel())[1:]
    return lab == (np.argmax(sizes) + 1)  # first of the largest, like MATLAB max


def _delete_line(nn: np.ndarray, limit: int = 13) -> np.ndarray:
    """``DeleteLine``: clear short runs of ones at the top/bottom of each column, then of each row.

    Column by column (all at once): if the column starts with 1 and its first 0 is at (1-based) row
    < ``limit``, rows 1..first-0 are cleared; then, on the result, if it ends with 1 and the last 0
    is fewer than ``limit`` rows before the end, rows last-0..end are cleared. Then the same on rows.
    """
    nn = nn.copy()
    for arr in (nn, nn.T):  # the second pass works on rows through a transposed view (in place)
        h = arr.shape[0]
        rows = np.arange(h)[:, None]
        has0 = (~arr).any(axis=0)
        first0 = np.argmax(~arr, axis=0)
        top = has0 & arr[0] & (first0 + 1 < limit)
        arr[(rows <= first0) & top] = False
        has0 = (~arr).any(axis=0)
        last0 = h - 1 - np.argmax(~arr[::-1], axis=0)
        bottom = has0 & arr[h - 1] & ((h - 1) - last0 < limit)
        arr[(rows >= last0) & bottom] = False
    return nn


def _threshold(values: np.ndarray, per: float, fallback: np.ndarray) -> float:
    """``temp = sort(v, 'descend'); temp(ceil(numel * per))``.

    MATLAB stops with an index error when ``v`` is empty (no sure pixel of that kind); we then take the
    same rank over ``fallback`` (the saliency in the whole uncertain band) so the run goes on.
    """
    if values.size == 0:
        values = fallback
    if values.size == 0:
        return 0.0
    k = max(int(np.ceil(values.size * per)), 1)
    return float(-np.partition(-values, k - 1)[k - 1])


def merge_weights(
    wl1, wl2, ws1, ws2, oppo: bool, per: float, margin: float, basethres: float = 0.8
) -> np.ndarray:
    """``MergeWeights`` with method 2; returns the weight of the first source."""
    if oppo:
        base = wl2 > wl1 + EPS + basethres
        ws1, ws2 = ws2, ws1
    else:
        base = wl1 > wl2 + EPS + basethres
    # imclose: OpenCV's default borders are MATLAB's (outside = 0 for dilation, 1 for erosion)
    base = cv2.morphologyEx(base.astype(np.uint8), cv2.MORPH_CLOSE, _disk_strel(9)) > 0
    post = _largest_component(base)
    bg = _largest_component(~post)
    # holes: everything but the largest background component (MATLAB: none at all -> all background)
    post = _delete_line(~bg if bg.any() else np.zeros_like(post))
    k = int(np.ceil(margin))
    # strel('square', k) for even k has its origin at index k/2 (offsets -(k/2-1)..k/2)
    anchor = ((k + 1) // 2 - 1, (k + 1) // 2 - 1)
    ero = (
        cv2.erode(
            post.astype(np.uint8),
            np.ones((k, k), np.uint8),
            anchor=anchor,
            borderType=cv2.BORDER_CONSTANT,
            borderValue=1,
        )
        > 0
    )
    kd = int(np.ceil(margin * 1.4))
    dil_anchor = ((kd + 1) // 2 - 1, (kd + 1) // 2 - 1)
    # imdilate uses the reflected element: origin mirrored for even sizes
    dil_anchor = (kd - 1 - dil_anchor[0], kd - 1 - dil_anchor[1])
    dil = (
        cv2.dilate(
            post.astype(np.uint8),
            np.ones((kd, kd), np.uint8),
            anchor=dil_anchor,
            borderType=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        > 0
    )
    sure2 = ~dil
    sure1 = ero
    mid = dil & ~ero
    wt1 = sure1.astype(np.float64)
    sub = ws1 - ws2
    thre2 = _threshold(ws2[(sub < 0) & sure1], per, ws2[mid])
    thre1 = _threshold(ws1[(sub > 0) & sure2], per, ws1[mid])
    alpha = 5.0
    sel = (sub >= 0) & mid
    e1 = np.exp(alpha * (ws1[sel] - thre1) / (thre1 + EPS))
    wt1[sel] = (1 + e1) / (1 + e1 + np.exp((ws2[sel] - ws1[sel]) / (ws2[sel] + ws1[sel] + EPS)))
    sel = (sub < 0) & mid
    e2 = np.exp(alpha * (ws2[sel] - thre2) / (thre2 + EPS))
    wt2 = (1 + e2) / (1 + e2 + np.exp((-ws2[sel] + ws1[sel]) / (ws2[sel] + ws1[sel] + EPS)))
    wt1[sel] = 1 - wt2
    return 1 - wt1 if oppo else wt1  # MATLAB swaps ww1 and ww2 (= 1 - ww1)


# -- reconstruction -------------------------------------------------------------------------------


def merge_gradients_numpy(dx1, dy1, dx2, dy2, w1, w2):
    """``GradientMixWeightModify(.., 5)``: principal direction of the weighted tensor, signed."""
    xw1, yw1, xw2, yw2 = dx1 * w1, dy1 * w1, dx2 * w2, dy2 * w2
    c11 = xw1**2 + xw2**2
    c12 = xw1 * yw1 + xw2 * yw2
    c22 = yw1**2 + yw2**2
    root = np.sqrt((c11 - c22) ** 2 + 4 * c12 * c12)
    d22 = (c11 + c22 + root) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        v12 = (c11 - c22 + root) / (2 * c12 + EPS)
        norm = np.sqrt(v12**2 + 1)
        gx = np.sqrt(d22) * v12 / norm
        gy = np.sqrt(d22) / norm
    rx, ry = w1 * dx1 + w2 * dx2, w1 * dy1 + w2 * dy2
    ss = np.sign(gx * rx + gy * ry + EPS)
    return ss * gx, ss * gy


def merged_gradient(a, b, w1, w2):
    """Merged gradient field of two channels (compiled kernel when available, same bits)."""
    dx1, dy1 = gradient_zhou(a)
    dx2, dy2 = gradient_zhou(b)
    kern = _kernel()
    if kern is None:
        return merge_gradients_numpy(dx1, dy1, dx2, dy2, w1, w2)
    return kern.merge_gradients(dx1, dy1, dx2, dy2, np.ascontiguousarray(w1), np.ascontiguousarray(w2), EPS)


def _divergence(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """``LaplaceZ`` of a gradient field: forward differences, zero beyond the last row/column."""
    ddx = np.zeros_like(gx)
    ddx[:, :-1] = gx[:, 1:]
    ddx -= gx
    ddy = np.zeros_like(gy)
    ddy[:-1] = gy[1:]
    ddy -= gy
    return ddx + ddy


def reconstruct_numpy(f0: np.ndarray, div: np.ndarray, iters: int, step: float) -> np.ndarray:
    """``RecoverByGra`` with NumPy/OpenCV passes (reference for the compiled kernel)."""
    lap_k = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    f = f0.copy()
    q = np.empty_like(f)
    for _ in range(iters):
        np.add(f, 0.5, out=q)
        np.floor(q, out=q)  # int16(f) for 0 <= f <= 255: round half up
        lap = cv2.filter2D(q, cv2.CV_64F, lap_k, borderType=cv2.BORDER_REPLICATE)  # exact integers
        lap -= div
        lap *= step
        f += lap
        np.clip(f, 0.0, 255.0, out=f)
    return f


def reconstruct(f0: np.ndarray, gx: np.ndarray, gy: np.ndarray, iters: int, step: float) -> np.ndarray:
    """``RecoverByGra``: ``f <- clip(f + step (Lap(int16(f)) - div g), 0, 255)``, ``iters`` times.

    Uses the compiled kernel (:mod:`baselines._mwgf_kernel`, numba) when numba is installed and
    ``MFIF_NO_NUMBA`` is not set, else :func:`reconstruct_numpy`; both give the same bits.
    """
    div = _divergence(gx, gy)
    kern = _kernel()
    if kern is None:
        return reconstruct_numpy(f0, div, iters, step)
    return kern.reconstruct(np.ascontiguousarray(f0, dtype=np.float64).copy(), div, int(iters), float(step))


def _kernel():
    """The numba kernel module, or None (numba missing, failing, or ``MFIF_NO_NUMBA`` set)."""
    import os

    if os.environ.get("MFIF_NO_NUMBA", "0") not in ("", "0"):
        return None
    try:
        from baselines import _mwgf_kernel
    except ImportError:
        return None
    return _mwgf_kernel


def mwgf_pair(
    a: np.ndarray,
    b: np.ndarray,
    per: float = 0.5,
    margin: float = 6.0,
    iters: int = 500,
    lsigma: float = 4.0,
    ssigma: float = 0.5,
    alpha: float = 0.5,
    on_grid: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two 0..255 images (HxW or HxWx3); returns (fused 0..255 rounded, weight of A).

    ``on_grid``: whether both hold integers (8-bit sources); None = check.
    """
    g1 = gray_0_255(a, on_grid)  # RGBTOGRAY
    dx1, dy1 = gradient_zhou(g1)
    del g1
    g2 = gray_0_255(b, on_grid)
    dx2, dy2 = gradient_zhou(g2)
    del g2
    small = [imresize(d, 0.25) for d in (dx1, dy1, dx2, dy2)]
    q1 = saliency(small[0], small[1], 6.0, 0.5)
    q2 = saliency(small[2], small[3], 6.0, 0.5)
    oppo = np.mean(q1 > q2 + EPS) > 0.5
    del small, q1, q2
    wl1, wl2 = saliency(dx1, dy1, lsigma, alpha), saliency(dx2, dy2, lsigma, alpha)
    ws1, ws2 = saliency(dx1, dy1, ssigma, alpha), saliency(dx2, dy2, ssigma, alpha)
    del dx1, dy1, dx2, dy2
    w1 = merge_weights(wl1, wl2, ws1, ws2, oppo, per, margin)
    del wl1, wl2, ws1, ws2
    w1 = _median3_zero(w1)
    w2 = 1 - w1
    # channel by channel into the output (the values of stacking the rounded channels)
    fused = np.empty(a.shape)
    for c in range(1 if a.ndim == 2 else 3):
        if a.ndim == 2:
            ca, cb, dst = a, b, fused
        else:
            ca, cb, dst = np.ascontiguousarray(a[..., c]), np.ascontiguousarray(b[..., c]), fused[..., c]
        gx, gy = merged_gradient(ca, cb, w1, w2)
        f0 = w1 * ca
        f0 += w2 * cb  # w1 * ca + w2 * cb
        del ca, cb
        rec = reconstruct(f0, gx, gy, iters, 0.1)
        del f0, gx, gy
        rec += 0.5
        np.floor(rec, out=dst)  # round
        del rec
    return fused, w1


def _median3_zero(x: np.ndarray) -> np.ndarray:
    """``ordfilt2(x, 5, ones(3, 3))``: 3x3 median with zero padding.

    Where the 3x3 window (padding included) is constant the median is that value; the rest (the soft
    band of the weights) is ranked explicitly.
    """
    p = np.pad(x, 1)
    h, w = x.shape
    k = np.ones((3, 3), np.uint8)
    lo = cv2.erode(p, k, borderType=cv2.BORDER_CONSTANT, borderValue=0.0)[1:-1, 1:-1]
    hi = cv2.dilate(p, k, borderType=cv2.BORDER_CONSTANT, borderValue=0.0)[1:-1, 1:-1]
    out = lo.copy()
    ys, xs = np.nonzero(lo != hi)
    if ys.size:
        win = np.stack([p[ys + i, xs + j] for i in range(3) for j in range(3)])
        out[ys, xs] = np.partition(win, 4, axis=0)[4]
    return out


def mwgf(
    images: Sequence[np.ndarray], per: float = 0.5, margin: float = 6.0, iters: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 sources (float [0, 1]); pairs as in ``MWGFusion``, more sources serially.

    Returns
    -------
    fused : ndarray
        Float64 image in [0, 1] on the 8-bit grid (``MWGFusion`` rounds), sources' shape.
    index : ndarray
        HxW expected source index (0 = first source).

    Raises
    ------
    ValueError
        Fewer than two sources, shapes differ, wrong layout, bad parameters.
    """
    if not 0 < per <= 1 or margin < 1 or iters < 0:
        raise ValueError(f"Expected 0 < per <= 1, margin >= 1, iters >= 0; got {per}, {margin}, {iters}")
    stack, on_grid = source_stack(images, return_grid=True)
    stack *= 255.0
    if min(stack.shape[1:3]) < 4:
        raise ValueError(f"Expected images of at least 4x4 pixels, got {stack.shape[1:3]}")
    # our rule: a source identical to the running result adds nothing and is skipped. MWGFusion.m would
    # return it changed near the borders (its gradients are zeroed on the 1-pixel frame, so the
    # reconstruction drifts there), which breaks fuse([A, A]) == A. Pair results are integers.
    fused, index = serial_pairs(
        stack, lambda f, s: mwgf_pair(f, s, per, margin, iters, on_grid=on_grid), skip_identical=True
    )
    fused = fused / 255.0 if np.shares_memory(fused, stack) else np.divide(fused, 255.0, out=fused)
    return fused, index


@register_method(
    MethodInfo(
        id="mwgf",
        name="MWGF (multi-scale weighted gradient)",
        paper="Z. Zhou, S. Li, B. Wang, Multi-scale weighted gradient-based fusion for multi-focus images, "
        "Information Fusion 20 (2014) 60-72. doi:10.1016/j.inffus.2013.11.005",
        source="github.com/lsauto/MWGF-Fusion @ 52a16ded, MWGFusion.m + Fusion_test_for_registered_img.m "
        "(re-implemented)",
        license="research use only (upstream README); our code MIT",
        n_image_rule="serial: ((I1 + I2) + I3) + ... (the original fuses pairs); a source identical to the "
        "running result is skipped",
        version="1",
        notes="approximation: against the survey's published MWGF images (Liu et al. 2020) 100 % of pixel "
        "values within 1 grey level on lytro-01, g_06, g_09 and 99.996 % on g_05 (PSNR 61-94 dB), but "
        "92.8 % on g_10 (PSNR 47 dB), where the original as we emulate it has no sure pixel for one "
        "threshold and MATLAB would stop (see the module docstring). Parameters of "
        "Fusion_test_for_registered_img.m.",
        params=(("per", 0.5), ("margin", 6.0), ("iters", 500)),
    )
)
def fuse(
    images: Sequence[np.ndarray], per: float = 0.5, margin: float = 6.0, iters: int = 500
) -> FusionResult:
    """Registry entry: :func:`mwgf` (decision map = expected source index / (N-1))."""
    fused, index = mwgf(images, per, margin, iters)
    return index_result(fused, index, len(images))
