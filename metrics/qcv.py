"""Qcv: Chen & Varshney (2007) human-perception metric, Zheng Liu's ``metricChen`` (lower is better).

Re-implemented in NumPy (no code copied) from zhengliu6699/imageFusionMetrics @
d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``metricChen.m`` (Zheng Liu; no licence file); VIFB's
``metricsQcv.m`` is the same code.

Steps (MATLAB behaviour reproduced in brackets):

1. every image through Liu's ``normalize1``: min-max stretch to 0..255 and ``round`` [half away from zero;
   an all-zero image is left as is; any other constant image gives 0/0 = NaN, so the metric is NaN];
2. Sobel magnitudes g with ``filter2(..., 'same')`` [correlation, zero padding];
3. region saliency lambda = sum over 16x16 blocks of g^5 [``blkproc``: distinct blocks, zero padding at the
   bottom/right];
4. the differences S - F filtered in the frequency domain by the Mannos-Sakrison CSF on a ``freqspace``
   grid [((0:n-1) - floor(n/2)) * 2/n, meshgrid form] scaled by W/8 and H/8:
   ``ifft2(ifftshift(fftshift(fft2(d)) .* csf))``, a complex array;
5. D = block mean of the square of the (complex) filtered difference [``mean2(x.^2)`` over zero-padded
   16x16 blocks];
6. Qcv = sum(lambda_A D_A + lambda_B D_B) / sum(lambda_A + lambda_B); the reference's result is complex
   with |imag| ~ 1e-15 and its real part is reported.

N sources: Qcv = sum_i sum(lambda_i D_i) / sum_i sum(lambda_i) (the two-source formula summed over sources).

References
----------
H. Chen, P. K. Varshney, "A human perception inspired quality metric for image fusion based on regional
information", Information Fusion 8(2):193-207, 2007. doi:10.1016/j.inffus.2005.10.001
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._matlab import correlate, normalize1
from metrics._memo import source_memo

_BLOCK = 16
_ALPHA = 5


_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = _SOBEL_X.T.copy()


def _blocks(x: np.ndarray) -> np.ndarray:
    """Zero-pad to a multiple of 16 and return an array of shape (H/16, 16, W/16, 16)."""
    h, w = x.shape
    ph, pw = -h % _BLOCK, -w % _BLOCK
    xp = np.pad(x, ((0, ph), (0, pw)))
    return xp.reshape(xp.shape[0] // _BLOCK, _BLOCK, xp.shape[1] // _BLOCK, _BLOCK)


@lru_cache(maxsize=8)
def _csf_unshifted(h: int, w: int) -> np.ndarray:
    """:func:`_csf` in the DFT's own layout (``ifftshift``-ed), read-only, per image shape:
    ``ifftshift(fftshift(X) * csf) == X * ifftshift(csf)`` (the same products, permuted)."""
    s = np.ascontiguousarray(np.fft.ifftshift(_csf(h, w)))
    s.setflags(write=False)
    return s


def _csf(h: int, w: int) -> np.ndarray:
    fu = (np.arange(w) - w // 2) * 2 / w
    fv = (np.arange(h) - h // 2) * 2 / h
    u, v = np.meshgrid(fu, fv)
    u = w / 8 * u
    v = h / 8 * v
    r = np.sqrt(u**2 + v**2)
    return 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))


def _source_side_compute(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(normalize1(s), block saliency lambda)`` of one source (read-only), memoised per scene."""
    sn = normalize1(s)
    gx = correlate(sn, _SOBEL_X, "constant")
    gy = correlate(sn, _SOBEL_Y, "constant")
    g = np.sqrt(gx * gx + gy * gy)
    lam = np.sum(_blocks(g**_ALPHA), axis=(1, 3))
    sn.setflags(write=False)
    lam.setflags(write=False)
    return sn, lam


_source_side = source_memo(_source_side_compute, maxsize=8)


def chen_varshney(sources: Sequence[np.ndarray], f: np.ndarray) -> float:
    """Chen-Varshney Qcv (real part) for N >= 2 float64 sources and fused image ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.arange(32 * 32).reshape(32, 32) * 7 % 256).astype(float)
    >>> chen_varshney([a, a], a)
    0.0
    """
    fn = normalize1(f)
    csf = _csf_unshifted(*f.shape)
    num = 0.0 + 0.0j
    den = 0.0
    for s in sources:
        sn, lam = _source_side(s)
        d = np.fft.ifft2(np.fft.fft2(sn - fn) * csf)
        dd = np.mean(_blocks(d * d), axis=(1, 3))
        num += np.sum(lam * dd)
        den += np.sum(lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.real(num / den))


@register_metric(
    MetricInfo(
        id="qcv",
        cost=4.0,
        ideal=0.0,
        name="Qcv (Chen-Varshney)",
        higher_is_better=False,
        range=(0.0, None),
        reference_id="Qcv_liu",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, metricChen.m"
        ),
        n_sources="any >= 2: saliency-weighted sum over sources",
        version="1",
        notes=(
            "LOWER is better (0 = ideal). normalize1 on every image, Sobel saliency sum g^5 over 16x16 "
            "blocks, Mannos-Sakrison CSF on a freqspace grid scaled by W/8, H/8, block mean of the squared "
            "complex filtered "
            "difference; real part of the (complex, |imag|~1e-15) result. NaN for a constant non-zero image "
            "(normalize1 0/0), as the reference."
        ),
    )
)
def qcv(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Chen-Varshney Qcv (lower is better)."""
    srcs, f = check_inputs(sources, fused, min_n=2, metric="qcv")
    return chen_varshney(srcs, f)
