"""Qabf: Xydeas-Petrovic edge-preservation metric, the common implementation and two published copies.

Ports (re-written in NumPy from the algorithm; no code copied):

* ``qabf`` -- ``Evaluation/analysis_Qabf.m`` of Linfeng-Tang/Evaluation-for-Image-Fusion
  @ 0e87153be77320e31ef2cabb5820518d2ac56bac (header "edit by Richang Hong; May 27 07"; no licence file).
  The same code is used by MEFB and VIFB.
* ``qabf@vifb`` -- ``metrics/metricsQabf.m`` of xingchenzhang/VIFB @ 22b2ea9d91499cc5962d9bdcae9c290270f0fade
  (MIT licence). Identical algorithm, but it multiplies its (already 0..255) double inputs by 255
  (``255*im2double(double(x))``). Because of the "equal strengths give ``G = gF``" bug the value is not
  exactly scale invariant: pixels with ``gA == gF`` contribute ``sigmoid(255 g)`` instead of
  ``sigmoid(g)``; the two differ by ~1e-10 on the reference images.
* ``qabf@cddfuse`` -- ``Evaluator.Qabf`` of Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py``
  @ fd8da1f39d8d403b7343e577bd5a30cba38c7b7b (no licence file), evaluated in float32 as its test scripts do.

Definition (all three): Sobel by ``conv2(..., 'same')`` (zero padding) with [-1 0 1; -2 0 2; -1 0 1] (x)
and [1 2 1; 0 0 0; -1 -2 -1] (y); ``alpha = atan(gy/gx)`` (pi/2 where gx == 0); strength
``G = gF/gX`` if ``gX > gF``, ``gX/gF`` if ``gX < gF`` and ``gF`` if equal (bug kept by everyone);
orientation ``A = 1 - |aX - aF| / (pi/2)``; ``Q = Tg/(1+exp(kg(G-Dg))) * Ta/(1+exp(ka(A-Da)))`` with
(Tg, kg, Dg) = (0.9994, -15, 0.5), (Ta, ka, Da) = (0.9879, -22, 0.8);
``Qabf = sum(Q_AF gA + Q_BF gB) / sum(gA + gB)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._matlab import conv2_same
from metrics._memo import _frozen_owner, read_only_results, source_memo

_H1 = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # y
_H3 = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # x
_TG, _KG, _DG = 0.9994, -15.0, 0.5
_TA, _KA, _DA = 0.9879, -22.0, 0.8


def _grad_angle(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sx = conv2_same(img, _H3)
    sy = conv2_same(img, _H1)
    g = np.sqrt(sx**2 + sy**2)
    zero = sx == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(zero, np.pi / 2, np.arctan(sy / np.where(zero, 1.0, sx)))
    return g, a


_grad_angle_frozen = read_only_results(_grad_angle)


# A source's gradient and angle maps (the arctan: about a third of Qabf) depend on the source alone:
# memoised by content within the shared source budget (metrics._memo.source_memo), reused by every
# later fused image of a scene (16 bytes per pixel). Values unchanged: a hit returns the same arrays.
_source_grad_angle = source_memo(_grad_angle_frozen, maxsize=8)


_SCALED: dict = {}


def _scaled_source_maps(scale: float):
    """The memoised maps of ``source * scale`` keyed by the source itself (qabf@vifb's 255: the scaled
    copy is not hashed for every fused image of a scene)."""
    memo = _SCALED.get(scale)
    if memo is None:
        memo = _SCALED.setdefault(
            scale, source_memo(lambda src, k=scale: _grad_angle_frozen(src * k), maxsize=8)
        )
    return memo


def _edge_preservation(g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(g_s > g_f, g_f / g_s, np.where(g_s == g_f, g_f, g_s / g_f))
    orient = 1 - np.abs(a_s - a_f) / (np.pi / 2)
    return (_TG / (1 + np.exp(_KG * (strength - _DG)))) * (_TA / (1 + np.exp(_KA * (orient - _DA))))


def qabf_xydeas(sources: Sequence[np.ndarray], fused: np.ndarray, *, scale: float = 1.0) -> float:
    """Common Qabf (Tang/MEFB/VIFB code) in float64, generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D).
    fused : numpy.ndarray
        Fused grey image, same shape.
    scale : float
        Factor applied to all inputs first (VIFB: 255). Only the ``gX == gF`` bug makes it matter.

    Returns
    -------
    float
        ``sum_pixels sum_s Q_sF g_s / sum_pixels sum_s g_s``; in [0, 1) for integer-valued inputs.
        NaN when every source gradient is zero (0/0), as in MATLAB.

    References
    ----------
    C. S. Xydeas, V. Petrovic, "Objective image fusion performance measure", Electronics Letters 36(4),
    308-309, 2000. doi:10.1049/el:20000267

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(8.0), (8, 1)); b = a.T.copy()
    >>> 0 < qabf_xydeas([a, b], (a + b) / 2) < 1
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qabf", min_n=2)
    source_maps = _source_grad_angle if scale == 1.0 else _scaled_source_maps(scale)
    if scale != 1.0:
        fus = fus * scale
    g_f, a_f = _grad_angle(fus)
    nume = np.zeros_like(fus)
    deno = np.zeros_like(fus)
    k = kernels("edge")
    if k is not None:  # the same expression element by element around NumPy's exp (same bits)
        e1, e2 = np.empty_like(fus), np.empty_like(fus)
    for src in srcs:
        g_s, a_s = source_maps(src)
        if k is None:
            nume += _edge_preservation(g_s, a_s, g_f, a_f) * g_s
            deno += g_s
            continue
        k.qabf_args(g_s, a_s, g_f, a_f, _KG, _DG, _KA, _DA, e1, e2)
        with np.errstate(over="ignore"):
            np.exp(e1, out=e1)
            np.exp(e2, out=e2)
        k.qabf_accumulate(e1, e2, g_s, _TG, _TA, nume, deno)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(nume) / np.sum(deno))


def qabf_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """CDDFuse ``Evaluator.Qabf`` emulated in float32 (the dtype its scripts pass), N sources.

    Same definition as :func:`qabf_xydeas`; every array is float32 and the final sums are NumPy float32
    pairwise sums, so values differ from the float64 reference by ~1e-7 relative.
    """
    srcs, fus = check_inputs(sources, fused, metric="Qabf (CDDFuse)", min_n=2)
    g_f, a_f = _grad_angle_f32(fus)
    terms_q, terms_g = [], []
    for src in srcs:
        g_s, a_s = (_source_grad_angle_f32 if _frozen_owner(src) else _grad_angle_f32)(src)
        # g_f/g_s where g_s > g_f, g_f where equal, g_s/g_f where less, 0 where unordered (NaN): the
        # reference's three masked assignments into zeros, element by element the same float32 values
        with np.errstate(divide="ignore", invalid="ignore"):
            zero = np.float32(0)
            strength = np.where(
                g_s > g_f, g_f / g_s, np.where(g_s == g_f, g_f, np.where(g_s < g_f, g_s / g_f, zero))
            )
        orient = 1 - np.abs(a_s - a_f) / (math.pi / 2)
        q = (0.9994 / (1 + np.exp(-15 * (strength - 0.5)))) * (0.9879 / (1 + np.exp(-22 * (orient - 0.8))))
        terms_q.append(np.multiply(q, g_s))
        terms_g.append(g_s)
    deno = np.sum(sum(terms_g[1:], terms_g[0]))
    nume = np.sum(sum(terms_q[1:], terms_q[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(nume / deno)


def _grad_angle_f32(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CDDFuse's Sobel magnitude and angle of one image, in float32."""
    f32 = np.float32
    img = img.astype(f32)
    sx = conv2_same(img, _H3).astype(f32)  # exact for the 8-bit data the evaluator reads
    sy = conv2_same(img, _H1).astype(f32)
    g = np.sqrt(sx * sx + sy * sy)
    a = np.zeros_like(img)
    nz = sx != 0
    a[~nz] = math.pi / 2
    a[nz] = np.arctan(sy[nz] / sx[nz])
    return g, a


# a source's float32 maps, per scene like the float64 ones (same arrays: no value moves)
_source_grad_angle_f32 = source_memo(read_only_results(_grad_angle_f32), maxsize=8)


_TANG = (
    "Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation/analysis_Qabf.m @ "
    "0e87153be77320e31ef2cabb5820518d2ac56bac"
)
_N_SOURCES = "any: sum over pixels and sources of Q_sF*g_s divided by the sum of g_s"


@register_metric(
    MetricInfo(
        id="qabf",
        name="Qabf",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qabf_tang",
        reference_impl=_TANG,
        n_sources=_N_SOURCES,
        version="1",
        ideal=None,
        notes=(
            "Common Xydeas-Petrovic code (Tang = MEFB = VIFB algorithm), float64, inputs used as given "
            "(scale invariant except through the G = gF-when-equal bug). NaN if all source gradients are 0. "
            "No fixed ideal: because of that bug identical inputs give ~0.975 on 0..255 data, ~0.57 on [0,1]."
        ),
    )
)
def qabf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper: :func:`qabf_xydeas` with scale 1."""
    return qabf_xydeas(sources, fused)


@register_metric(
    MetricInfo(
        id="qabf@vifb",
        cost=3.0,
        name="Qabf (VIFB)",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="Qabf_vifb",
        reference_impl="xingchenzhang/VIFB metrics/metricsQabf.m @ 22b2ea9d91499cc5962d9bdcae9c290270f0fade",
        n_sources=_N_SOURCES,
        version="1",
        ideal=None,
        notes=(
            "VIFB copy: inputs multiplied by 255 (255*im2double of double data), which changes only pixels "
            "where gX == gF (sigmoid(255 g) instead of sigmoid(g)); ~1e-10 from qabf."
        ),
    )
)
def qabf_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper: :func:`qabf_xydeas` with scale 255."""
    return qabf_xydeas(sources, fused, scale=255.0)


@register_metric(
    MetricInfo(
        id="qabf@cddfuse",
        cost=3.0,
        name="Qabf (CDDFuse)",
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id="cddfuse_Qabf",
        reference_impl=(
            "Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py Evaluator.Qabf @ "
            "fd8da1f39d8d403b7343e577bd5a30cba38c7b7b"
        ),
        n_sources=_N_SOURCES,
        version="1",
        ideal=None,
        notes="CDDFuse Python port evaluated in float32 (as its scripts do); ~1e-7 relative from qabf.",
    )
)
def qabf_cdd(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qabf_cddfuse`."""
    return qabf_cddfuse(sources, fused)
