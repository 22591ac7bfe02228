"""qg@liu2020: the Xydeas-Petrovic gradient metric as corrected by Yu Liu et al. for their 2020 survey.

Re-implemented in NumPy (no code copied) from yuliu316316/MFIF @ 267c081b8f3dd29cc62284463ca1cd16dc9b352a,
``evaluation/objective_metrics/metricXydeas.m`` (Zheng Liu's ``metricXydeas.m`` "slightly modified by Yu
Liu after a careful check according to original publication [Oct 2019]"; no licence file in either
repository). This is the QG column of the survey's Tables 6 and 7 (``metricXydeas(img1,img2,imgf)``).

It differs from ``qg`` (Zheng Liu's original, ``metrics/qg.py``) in three places, all following Xydeas &
Petrovic (2000):

* orientation preservation ``A = 1 - |a_X - a_F| * 2/pi`` (Eq. 4) instead of ``||a_X - a_F| - pi/2| * 2/pi``;
* sigmoid constants Gamma_g = 0.9994, k_g = -15, sigma_g = 0.5 and Gamma_a = 0.9879, k_a = -22,
  sigma_a = 0.8 (Fig. 1) instead of (1, -10, 0.5) / (1, -20, 0.75);
* pooling ``sum(Q_AF w_A + Q_BF w_B) / sum(w_A + w_B)`` (Eq. 8) instead of the per-pixel normalised mean.

Everything else (``filter2`` Sobel with zero padding, ``atan(gy/gx)`` with ``gx == 0`` replaced by 1e-5,
the 1e-5 guards on the magnitudes and their order, weights w = source magnitude with L = 1) is unchanged.
Agreement with the survey's per-image values: 90 of 90 images in shared within 1e-9 relative
(``tests/test_metrics_liu2020.py``).

N sources: numerator and denominator sum over all sources (for N = 2 the published formula).

Reference: C. S. Xydeas, V. Petrovic, "Objective image fusion performance measure", Electronics Letters
36(4) 308-309, 2000, doi:10.1049/el:20000267. Y. Liu, L. Wang, J. Cheng, C. Li, X. Chen, "Multi-focus image
fusion: a survey of the state of the art", Information Fusion 64 (2020) 71-91,
doi:10.1016/j.inffus.2020.06.013.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._provenance import YULIU2020, impl
from metrics.qg import _fused_grad_angle, _source_grad_angle

_GUARD = 0.00001
_GAMMA_G, _K_G, _DELTA_G = 0.9994, -15.0, 0.5
_GAMMA_A, _K_A, _DELTA_A = 0.9879, -22.0, 0.8


def qg_liu2020_value(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Yu Liu's ``metricXydeas`` (survey QG) for N >= 2 grey sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D; the survey feeds 0..255 values).
    fused : numpy.ndarray
        Fused grey image of the same shape.

    Returns
    -------
    float
        ``sum_px sum_s Q_sF w_s / sum_px sum_s w_s``; in [0, 0.9994 * 0.9879].

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(8.0), (8, 1)) * 9; b = a.T.copy()
    >>> 0.0 < qg_liu2020_value([a, b], (a + b) / 2) < 1.0
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="qg@liu2020", min_n=2)
    g_f, a_f = _fused_grad_angle(fus)  # shared with qg (memo: same arrays)
    num = 0.0
    den = 0.0
    for src in srcs:
        g_s, a_s = _source_grad_angle(src)  # per scene, shared with qg
        bimap = g_s > g_f
        g_s = g_s + (g_s == 0) * _GUARD
        buffer1 = g_f / g_s
        g_f = g_f + (g_f == 0) * _GUARD  # MATLAB guards fuseG in place after its first use
        buffer2 = g_s / g_f
        strength = np.where(bimap, buffer1, buffer2)
        orient = 1 - np.abs(a_s - a_f) * 2 / np.pi
        q = (_GAMMA_G / (1 + np.exp(_K_G * (strength - _DELTA_G)))) * (
            _GAMMA_A / (1 + np.exp(_K_A * (orient - _DELTA_A)))
        )
        num = num + q * g_s
        den = den + g_s
    # MATLAB sum(sum(M)): column sums first, then their sum
    return float(np.sum(np.sum(num, axis=0)) / np.sum(np.sum(den, axis=0)))


# Value on identical inputs (strength 1, orientation 1): below 1 because of the sigmoids' Gamma and offsets.
_IDEAL = float(
    _GAMMA_G / (1 + np.exp(_K_G * (1 - _DELTA_G))) * _GAMMA_A / (1 + np.exp(_K_A * (1 - _DELTA_A)))
)


@register_metric(
    MetricInfo(
        id="qg@liu2020",
        name="QG (Liu 2020 survey)",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="",
        reference_impl=impl(YULIU2020, "evaluation/objective_metrics/metricXydeas.m", "metricXydeas(A,B,F)"),
        n_sources="any: sums over all sources in numerator and denominator (N=2 is the published form)",
        version="1",
        ideal=_IDEAL,
        notes=(
            "Survey fix of Liu's Qg (qg): orientation 1-|aX-aF|*2/pi, sigmoids (0.9994,-15,0.5)/"
            "(0.9879,-22,0.8), sum-ratio pooling sum(Q w)/sum(w). Checked against the survey's per-image "
            "values (shared/reference/yuliu2020/per_image_values.json, QG): 90/90 within 1e-9 relative."
        ),
    )
)
def qg_liu2020(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qg_liu2020_value`."""
    return qg_liu2020_value(sources, fused)
