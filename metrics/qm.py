"""Qm: Wang & Liu's multiscale (Haar wavelet) edge-preservation metric, Liu toolbox ``metricPWW``.

Port of ``metricPWW.m`` from zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273
(MATLAB, Z. Liu 2009; "as is", no licence file), using matlabPyrTools ``buildWpyr(.., 2, 'haar')`` (see
:mod:`metrics._haar`). Re-written in NumPy from the algorithm; no code copied.

Two ids, because the value depends strongly on the intensity scale:

* ``qm`` -- the metric on the inputs as given (0..255 under the ``standard`` protocol) = ``Qm_liu``;
* ``qm@unitrange`` -- the inputs divided by 255 first = ``Qm_liu_unitrange``. This is what SESF-Fuse's
  evaluator effectively computed on colour pairs (skimage ``rgb2gray`` gives [0, 1]); under the
  ``sesf2020`` protocol use plain ``qm``, which sees exactly the evaluator's mixed scales.

Per level k the detail bands H, V, D of every image give ``w_X = H_X^2 + V_X^2 + D_X^2`` and
``EP_X = exp(-|H_X - H_F|) + exp(-|V_X - V_F|) + exp(-|D_X - D_F|)`` (a sum, not divided by 3), and
``Q_k = sum(EP_A w_A + EP_B w_B) / sum(w_A + w_B)``; ``Qm = Q_1^(2/3) * Q_2^(1/3)``, range [0, 3].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._haar import haar_wpyr
from metrics._memo import _frozen_owner, source_memo

_ALPHA = (2 / 3, 1 / 3)


def qm_pww(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Liu's ``metricPWW`` (Qm), generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D). The value depends on their scale.
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        ``Q_1^(2/3) * Q_2^(1/3)`` with ``Q_k = sum_pixels sum_s EP_s w_s / sum_pixels sum_s w_s``;
        range [0, 3] (3 = perfect). NaN when all source detail coefficients at a level are 0 (0/0), e.g.
        for constant sources, as in MATLAB.

    Raises
    ------
    ValueError
        Images smaller than 4x4 (a 2-level Haar pyramid needs each side >= 4), or bad inputs.

    Notes
    -----
    Odd sides are handled as matlabPyrTools does: the last row/column is not used at that level. The
    MATLAB help asks for sides divisible by 4, where no pixel is dropped.

    References
    ----------
    P.-W. Wang, B. Liu, "A novel image fusion metric based on multi-scale analysis", ICSP 2008, 965-968.
    doi:10.1109/ICOSP.2008.4697288

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(8.0), (8, 1)); b = a.T.copy()
    >>> round(qm_pww([a, b], a), 12) <= 3.0
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qm", min_n=2)
    bands = [_source_bands(s) if _frozen_owner(s) else _source_bands_compute(s) for s in srcs]
    return _qm_value(bands, haar_wpyr(fus, len(_ALPHA)))


def _source_bands_compute(src: np.ndarray, scale: float | None = None) -> tuple:
    """Per level ``(H, V, D, H*H + V*V + D*D)`` of one source (``src / scale`` when given), read-only:
    the sources' half of Qm, memoised per scene."""
    pyr = haar_wpyr(src if scale is None else src / scale, len(_ALPHA))
    out = tuple((h, v, d, h * h + v * v + d * d) for h, v, d in pyr)
    for level in out:
        for a in level:
            a.setflags(write=False)
    return out


_source_bands = source_memo(_source_bands_compute, maxsize=8)
# qm@unitrange's sources / 255, keyed by the source itself (the scaled copy is not hashed per fused image)
_source_bands_unit = source_memo(lambda src: _source_bands_compute(src, 255), maxsize=8)


def _qm_value(src_bands: list, pyr_f: list) -> float:
    res = 1.0
    for k in range(len(_ALPHA)):
        hf, vf, df = pyr_f[k]
        num = np.zeros_like(hf)
        den = np.zeros_like(hf)
        for bands in src_bands:
            h, v, d, w = bands[k]
            ep = np.exp(-np.abs(h - hf)) + np.exp(-np.abs(v - vf)) + np.exp(-np.abs(d - df))
            num += ep * w
            den += w
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.sum(num) / np.sum(den)
        res *= q ** _ALPHA[k]
    return float(res)


_IMPL = (
    "zhengliu6699/imageFusionMetrics metricPWW.m (+ matlabPyrTools buildWpyr) @ "
    "d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273"
)
_NS = "any: per level sum over pixels and sources of EP_s*w_s / sum of w_s"


@register_metric(
    MetricInfo(
        id="qm",
        name="Qm",
        higher_is_better=True,
        range=(0.0, 3.0),
        reference_id="Qm_liu",
        reference_impl=_IMPL,
        n_sources=_NS,
        version="1",
        ideal=3.0,
        notes=(
            "Liu metricPWW on the inputs as given (0..255 under 'standard'). Sums the three exp() terms "
            "(range 0..3, perfect = 3) and is strongly scale dependent; see qm@unitrange. Sides should be "
            "divisible by 4 (odd sides: last row/column ignored at that level, as matlabPyrTools does)."
        ),
    )
)
def qm(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper: :func:`qm_pww` on the inputs as given."""
    return qm_pww(sources, fused)


@register_metric(
    MetricInfo(
        id="qm@unitrange",
        name="Qm ([0,1] inputs)",
        higher_is_better=True,
        range=(0.0, 3.0),
        reference_id="Qm_liu_unitrange",
        reference_impl=_IMPL + " on inputs/255",
        n_sources=_NS,
        version="1",
        ideal=3.0,
        notes=(
            "metricPWW on inputs divided by 255 (0..255 data -> [0,1]): what SESF-Fuse's evaluator computed "
            "on colour pairs (values ~2.9). Under the sesf2020 protocol use qm instead."
        ),
    )
)
def qm_unitrange(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper: :func:`qm_pww` on ``inputs / 255``."""
    srcs, fus = check_inputs(sources, fused, metric="Qm", min_n=2)
    bands = [_source_bands_unit(s) if _frozen_owner(s) else _source_bands_compute(s, 255) for s in srcs]
    return _qm_value(bands, haar_wpyr(fus / 255, len(_ALPHA)))
