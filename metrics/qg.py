"""Qg: Xydeas-Petrovic gradient-based edge-preservation metric as implemented in Zheng Liu's toolbox.

Port of ``metricXydeas.m`` from zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273
(MATLAB, Z. Liu 2003; the toolbox README states the code is provided "as is" without warranty, no explicit
licence). Re-written in NumPy from the algorithm; no code copied.

This is what the SESF-Fuse and GACN papers report as "Qg" (``shared/docs/methods.md`` section 8.2). It
differs from the common Qabf (``metrics/qabf.py``) in its Sobel orientation, constants, orientation term
and, above all, its pooling: the per-pixel normalised mean ``mean((Q_AF w_A + Q_BF w_B) / (w_A + w_B))``
(the textbook sum-ratio is commented out in the MATLAB file).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._matlab import filter2_same
from metrics._memo import memoize_images, read_only_results, source_memo

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
_GUARD = 0.00001
# Value on identical inputs: strength 1 and orientation 1 give sigmoid(5) * sigmoid(5) per pixel, not 1.
_IDEAL = float((1.0 / (1.0 + np.exp(-5.0))) ** 2)


def _grad_angle(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel magnitude and ``atan(gy / gx)`` with ``gx == 0`` replaced by 1e-5 (``filter2 'same'``)."""
    gx = filter2_same(_SOBEL_X, img)
    gy = filter2_same(_SOBEL_Y, img)
    g = np.sqrt(gx * gx + gy * gy)
    gx = gx + (gx == 0) * _GUARD
    return g, np.arctan(gy / gx)


_grad_angle_frozen = read_only_results(_grad_angle)


# a source's gradient magnitude and angle serve every fused image of a scene, the fused image's serve qg and
# qg@liu2020 (content-keyed memos, the same arrays: same values)
_source_grad_angle = source_memo(_grad_angle_frozen, maxsize=8)
_fused_grad_angle = memoize_images(_grad_angle_frozen, maxsize=2)


def qg_liu(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Liu's ``metricXydeas`` (Qg), generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D, any scale; the 1e-5 guards make the value very slightly scale dependent).
    fused : numpy.ndarray
        Fused grey image of the same shape.

    Returns
    -------
    float
        ``mean_pixels( sum_s Q_sF * w_s / sum_s w_s )`` with ``w_s`` the Sobel magnitude of source s
        (zeros replaced by 1e-5). For N = 2 this is exactly the MATLAB value. Range [0, 1].

    Notes
    -----
    Strength ``G = gF/gX`` where ``gX > gF`` else ``gX/gF``; orientation ``A = ||aX - aF| - pi/2| * 2/pi``;
    ``Q = 1/(1 + exp(-10 (G - 0.5))) * 1/(1 + exp(-20 (A - 0.75)))``. The guard order of the MATLAB code
    is kept: the first source's strength test uses the unguarded fused magnitude, every later one the
    guarded magnitude. A constant fused image or constant sources give a finite value.

    References
    ----------
    C. S. Xydeas, V. Petrovic, "Objective image fusion performance measure", Electronics Letters 36(4),
    2000. doi:10.1049/el:20000267. Z. Liu et al., IEEE TPAMI 34(1) 94-109, 2012. doi:10.1109/TPAMI.2011.109

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(8.0), (8, 1)); b = a.T.copy()
    >>> round(qg_liu([a, b], (a + b) / 2), 6) < 1.0
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qg", min_n=2)
    g_f, a_f = _fused_grad_angle(fus)
    num = np.zeros_like(fus)
    den = np.zeros_like(fus)
    k = kernels("edge")
    if k is not None:  # the same expressions element by element around NumPy's exp (same bits)
        gsg, gfg, e1, e2 = (np.empty_like(fus) for _ in range(4))
        for src in srcs:
            g_s, a_s = _source_grad_angle(src)
            k.qg_args(g_s, a_s, g_f, a_f, _GUARD, gsg, gfg, e1, e2)
            g_f = gfg  # guarded after the first use, as MATLAB's in-place fuseG
            with np.errstate(over="ignore"):
                np.exp(e1, out=e1)
                np.exp(e2, out=e2)
            k.qg_accumulate(e1, e2, gsg, num, den)
        return float(np.mean(num / den))
    for src in srcs:
        g_s, a_s = _source_grad_angle(src)
        bimap = g_s > g_f
        g_s = g_s + (g_s == 0) * _GUARD
        buffer1 = g_f / g_s
        g_f = g_f + (g_f == 0) * _GUARD  # MATLAB guards fuseG in place after the first use
        buffer2 = g_s / g_f
        strength = np.where(bimap, buffer1, buffer2)
        orient = np.abs(np.abs(a_s - a_f) - np.pi / 2) * 2 / np.pi
        q = (1.0 / (1 + np.exp(-10 * (strength - 0.5)))) * (1.0 / (1 + np.exp(-20 * (orient - 0.75))))
        num += q * g_s
        den += g_s
    return float(np.mean(num / den))


@register_metric(
    MetricInfo(
        id="qg",
        cost=3.0,
        name="Qg",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qg_liu",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics metricXydeas.m @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273"
        ),
        n_sources="any: per-pixel sum_s Q_sF*w_s / sum_s w_s, then the mean over pixels",
        version="1",
        ideal=_IDEAL,
        notes=(
            "Liu's Xydeas-Petrovic variant used by SESF-Fuse/GACN tables: filter2 Sobel (zero padding), "
            "1e-5 guards, sigmoids (1,-10,0.5)/(1,-20,0.75), per-pixel normalised mean pooling (not Qabf's "
            "sum ratio). Works on any grey scale (0..255 or [0,1]); the guards make it very slightly scale "
            "dependent."
        ),
    )
)
def qg(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qg_liu`."""
    return qg_liu(sources, fused)
