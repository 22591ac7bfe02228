"""Qc: Cvejic, Loza, Bull & Canagarajah (2006) similarity metric, Zheng Liu's ``metricCvejic(A, B, F, 2)``.

Re-implemented in NumPy (no code copied) from zhengliu6699/imageFusionMetrics @
d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``metricCvejic.m`` switch 2 (Zheng Liu; no licence file).

Definition: 7x7 Gaussian (sigma 1.5) SSIM maps with C1 = C2 = 2e-16 (``filter2 'valid'``) of (A, F) and
(B, F), and the local covariances sAF, sBF; w = sAF / (sAF + sBF); Q = w SSIM(A,F) + (1 - w) SSIM(B,F), set
to 0 where w < 0 and to 1 where w > 1; Qc = mean(Q). NaN where sAF + sBF = 0 (0/0, exactly flat areas) --
the reference (Liu) propagates it, and so do we (documented NaN). Defined for 2 sources.

References
----------
N. Cvejic, A. Loza, D. Bull, N. Canagarajah, "A similarity metric for assessment of image fusion
algorithms", Int. J. Signal Processing 2(3):178-182, 2005.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._structural import local_moments, ssim_formula
from metrics.qy import _C, _G7


def _ssim_and_cov(x: np.ndarray, y: np.ndarray, guard: float = 0.0):
    mx, my, sxx, syy, sxy = local_moments(x, y, _G7, exact_near_flat=True)
    return ssim_formula(mx, my, sxx, syy, sxy, _C, _C, guard), sxy


def cvejic_qc(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Cvejic's Qc (Liu switch 2) for float64 images; NaN when any window has sAF + sBF = 0.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(16.0), (16, 1)) * 8
    >>> round(cvejic_qc(a, a, a), 12)
    1.0
    """
    return _cvejic(a, b, f, 0.0)


def cvejic_qc_sesf(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """SESF-Fuse's Qc: Liu's switch 2 with 1e-10 added to every denominator (reconstructed)."""
    return _cvejic(a, b, f, 1e-10)


def _cvejic(a: np.ndarray, b: np.ndarray, f: np.ndarray, guard: float) -> float:
    s_af, c_af = _ssim_and_cov(a, f, guard)
    s_bf, c_bf = _ssim_and_cov(b, f, guard)
    k = kernels("structural")
    if k is not None:  # the weighting and clamps below in one compiled pass (same bits)
        return float(np.mean(k.qc_combine(c_af, c_bf, s_af, s_bf, guard, np.empty(s_af.shape))))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = c_af / (c_af + c_bf + guard)
        q = w * s_af + (1 - w) * s_bf
    q[w < 0] = 0.0
    q[w > 1] = 1.0
    return float(np.mean(q))


@register_metric(
    MetricInfo(
        id="qc",
        cost=3.0,
        ideal=1.0,
        name="Qc (Cvejic)",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qc_liu_sw2",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, "
            "metricCvejic.m (sw=2)"
        ),
        n_sources="2 (weight is a two-source covariance ratio)",
        max_sources=2,
        version="1",
        notes=(
            "7x7 Gaussian SSIM with C=2e-16, weight sAF/(sAF+sBF), clipped results 0 (w<0) / 1 (w>1). "
            "Documented NaN when sAF+sBF=0 in some window (exactly flat areas, e.g. saturated highlights), "
            "as "
            "in Liu's code."
        ),
    )
)
def qc(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Cvejic's similarity metric Qc."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qc")
    return cvejic_qc(a, b, f)


@register_metric(
    MetricInfo(
        id="qc@sesf",
        name="Qc (SESF-Fuse evaluator, reconstructed)",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="",
        reference_impl=(
            "Keep-Passion/SESF-Fuse @ 9997299056f97412c8c00e8545c8a2ae5abb5b44 (branch Experiment), "
            "evaluation_methods.zip metricCvejic.m with the authors' +1e-10 "
            "(code not in snapshot; reconstructed)"
        ),
        n_sources="2 (weight is a two-source covariance ratio)",
        max_sources=2,
        version="1",
        notes=(
            "RECONSTRUCTION, not a port: Liu's metricCvejic switch 2 with 1e-10 added to the SSIM-map and "
            "weight denominators, as SESF-Fuse's evaluation.py says the authors did for Qc and Qy "
            "(methods.md 8.2); NaN-free. Against the authors' per-image Qc records (sesf2020 protocol, "
            "our CPU re-run of SESF's 38 fused images): mean |delta| 1.45e-3, max 1.4e-2 on 36 images "
            "(Liu's qc, where finite, 9.0e-4: the re-run's own level); mwg_lab 0.081 and mwg_desk 0.010 "
            "(grey, exactly flat regions where MATLAB's rounding noise meets the 1e-10 guard). Guarding "
            "only the SSIM maps leaves 20/38 NaN; guarding only the weight gives mean |delta| 5.2e-3."
        ),
    )
)
def qc_at_sesf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qc as in SESF-Fuse's evaluator (Liu's metricCvejic + 1e-10 denominators), reconstructed."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qc@sesf")
    return cvejic_qc_sesf(a, b, f)
