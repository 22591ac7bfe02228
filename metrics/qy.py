"""Qy: Yang, Zhang, Wang & Liu (2008) SSIM-based fusion quality, in the two published codings.

Ported (re-implemented in NumPy, no code copied) from:

* zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, ``metricYang.m``
  (Zheng Liu's toolbox; no licence file) -> ``qy@liu``: NaN as soon as both sources are exactly flat over a
  7x7 window (the weight is 0/0 there and ``mean2`` propagates it);
* xingchenzhang/MEFB @ 9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, ``metrics/metricsQy.m`` (the same code,
  NaN entries of the quality map dropped before averaging) -> ``qy@mefb``;
* the MEFB coding evaluated in exact arithmetic -> ``qy`` (the id to rank with).

Why ``qy`` is the exact-arithmetic MEFB coding: MEFB is identical to Liu's wherever Liu's is defined (all
20 non-NaN reference cases agree to the last digit) and does not turn a whole image into NaN because of
one flat window, which real multi-focus pairs have (2 of 6 Lytro pairs in the reference set give NaN
under Liu's code). But on windows flat in both sources the reference codes see ~1e-12 rounding noise
instead of zero variance, and the weight noise/noise is arbitrary: on Lytro pairs fused by LP we measured
per-window values up to 3e5 and image means of 56 (lytro-04). ``qy`` zeroes those moments as real
arithmetic does; it equals ``qy@mefb`` on every image without exactly flat windows.

SESF-Fuse/GACN tables used Liu's ``metricYang`` with 1e-10 added to its denominators by the authors
(``shared/docs/methods.md`` 8.2): that reconstruction is ``qy@sesf`` in ``metrics/qy_sesf.py``.

References
----------
C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for image fusion",
Information Fusion 9(2):156-160, 2008. doi:10.1016/j.inffus.2006.09.001
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._jit import kernels
from metrics._matlab import OctaveWindow
from metrics._memo import _frozen_owner, flat_windows, memoize_images, source_memo
from metrics._structural import local_moments, ssim_formula

_G7 = OctaveWindow(7, 1.5, renormalize=True)
_C = 2e-16  # C1 = C2 in Liu's ssim_yang: practically no stabilisation


def _moments(x: np.ndarray, y: np.ndarray) -> tuple:
    # exact bits also where only one image is flat: there a variance is pure noise that the weight
    # var_A / (var_A + var_B) divides by (Octave golden g03_480x640_blurA: one window gave inf, Octave finite)
    return local_moments(x, y, _G7, exact_near_flat=True)


# the sources' pair (A, B) comes back for every fused image of a scene: kept in the source budget
_source_moments = source_memo(_moments, maxsize=4)


def _ssim_yang(x: np.ndarray, y: np.ndarray, exact: bool = False, *, sources: bool = False):
    """Liu's ``ssim_yang``: 7x7 Gaussian (sigma 1.5) SSIM map with C1 = C2 = 2e-16, plus both variances.

    With ``exact=True`` the second moments of exactly flat windows are set to the exact zero that real
    arithmetic gives (the reference code leaves ~1e-12 rounding noise there, see :func:`qy_map`).
    ``sources=True``: both are sources (their moments are memoised per scene).
    """
    mx, my, sxx, syy, sxy = (_source_moments if sources else _moments)(x, y)
    if exact:
        fx, fy = flat_windows(x, 7), flat_windows(y, 7)
        sxx = np.where(fx, 0.0, sxx) if fx.any() else sxx
        syy = np.where(fy, 0.0, syy) if fy.any() else syy
        sxy = np.where(fx | fy, 0.0, sxy) if fx.any() or fy.any() else sxy
    return ssim_formula(mx, my, sxx, syy, sxy, _C, _C), sxx, syy


def _source_side_compute(a: np.ndarray, b: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(SSIM(A,B) >= 0.75, lambda = var_A / (var_A + var_B))``: the part of :func:`qy_map` that depends
    on the sources only (read-only)."""
    s_ab, va, vb = _ssim_yang(a, b, exact, sources=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = s_ab >= 0.75, va / (va + vb)
    for arr in out:
        arr.setflags(write=False)
    return out


# ... and so is that part, for every fused image of a scene (same arrays: no value moves)
_SOURCE_SIDE = {
    exact: source_memo(lambda a, b, exact=exact: _source_side_compute(a, b, exact), maxsize=4)
    for exact in (False, True)
}


def qy_map(a: np.ndarray, b: np.ndarray, f: np.ndarray, exact: bool = False) -> np.ndarray:
    """Yang's local quality map (valid size ``(H-6) x (W-6)``); NaN where both sources are flat.

    ``q = lambda*SSIM(A,F) + (1-lambda)*SSIM(B,F)`` where ``SSIM(A,B) >= 0.75``, else
    ``max(SSIM(A,F), SSIM(B,F))``; ``lambda = var_A / (var_A + var_B)`` (0/0 = NaN on flat windows).

    With ``exact=False`` (the reference codes) a window that is flat in both sources has variances of
    pure rounding noise (~1e-12, sign and size depending on the grey level), so lambda and the SSIM terms
    there are arbitrary and can reach 1e5 (seen on Lytro pairs fused by LP). ``exact=True`` computes what
    real arithmetic gives: zero second moments on flat windows, so lambda is 0/0 (dropped) where both
    sources are flat, exactly 0 or 1 where one is.
    """
    if _frozen_owner(a) and _frozen_owner(b):
        similar, lam = _SOURCE_SIDE[bool(exact)](a, b)
    else:
        similar, lam = _source_side_compute(a, b, exact)
    s_af, _, _ = _ssim_yang(a, f, exact)
    s_bf, _, _ = _ssim_yang(b, f, exact)
    # MATLAB multiplies both branches by the 0/1 mask and adds them, so a NaN weight poisons the pixel
    # whichever branch applies (NaN * 0 = NaN); reproduce that, not a np.where.
    k = kernels("structural")
    if k is not None:  # the same expression in one compiled pass (same bits)
        return k.qy_combine(lam, similar, s_af, s_bf, np.empty(s_af.shape))
    with np.errstate(invalid="ignore"):
        q1 = (lam * s_af + (1 - lam) * s_bf) * similar
        q2 = np.maximum(s_af, s_bf) * ~similar
    return q1 + q2


@memoize_images
def _qy_means(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """(plain mean, mean of the non-NaN entries) of :func:`qy_map` as the reference codes compute it."""
    q = qy_map(a, b, f)
    plain = float(np.mean(q))
    q = q[~np.isnan(q)]
    return plain, (float(np.mean(q)) if q.size else float("nan"))


def qy_liu(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Liu's ``metricYang``: plain mean of :func:`qy_map` (NaN if any window is NaN)."""
    return _qy_means(a, b, f)[0]


def qy_mefb(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """MEFB ``metricsQy``: mean of the non-NaN entries of :func:`qy_map`.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(16.0), (16, 1)) * 8
    >>> round(qy_mefb(a, a, a), 12)
    1.0
    """
    return _qy_means(a, b, f)[1]


@memoize_images
def qy_exact(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """MEFB's Qy in exact arithmetic: flat windows get zero second moments, NaN windows are dropped.

    Equal to :func:`qy_mefb` on every image without a 7x7 window that is exactly flat in a source; always
    within [-1, 1] (up to the 2e-16 constants).
    """
    q = qy_map(a, b, f, exact=True)
    q = q[~np.isnan(q)]
    return float(np.mean(q)) if q.size else float("nan")


_IMPL_LIU = "zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273, metricYang.m"
_IMPL_MEFB = "xingchenzhang/MEFB @ 9e185bf88de280b12a2d9a2ff12d66e40bc1ff91, metrics/metricsQy.m"
_COMMON = (
    "7x7 Gaussian (sigma 1.5) SSIM maps with C1=C2=2e-16, filter2 'valid'; threshold 0.75 on SSIM(A,B); "
    "lambda = var_A/(var_A+var_B). Not scale invariant in the last digits (the 2e-16 constants)."
)


@register_metric(
    MetricInfo(
        id="qy@mefb",
        name="Qy (MEFB)",
        higher_is_better=True,
        range=(None, None),
        reference_id="Qy_mefb",
        reference_impl=_IMPL_MEFB,
        n_sources="2 (definition compares two sources)",
        max_sources=2,
        version="1",
        ideal=1.0,
        notes=(
            _COMMON + " MEFB coding, reproduced bit for bit: windows whose weight is NaN are dropped "
            "before averaging. On windows exactly flat in both sources the variances are ~1e-12 rounding "
            "noise, not 0, so such windows are kept with arbitrary values (up to 1e5 on real pairs): the "
            "value can leave [-1, 1]. Use qy for rankings."
        ),
    )
)
def qy_at_mefb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qy (MEFB coding, as the reference computes it)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qy@mefb")
    return qy_mefb(a, b, f)


@register_metric(
    MetricInfo(
        id="qy",
        cost=4.0,
        name="Qy",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="",
        reference_impl=_IMPL_MEFB + " (in exact arithmetic)",
        n_sources="2 (definition compares two sources)",
        max_sources=2,
        version="3",
        ideal=1.0,
        notes=(
            _COMMON + " The MEFB coding (qy@mefb) evaluated in exact arithmetic: second moments of "
            "exactly flat 7x7 windows are 0, as real arithmetic gives, instead of MATLAB's ~1e-12 rounding "
            "noise; windows flat in both sources (weight 0/0) are dropped. Equals qy@mefb (reference "
            "Qy_mefb) on images without flat windows and stays in [-1, 1]. SESF/GACN tables used "
            "metricYang with an unpublished +1e-10 edit: qy@sesf."
        ),
    )
)
def qy(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qy (MEFB coding in exact arithmetic; the id to rank with)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qy")
    return qy_exact(a, b, f)


@register_metric(
    MetricInfo(
        id="qy@liu",
        name="Qy (Liu, NaN on flat)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="Qy_liu",
        reference_impl=_IMPL_LIU,
        n_sources="2 (definition compares two sources)",
        max_sources=2,
        version="1",
        notes=(
            _COMMON + " Liu's coding: NaN whenever both sources are exactly flat over a 7x7 window "
            "(saturated areas); use qy for rankings."
        ),
    )
)
def qy_at_liu(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Qy (Liu's metricYang, NaN on flat windows)."""
    (a, b), f = check_inputs(sources, fused, n=2, metric="qy@liu")
    return qy_liu(a, b, f)
