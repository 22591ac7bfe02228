"""Qcb: Chen & Blum's perceptual fusion metric, Liu toolbox ``metricChenBlum`` (= VIFB ``metricsQcb``).

Port of ``metricChenBlum.m`` from zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273
(MATLAB, Z. Liu 2009; "as is", no licence file). Re-written in NumPy from the algorithm; no code copied.

1. ``normalize1`` every image (min-max to 0..255, rounded; see :mod:`metrics._matlab`).
2. Contrast-sensitivity filtering in the frequency domain: ``freqspace([M N], 'meshgrid')`` grid
   (``((0:n-1) - floor(n/2)) * 2/n`` per axis), scaled ``u*N/30``, ``v*M/30``; DoG CSF
   ``S = exp(-(r/15.3870)^2) - 0.7622 exp(-(r/1.3456)^2)``; filtered image
   ``ifft2(ifftshift(fftshift(fft2(I)) .* S))`` -- complex, and kept complex.
3. Local contrast ``C = (G1 * I) / (G2 * I) - 1`` with 31x31 *unnormalised* Gaussians (sigma 2 and 4)
   applied by ``filter2(..., 'same')`` (zero padding); ``C = |C|``; ``C' = C^3 / (C^2 + 1e-4)``.
4. Preservation ``Q_XF = C'_X / C'_F`` where ``C'_X < C'_F``, else ``C'_F / C'_X``.
5. Saliency ``lambda_X = C'_X^2 / sum_s C'_s^2``; ``Qcb = mean(sum_s lambda_s Q_sF)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._matlab import normalize1
from metrics._memo import source_memo, value_nbytes

_F0, _F1, _A = 15.3870, 1.3456, 0.7622
_K, _H, _P, _Q, _Z = 1.0, 1.0, 3.0, 2.0, 0.0001


@lru_cache(maxsize=8)
def _csf(rows: int, cols: int) -> np.ndarray:
    """DoG contrast-sensitivity filter on MATLAB's ``freqspace([rows cols], 'meshgrid')`` grid."""
    f1 = (np.arange(cols) - np.floor(cols / 2)) * (2 / cols)
    f2 = (np.arange(rows) - np.floor(rows / 2)) * (2 / rows)
    u, v = np.meshgrid(f1, f2)
    u = (cols / 30) * u
    v = (rows / 30) * v
    r = np.sqrt(u**2 + v**2)
    s = np.exp(-((r / _F0) ** 2)) - _A * np.exp(-((r / _F1) ** 2))
    s.setflags(write=False)
    return s


@lru_cache(maxsize=4)
def _gauss_factor(sigma: float) -> np.ndarray:
    """1-D factor g with ``outer(g, g) == exp(-(x^2+y^2)/(2 s^2)) / (2 pi s^2)`` on -15..15 (unnormalised)."""
    x = np.arange(-15, 16, dtype=np.float64)
    g = np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma)
    g.setflags(write=False)
    return g


def _filter2_same_sep(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``filter2(outer(g, g), img, 'same')`` (zero padding) for a real image, separably with OpenCV."""
    return cv2.sepFilter2D(img, cv2.CV_64F, g, g, anchor=(-1, -1), delta=0.0, borderType=cv2.BORDER_CONSTANT)


@lru_cache(maxsize=8)
def _csf_unshifted(rows: int, cols: int) -> np.ndarray:
    """:func:`_csf` in the DFT's own layout (``ifftshift``-ed), so the spectrum needs no shifting."""
    s = np.ascontiguousarray(np.fft.ifftshift(_csf(rows, cols)))
    s.setflags(write=False)
    return s


def _contrast_prime(img: np.ndarray) -> np.ndarray:
    """CSF-filter one normalised image and return ``C' = k C^p / (h C^q + Z)`` of its local contrast."""
    # ifft2(ifftshift(fftshift(fft2(img)) .* csf)) == ifft2(fft2(img) .* ifftshift(csf)): the same
    # products, permuted; OpenCV's DFT (complex output, in place) is ~2x faster than NumPy's
    spec = cv2.dft(np.ascontiguousarray(img, dtype=np.float64), flags=cv2.DFT_COMPLEX_OUTPUT)
    spec *= _csf_unshifted(*img.shape)[:, :, None]
    cv2.idft(spec, dst=spec, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)
    # real and imaginary parts filtered as OpenCV's two channels (the same bits as one plane at a time,
    # tested), then seen as complex numbers: re + 1j * im without the temporaries (finite values)
    num = _filter2_same_sep(spec, _gauss_factor(2.0)).view(np.complex128)[..., 0]
    den = _filter2_same_sep(spec, _gauss_factor(4.0)).view(np.complex128)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.abs(num / den - 1)
        return (_K * c**_P) / (_H * c**_Q + _Z)


def _source_contrast_compute(img: np.ndarray) -> np.ndarray:
    """``C'`` of one normalised source (read-only)."""
    out = _contrast_prime(normalize1(img))
    out.setflags(write=False)
    return out


# A source's C' (about a third of Qcb for two sources) depends on the source alone: memoised by content
# within the shared source budget (metrics._memo.source_memo), so every later fused image of a scene
# reuses it (8 bytes per pixel). Values unchanged: a hit returns the array computed the first time.
_source_contrast = source_memo(_source_contrast_compute, maxsize=8)


def qcb_chen_blum(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Liu's ``metricChenBlum`` (Qcb), generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D, any scale: each is min-max normalised to rounded 0..255 first).
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        ``mean(sum_s lambda_s Q_sF)``, range [0, 1]. NaN when an image is constant and non-zero
        (``normalize1`` divides 0 by 0, as in MATLAB) or where all sources have zero contrast.

    References
    ----------
    Y. Chen, R. S. Blum, "A new automated quality assessment algorithm for image fusion", Image and Vision
    Computing 27(10) 1421-1432, 2009. doi:10.1016/j.imavis.2007.12.002

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> a = (xx * 8.0) % 256; b = (yy * 8.0) % 256
    >>> 0 < qcb_chen_blum([a, b], (a + b) / 2) < 1
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qcb", min_n=2)
    cp_f = _contrast_prime(normalize1(fus))
    cps, saliency = _source_side(*srcs)
    compiled = kernels("qcb")
    if compiled is not None:  # the expression below element by element (same bits), no temporaries
        q = np.zeros_like(cp_f)
        for cp, lam in zip(cps, saliency, strict=True):
            compiled.add_preservation(cp, cp_f, lam, q)
        return float(np.mean(q))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.zeros_like(cp_f)
        for cp, lam in zip(cps, saliency, strict=True):
            mask = (cp < cp_f).astype(np.float64)  # MATLAB's mask arithmetic: inf * 0 gives NaN, as there
            pres = (cp / cp_f) * mask + (cp_f / cp) * (1 - mask)
            q = q + lam * pres
    return float(np.mean(q))


def _source_side_compute(*srcs: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The sources' ``C'`` maps and saliency weights ``lambda_s = C'_s^2 / sum_t C'_t^2`` (read-only)."""
    cps = tuple(_source_contrast(s) for s in srcs)
    with np.errstate(divide="ignore", invalid="ignore"):
        sal_den = cps[0] * cps[0]
        for cp in cps[1:]:
            sal_den = sal_den + cp * cp
        saliency = tuple((cp * cp) / sal_den for cp in cps)
    for lam in saliency:
        lam.setflags(write=False)
    return cps, saliency


# the saliency weights depend on the set of sources only: memoised per scene like the C' maps (which this
# entry shares with _source_contrast, so only the weights count against the budget)
_source_side = source_memo(_source_side_compute, maxsize=4, nbytes=lambda v: value_nbytes(v[1]))


@register_metric(
    MetricInfo(
        id="qcb",
        cost=7.0,
        name="Qcb",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qcb_liu",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics metricChenBlum.m @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273"
        ),
        n_sources="any: saliency lambda_s = C'_s^2 / sum over sources of C'^2",
        version="1",
        ideal=1.0,
        notes=(
            "Chen-Blum with Liu's parameters (DoG CSF scaled by size/30, sigma 2/4 contrast, p=3, q=2, "
            "Z=1e-4). Scale free: every image is normalize1'd to rounded 0..255. Same as VIFB metricsQcb. "
            "NaN for a constant non-zero image (0/0 in normalize1)."
        ),
    )
)
def qcb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qcb_chen_blum`."""
    return qcb_chen_blum(sources, fused)
