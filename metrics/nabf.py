"""Nabf: B. K. Shreyamsha Kumar's modified fusion-artifact measure (Petrovic model). Lower is better.

Port of ``Evaluation/analysis_nabf.m`` (with its ``sobel_fn.m`` / ``per_extn_im_fn.m``) from
Linfeng-Tang/Evaluation-for-Image-Fusion @ 0e87153be77320e31ef2cabb5820518d2ac56bac (MATLAB by
B. K. Shreyamsha Kumar, 2011; no licence file). Re-written in NumPy from the algorithm; no code copied.

Definition: Sobel/8 responses ([-1 0 1; -2 0 2; -1 0 1]/8 and [-1 -2 -1; 0 0 0; 1 2 1]/8) on the image
extended by one pixel with mirror reflection *excluding* the edge pixel (NumPy ``reflect``), 'valid'
filtering; orientation ``atan(gv/gh)`` (0 where both are 0); relative strength 0 where either magnitude
is 0, else min/max; orientation similarity ``||aX - aF| - pi/2| * 2/pi``;
``Q_XF = sqrt(Nrg/(1+exp(-kg(G-sg))) * Nra/(1+exp(-ka(A-sa))))`` with (Nrg, kg, sg) = (0.9999, 19, 0.5)
and (Nra, ka, sa) = (0.9995, 22, 0.5); weights ``w = g^1.5`` where ``g >= 2`` else 0.001.
``Nabf = sum over pixels where gF exceeds every source magnitude of sum_s (1 - Q_sF) w_s, divided by
sum over all pixels of sum_s w_s``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._matlab import correlate
from metrics._memo import source_memo

_V = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
_H = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]) / 8
_TD, _WT_MIN, _LG = 2.0, 0.001, 1.5
_NRG, _KG, _SG = 0.9999, 19.0, 0.5
_NRA, _KA, _SA = 0.9995, 22.0, 0.5


def _sobel(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sobel_fn``: reflect-101 extension by one pixel, then 'valid' correlation with Sobel/8."""
    ext = np.pad(img, 1, mode="reflect")
    gv = correlate(ext, _V, "constant")[1:-1, 1:-1]
    gh = correlate(ext, _H, "constant")[1:-1, 1:-1]
    return gv, gh


def _angle(gv: np.ndarray, gh: np.ndarray) -> np.ndarray:
    both0 = (gv == 0) & (gh == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(both0, 0.0, np.arctan(gv / gh))


def _strength(g_s: np.ndarray, g_f: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(g_s > g_f, g_f / g_s, g_s / g_f)
    return np.where((g_s == 0) | (g_f == 0), 0.0, r)


def _source_side_compute(src: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One source's gradient magnitude, orientation and weight ``g^1.5`` (read-only), memoised per scene."""
    gv, gh = _sobel(src)
    g = np.sqrt(gh**2 + gv**2)
    a = _angle(gv, gh)
    wt = np.where(g >= _TD, g**_LG, _WT_MIN)
    for arr in (g, a, wt):
        arr.setflags(write=False)
    return g, a, wt


_source_side = source_memo(_source_side_compute, maxsize=8)


def nabf_kumar(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Shreyamsha Kumar's Nabf, generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D, 0..255 scale: the threshold ``g >= 2`` is scale dependent).
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        Artifact measure, 0 = no artifacts; lower is better. Finite for constant images (weights
        fall back to 0.001).

    References
    ----------
    B. K. Shreyamsha Kumar, "Multifocus and multispectral image fusion based on pixel significance using
    discrete cosine harmonic wavelet transform", Signal, Image and Video Processing 7, 1125-1143, 2013.
    doi:10.1007/s11760-012-0361-x

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(0.0, 80, 10), (8, 1)); b = a.T.copy()
    >>> nabf_kumar([a, b], a) >= 0
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Nabf", min_n=2)
    gv_f, gh_f = _sobel(fus)
    g_f = np.sqrt(gh_f**2 + gv_f**2)
    a_f = _angle(gv_f, gh_f)
    artifact = np.ones(fus.shape, dtype=bool)
    loss = np.zeros_like(fus)
    wt_sum = np.zeros_like(fus)
    k = kernels("edge")
    if k is not None:  # the same expressions element by element around NumPy's exp (same bits)
        e1, e2 = np.empty_like(fus), np.empty_like(fus)
        for src in srcs:
            g, a, wt = _source_side(src)
            k.nabf_args(g, a, g_f, a_f, _KG, _SG, _KA, _SA, e1, e2)
            with np.errstate(over="ignore"):
                np.exp(e1, out=e1)
                np.exp(e2, out=e2)
            k.nabf_accumulate(e1, e2, g, g_f, wt, _NRG, _NRA, artifact, loss, wt_sum)
        return float(np.sum(artifact * loss) / np.sum(wt_sum))
    for src in srcs:
        g, a, wt = _source_side(src)
        g_rel = _strength(g, g_f)
        a_rel = np.abs(np.abs(a - a_f) - np.pi / 2) * 2 / np.pi
        qg = _NRG / (1 + np.exp(-_KG * (g_rel - _SG)))
        qa = _NRA / (1 + np.exp(-_KA * (a_rel - _SA)))
        q = np.sqrt(qg * qa)
        artifact &= g_f > g
        loss += (1 - q) * wt
        wt_sum += wt
    return float(np.sum(artifact * loss) / np.sum(wt_sum))


@register_metric(
    MetricInfo(
        id="nabf",
        cost=3.0,
        name="Nabf",
        higher_is_better=False,
        range=(0.0, 1.0),
        reference_id="Nabf_tang",
        reference_impl=(
            "Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_nabf.m @ "
            "0e87153be77320e31ef2cabb5820518d2ac56bac"
        ),
        n_sources="any: artifacts where gF exceeds every source; sum_s (1-Q_sF) w_s / sum_s w_s",
        version="1",
        ideal=0.0,
        notes="Modified fusion artifacts (Shreyamsha Kumar). Expects 0..255 data (weight threshold g >= 2).",
    )
)
def nabf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`nabf_kumar`."""
    return nabf_kumar(sources, fused)
