"""qe@liu2020: Piella & Heijmans' edge-dependent fusion quality index Q_E as coded for Yu Liu's 2020 survey.

Re-implemented in NumPy (no code copied) from yuliu316316/MFIF @ 267c081b8f3dd29cc62284463ca1cd16dc9b352a,
``evaluation/objective_metrics/metricPeilla.m`` called as ``metricPeilla(img1,img2,imgf,3)`` (Zheng Liu's
``metricPeilla.m`` "slightly modified by Yu Liu after a careful check according to original publication
[Oct 2019]"; no licence file) with Zhou Wang's ``ssim_index.m``. This is the QE column of the survey's
Tables 6 and 7.

Definition (switch 3). ``ssim_index`` with the survey's arguments: window ``ones(8)/64``, K = [1e-6 1e-6],
L = 255 (so C1 = C2 = 6.5025e-8: SSIM degenerates to Wang-Bovik's UIQI, as in Piella's ICIP 2003 paper),
``filter2 'valid'``. With s_A^2, s_B^2 the local source variances (0.5 added to both where their sum is 0),
``lambda = s_A^2 / (s_A^2 + s_B^2)``, ``c = max(s_A^2, s_B^2) / sum(max(s_A^2, s_B^2))``:

    Q_W(A, B, F) = sum_windows c * (lambda * SSIM(F, A) + (1 - lambda) * SSIM(F, B))
    Q_E = Q_W(A, B, F) * Q_W(A', B', F')      (alpha = 1)

where A', B', F' are edge images: ``sqrt(X^2 + Y^2)`` of ``filter2`` (zero padding) with the Prewitt pair
[1 0 -1; 1 0 -1; 1 0 -1] and [1 1 1; 0 0 0; -1 -1 -1].

Differences from Zheng Liu's original switch 3 (which we do not register): the original used the default
11x11 Gaussian SSIM (K = [0.01 0.03]) and reused the unweighted switch-1 mean as Q; the survey uses the 8x8
box, UIQI-like constants and the saliency-weighted Q_W for both factors. Our ``qs`` is Liu's switch 1.

N sources: lambda_i = s_i^2 / sum_j s_j^2 (1/N where all are 0), c = max_i s_i^2 normalised; for N = 2
exactly the survey's formula.

Flat windows. The guard "0.5 where s_A^2 + s_B^2 == 0" gives such a window the weight c = 0.5, large, so it
matters exactly which windows MATLAB sees as zero-variance. MATLAB's ``filter2`` takes a rank-1 kernel
(``ones(8)/64``) through its separable path with SVD factors that are not exactly 1/8, so a window flat at
grey level v != 0 gets a variance of rounding noise (~1e-12, not 0) and escapes the guard, with a weight of
the same tiny order; only windows flat at level 0 (black borders, zero-gradient areas of the edge images)
are exactly 0 and padded. We compute exactly that: variances of flat windows are 0, the pad applies where
every source is flat at level 0, windows flat in all sources at other levels get weight 0. Measured: with
the pad on every flat window (Octave's exact-zero bits) 36 of the 90 images (the grey pairs g_05, g_06,
which have flat areas) differ from the survey by up to 1.1e-5 relative; with this rule all 90 agree within
1e-13 relative (``tests/test_metrics_liu2020.py``).

Under GNU Octave the survey's code gives other values wherever such windows exist (Octave's ``filter2`` is a
full 2-D kernel: variances of flat windows are exactly 0 at every level, so the guard fires on all of them;
up to 5.1e-5 relative on the Octave golden cases). ``qe_liu2020_value(..., octave_bits=True)`` is that
literal evaluation; it reproduces every Octave golden value within 3e-15 (``tests/test_golden_octave.py``).

Reference: G. Piella, H. Heijmans, "A new quality metric for image fusion", Proc. ICIP 2003, vol. 3,
173-176, doi:10.1109/ICIP.2003.1247209.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics import _structural
from metrics._checks import check_inputs
from metrics._matlab import OctaveWindow, filter2_same
from metrics._memo import _frozen_owner, flat_windows, freeze, source_memo
from metrics._provenance import YULIU2020, impl
from metrics._structural import local_moments

_BOX8 = OctaveWindow(8, None, renormalize=True)
_C = (1e-6 * 255.0) ** 2  # C1 = C2 = (K * L)^2 with K = 1e-6, L = 255
_PREWITT_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_PREWITT_Y = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]])


def _msum(x: np.ndarray) -> float:
    """MATLAB ``sum(sum(x))``: column sums, then their sum."""
    return float(np.sum(np.sum(x, axis=0)))


def weighted_q(sources: Sequence[np.ndarray], f: np.ndarray, *, octave_bits: bool = False) -> float:
    """Piella's saliency-weighted index Q_W (survey coding) of the fused image ``f``.

    Local variances of windows where a source is exactly flat are taken as 0; the survey's guard (0.5
    added to every variance where their sum is exactly 0) fires only where all sources are flat at grey
    level 0, because MATLAB's separable ``filter2`` leaves rounding noise (not 0) in windows flat at any
    other level (see the module docstring). Windows flat in every source at non-zero levels get weight 0.
    ``octave_bits=True`` evaluates the code literally with Octave's ``filter2`` bits instead (full 2-D
    kernel: every exactly flat window has variance exactly 0, so the guard fires on all of them): what
    the Octave reference harness computes (``tests/test_golden_octave.py``), not what MATLAB gives.
    """
    lams, cw = _source_weights(sources, octave_bits)
    return _weighted_q_fused(sources, f, lams, cw)


def _source_weights(sources: Sequence[np.ndarray], octave_bits: bool) -> tuple[tuple, np.ndarray]:
    """The sources-only part of :func:`weighted_q`: per source ``lambda_i`` (its share of the summed local
    variances, 1/N where every source is flat at a non-zero level) and the normalised saliency ``c``."""
    variances, zero_flat = [], []
    for s in sources:
        _, vs = _source_moments(s)
        if octave_bits:
            variances.append(vs)
            continue
        flat = flat_windows(s, _BOX8.n)
        variances.append(np.where(flat, 0.0, vs))
        zero_flat.append(flat & (s[: flat.shape[0], : flat.shape[1]] == 0))
    if octave_bits:
        pad = (np.sum(variances, axis=0) == 0) * 0.5
    else:
        pad = np.logical_and.reduce(zero_flat) * 0.5
    variances = [v + pad for v in variances]
    total = np.sum(variances, axis=0)
    n = len(variances)
    none = total == 0  # flat in every source at non-zero levels: MATLAB weight ~1e-12, lambda noise
    safe = np.where(none, 1.0, total)
    lams = tuple(np.where(none, 1.0 / n, v / safe) for v in variances)
    cw = np.max(variances, axis=0)
    cw = cw / _msum(cw)
    return lams, cw


def _source_moments(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma^2)`` of a source over the 8x8 windows: the very arrays ``local_moments(f, s)`` gives
    for its second image (exact values on the source's flat windows, no others).

    For a frozen source they come from (and go into) ``metrics._structural``'s per-image moments memo, which
    ``local_moments(f, s)`` reads for every fused image: computed once per scene, not twice. Without that
    helper (a private name of another module) the same formula is evaluated here: same values.
    """
    flat = flat_windows(s, _BOX8.n)
    image_moments = getattr(_structural, "_image_moments", None)
    if image_moments is not None and _frozen_owner(s):
        return image_moments(s, _BOX8, flat)
    ms = _BOX8.filter_valid(s, flat)
    return ms, _BOX8.filter_valid(s * s, flat) - ms * ms


def _weighted_q_fused(sources: Sequence[np.ndarray], f: np.ndarray, lams, cw) -> float:
    """The fused-image part of :func:`weighted_q`: ``sum(c .* sum_i lambda_i SSIM(F, A_i))``."""
    local = None
    for s, lam in zip(sources, lams, strict=True):
        # ssim_index(fuse, img_i): mu1/sigma1 belong to the fused image
        mf, ms, vf, vs, cov = local_moments(f, s, _BOX8)
        m = ((2 * mf * ms + _C) * (2 * cov + _C)) / ((mf * mf + ms * ms + _C) * (vf + vs + _C))
        term = lam * m
        local = np.zeros_like(term) + term if local is None else local + term
    return _msum(cw * local)


def _edges(img: np.ndarray) -> np.ndarray:
    gx = filter2_same(_PREWITT_X, img)
    gy = filter2_same(_PREWITT_Y, img)
    return np.sqrt(gx * gx + gy * gy)


def _source_side_compute(*srcs: np.ndarray) -> tuple:
    """Everything of Q_E that depends on the sources only (survey rule, not ``octave_bits``): the sources'
    Prewitt edge images (frozen, so their window moments are shared too) and the weights of
    :func:`_source_weights` for the images and for the edge images. Memoised per set of sources
    (:data:`_source_side`): every fused image of a scene reuses it; the same arrays as inline."""
    edges = tuple(freeze(_edges(s)) for s in srcs)
    out = (edges, _source_weights(srcs, False), _source_weights(edges, False))
    for lams, cw in out[1:]:
        for a in (*lams, cw):
            a.setflags(write=False)
    return out


_source_side = source_memo(_source_side_compute, maxsize=4)


def qe_liu2020_value(sources: Sequence[np.ndarray], fused: np.ndarray, *, octave_bits: bool = False) -> float:
    """Q_E of the survey: ``Q_W`` of the images times ``Q_W`` of their Prewitt edge images.

    ``octave_bits``: see :func:`weighted_q` (the survey's code as Octave runs it; golden tests only).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.add.outer(np.arange(20.0), np.arange(20.0) ** 2) % 251
    >>> round(qe_liu2020_value([a, a], a), 9)
    1.0
    """
    srcs, f = check_inputs(sources, fused, min_n=2, metric="qe@liu2020")
    if octave_bits:
        q_img = weighted_q(srcs, f, octave_bits=True)
        return q_img * weighted_q([_edges(s) for s in srcs], _edges(f), octave_bits=True)
    edges, (lams, cw), (lams_e, cw_e) = _source_side(*srcs)
    q_img = _weighted_q_fused(srcs, f, lams, cw)
    return q_img * _weighted_q_fused(edges, freeze(_edges(f)), lams_e, cw_e)


@register_metric(
    MetricInfo(
        id="qe@liu2020",
        cost=8.0,
        name="QE (Piella edge-dependent, Liu 2020 survey)",
        higher_is_better=True,
        range=(-1.0, 1.0),
        reference_id="",
        reference_impl=impl(
            YULIU2020, "evaluation/objective_metrics/metricPeilla.m", "metricPeilla(A,B,F,3) + ssim_index.m"
        ),
        n_sources="any >= 2: variance-share weights and max-variance saliency over all sources",
        version="1",
        ideal=1.0,
        notes=(
            "Q_E = Q_W(A,B,F) * Q_W(A',B',F') (alpha 1), Q_W saliency-weighted (max local variance) sum of "
            "lambda*SSIM(F,A)+(1-lambda)*SSIM(F,B); SSIM with an 8x8 box window, K=[1e-6 1e-6], L=255, "
            "'valid'; edge images from the Prewitt pair (filter2, zero padding). Inputs 0..255. Checked "
            "against the survey's per-image QE values: 90/90 within 1e-9 relative."
        ),
    )
)
def qe_liu2020(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qe_liu2020_value` (NaN when every window is flat: weights 0/0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return qe_liu2020_value(sources, fused)
