"""Qs: Piella & Heijmans (2003) fusion quality index, Zheng Liu's ``metricPeilla(A, B, F, 1)``.

Re-implemented in NumPy (no code copied) from zhengliu6699/imageFusionMetrics @
d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``metricPeilla.m`` switch 1 (Zheng Liu; no licence file), which
calls Zhou Wang's ``ssim_index.m`` with its defaults.

Definition (switch 1): with Wang's 11x11 Gaussian (sigma 1.5) SSIM machinery (K = [0.01 0.03], L = 255,
``filter2 'valid'``), local variances sA^2, sB^2 of the sources (0.5 added to both where their sum is 0),
lambda = sA^2 / (sA^2 + sB^2) and Qs = mean(lambda SSIM(F, A) + (1 - lambda) SSIM(F, B)).

N sources: lambda_i = s_i^2 / sum_j s_j^2 (1/N where all are 0), Qs = mean(sum_i lambda_i SSIM(F, S_i));
for N = 2 this is exactly Liu's formula.

References
----------
G. Piella, H. Heijmans, "A new quality metric for image fusion", Proc. ICIP 2003, vol. 3, pp. 173-176.
doi:10.1109/ICIP.2003.1247209
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._memo import source_memo
from metrics._structural import local_moments
from metrics.ssim import _G11, ssim_map


def piella_qs(sources: Sequence[np.ndarray], f: np.ndarray) -> float:
    """Piella's Q (Liu switch 1) for N >= 2 float64 sources and the fused image ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(20.0), (20, 1)) * 10
    >>> round(piella_qs([a, a], a), 12)
    1.0
    """
    weights = _source_weights(*sources)
    q = np.zeros_like(weights[0])
    for w, s in zip(weights, sources, strict=True):
        # SSIM(S, F) == SSIM(F, S) bit for bit (the formula only doubles, adds and multiplies commuting
        # terms): the (S, F) order shares the moments of the pair with ssim / ssim@vifb
        q = q + w * ssim_map(s, f)
    return float(np.mean(q))


def _source_weights_compute(*sources: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per source ``var_i / sum var`` (read-only): the sources-only part, memoised per scene."""
    # variances exactly as ssim_index(img1, img2) returns them (sigma1_sq of every source)
    var = [local_moments(s, s, _G11)[2] for s in sources]
    total = np.sum(var, axis=0)
    pad = (total == 0) * 0.5
    var = [v + pad for v in var]
    total = np.sum(var, axis=0)
    out = tuple(v / total for v in var)
    for w in out:
        w.setflags(write=False)
    return out


_source_weights = source_memo(_source_weights_compute, maxsize=4)


@register_metric(
    MetricInfo(
        id="qs",
        ideal=1.0,
        name="Qs (Piella)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="Qs_liu_sw1",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, "
            "metricPeilla.m (sw=1)"
        ),
        n_sources="any >= 2: variance-weighted sum over sources (N=2 is Liu's formula)",
        version="1",
        notes=(
            "Wang SSIM (11x11 Gaussian, K=[0.01 0.03], L=255, 'valid') of F with each source, weighted per "
            "window by the sources' local variance share; 0.5 added where all variances are 0. Inputs 0..255."
        ),
    )
)
def qs(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Piella's fusion quality index Qs."""
    srcs, f = check_inputs(sources, fused, min_n=2, metric="qs")
    return piella_qs(srcs, f)
