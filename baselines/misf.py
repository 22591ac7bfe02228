"""MISF: multimodal image seamless fusion (Zhan, Kong, Liu, He 2019), N >= 2 serial.

Port (our own code) of the authors' MATLAB release, read from github.com/kunzhan/MISF @
d8930f8282ef680f608ef49edbb68399649224bf, files ``demo_MISF.m``, ``tools/MISF.m``, ``tools/LAP.m``,
``tools/smoothing.m``, ``tools/boxfilter.m`` (He's) and ``tools/bilateralFilter.m`` (Jiawen Chen's
bilateral-grid cross bilateral filter, with Qiong Yan's NaN correction). The repository has no licence
file; nothing is copied. The survey (Liu et al. 2020) lists this code for its MISF column.

``MISF.m`` for two gray sources ``J1, J2`` in [0, 1] (r = 3, lambda = 0.01, box means over the
(2r+1)^2 window clipped at the border):

1. per source: edge-preserving smoothing ``q = m + a (J - m)``, ``a = v / (v + lambda)`` (local mean
   ``m`` and variance ``v``); squared Laplacian ``(conv2(pad_sym(q), [1 4 1; 4 -20 4; 1 4 1] / 6,
   'valid'))^2``; box mean; ``S = 1 - boxmean(1 - .)``;
2. ``W = boxmean([S1 > S2])``;
3. three times: ``W = [W > 0.5]`` then the cross bilateral filter of ``W`` guided by ``J1``
   (bilateral grid: spatial sigma 8, range sigma 0.2, sampling = sigma, range ``[min J1, max J1]``;
   box splatting to rounded grid cells, 3x3x3 Gaussian blur of data and weights, division, trilinear
   slicing at unrounded positions; NaN falls back to the data value);
4. ``F = J1 W + (1 - W) J2``; the code writes ``uint8(255 F)``.

The released function takes gray images only (``I(:,:,1) = I1; I(:,:,2) = I2``). Colour: the
pair's weight map is computed from the rounded ``rgb2gray`` images (``uint8`` in, as the code expects
gray ``uint8`` sources) and applied to every RGB channel (``colour="gray"``, default: this reproduces the
survey's colour image, 99.9996 % within 1 grey level; fusing each channel as its own gray pair,
``colour="channels"``, gives only 98.81 %).

N > 2: serial ``((I1 + I2) + I3) + ...`` (the original fuses pairs). Decision map: expected source index
/ (N - 1) carried through the folds, from the (mean over channels of the) final weight ``W``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines._guided_filter import box_mean
from baselines._matlab_compat import RGB2GRAY, source_stack
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo

_LAP = np.array([[1.0, 4.0, 1.0], [4.0, -20.0, 4.0], [1.0, 4.0, 1.0]]) / 6.0


def _smoothing(img: np.ndarray, r: int, lam: float) -> np.ndarray:
    """``smoothing.m``: self-guided local linear smoothing without the second averaging."""
    m = box_mean(img, r)
    v = box_mean(img * img, r) - m * m
    return m + v / (v + lam) * (img - m)


def _lap2(img: np.ndarray) -> np.ndarray:
    """``LAP.m``: squared 3x3 Laplacian on the symmetric-padded image ('valid' part)."""
    p = np.pad(img, 1, mode="symmetric")
    h, w = img.shape
    out = np.zeros((h, w))
    for i in range(3):
        for j in range(3):  # conv2 flips the kernel; it is symmetric
            out += _LAP[2 - i, 2 - j] * p[i : i + h, j : j + w]
    return out * out


def saliency(img: np.ndarray, r: int = 3, lam: float = 0.01) -> np.ndarray:
    """Step 1 of ``MISF.m`` for one gray source in [0, 1]."""
    m = box_mean(_lap2(_smoothing(img, r, lam)), r)
    return 1.0 - box_mean(1.0 - m, r)


def bilateral_grid(
    data: np.ndarray, edge: np.ndarray, edge_min: float, edge_max: float, sigma_s: float, sigma_r: float
) -> np.ndarray:
    """Chen's ``bilateralFilter.m`` (sampling = sigma) of ``data`` guided by ``edge``, both HxW float."""
    from scipy import ndimage

    h, w = data.shape
    s_s, s_r = float(sigma_s), float(sigma_r)
    pad_xy, pad_z = 3, 3  # floor(2 * derived sigma (= 1)) + 1
    gh = int(np.floor((h - 1) / s_s)) + 1 + 2 * pad_xy
    gw = int(np.floor((w - 1) / s_s)) + 1 + 2 * pad_xy
    gd = int(np.floor((edge_max - edge_min) / s_r)) + 1 + 2 * pad_z
    ii = np.arange(h, dtype=np.float64)[:, None]
    jj = np.arange(w, dtype=np.float64)[None, :]
    di = np.floor(ii / s_s + 0.5).astype(np.int64) + pad_xy  # 0-based: MATLAB's index - 1
    dj = np.floor(jj / s_s + 0.5).astype(np.int64) + pad_xy
    zf = (edge - edge_min) / s_r
    dz = np.floor(zf + 0.5).astype(np.int64) + pad_z
    flat = ((di * gw + dj) * gd + dz).ravel(order="F")  # MATLAB scatters in column-major order
    vals = data.ravel(order="F")
    ok = ~np.isnan(vals)
    size = gh * gw * gd
    grid_d = np.bincount(flat[ok], weights=vals[ok], minlength=size).reshape(gh, gw, gd)
    grid_w = np.bincount(flat[ok], minlength=size).astype(np.float64).reshape(gh, gw, gd)
    g = np.exp(-0.5 * np.arange(-1.0, 2.0) ** 2)
    kernel = g[:, None, None] * g[None, :, None] * g[None, None, :]
    bd = ndimage.convolve(grid_d, kernel, mode="constant", cval=0.0)
    bw = ndimage.convolve(grid_w, kernel, mode="constant", cval=0.0)
    bw[bw == 0] = -2.0
    norm = bd / bw
    norm[bw < -1] = 0.0
    coords = np.stack(
        [
            np.broadcast_to(ii / s_s + pad_xy, (h, w)),
            np.broadcast_to(jj / s_s + pad_xy, (h, w)),
            zf + pad_z,
        ]
    )
    out = ndimage.map_coordinates(norm, coords, order=1, mode="constant", cval=np.nan)
    bad = np.isnan(out)
    out[bad] = data[bad]
    return out


def weight_map(j1: np.ndarray, j2: np.ndarray, r: int = 3, lam: float = 0.01, iters: int = 3) -> np.ndarray:
    """``MISF.m`` steps 1-3: the weight of ``j1`` (gray pair in [0, 1])."""
    w = box_mean((saliency(j1, r, lam) > saliency(j2, r, lam)).astype(np.float64), r)
    lo, hi = float(j1.min()), float(j1.max())
    for _ in range(iters):
        w = bilateral_grid((w > 0.5).astype(np.float64), j1, lo, hi, 8.0, 0.2)
    return w


def _gray8(img: np.ndarray) -> np.ndarray:
    """``rgb2gray`` of the 8-bit image (rounded) in [0, 1], the gray input the code expects."""
    return np.floor(255.0 * (img @ RGB2GRAY) + 0.5) / 255.0


def misf(images: Sequence[np.ndarray], colour: str = "gray") -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 sources serially; returns (float64 fused, expected source index per pixel)."""
    if colour not in ("channels", "gray"):
        raise ValueError(f"Expected colour='channels' or 'gray', got {colour!r}")
    stack = source_stack(images)
    if min(stack.shape[1:3]) < 3:
        raise ValueError(f"Expected images of at least 3x3 pixels, got {stack.shape[1]}x{stack.shape[2]}")
    fused = stack[0]
    index = np.zeros(stack.shape[1:3])
    for k in range(1, stack.shape[0]):
        other = stack[k]
        if fused.ndim == 2:
            w = weight_map(fused, other)
            wb = w
        elif colour == "gray":
            w = weight_map(_gray8(fused), _gray8(other))
            wb = w[..., None]
        else:
            wb = np.stack([weight_map(fused[..., c], other[..., c]) for c in range(3)], axis=-1)
            w = wb.mean(axis=-1)
        fused = fused * wb + (1.0 - wb) * other
        index = w * index + (1.0 - w) * k
    return fused, index


@register_method(
    MethodInfo(
        id="misf",
        name="MISF (multimodal image seamless fusion)",
        paper="K. Zhan, L. Kong, B. Liu, Y. He, Multimodal image seamless fusion, Journal of Electronic "
        "Imaging 28(2) (2019) 023027. doi:10.1117/1.JEI.28.2.023027",
        source="github.com/kunzhan/MISF @ d8930f82, tools/MISF.m + bilateralFilter.m (re-implemented)",
        license="no licence file upstream (public research code); our code MIT",
        n_image_rule="serial: ((I1 + I2) + I3) + ... (the original fuses pairs)",
        version="1",
        notes="faithful: against the survey's published MISF images (Liu et al. 2020) identical bytes on "
        "g_05, g_06, g_09, g_10 (100 %, PSNR inf) and 99.9996 % of values within 1 grey level on lytro-01 "
        "(PSNR 76.4 dB; weight map from the rounded rgb2gray images, colour='gray'; per-channel maps, "
        "colour='channels': 98.81 %). benchmarks/agreement_survey.py. Output float, clipped to [0, 1].",
        params=(("colour", "gray"),),
    )
)
def fuse(images: Sequence[np.ndarray], colour: str = "gray") -> FusionResult:
    """Registry entry: :func:`misf` clipped to [0, 1] (decision map = expected source index / (N-1))."""
    fused, index = misf(images, colour)
    n = len(images)
    return FusionResult(
        np.clip(fused, 0.0, 1.0).astype(np.float32), np.clip(index / (n - 1), 0.0, 1.0).astype(np.float32)
    )
