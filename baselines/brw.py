"""BRW: boosted random walks with two-scale focus maps (Ma, Zhou, Wang, Miao, Zong 2019), N >= 2 serial.

Port (our own code) of the authors' MATLAB release, read from github.com/JinleiMa/Twoscale-Fusion @
cd43e5aa57dc8698897efa66928cb9b063fba4fb, files ``Script_BoostedRandomWalk.m``, ``TwoScale_Fusion.m``,
``Multiscale_ST.m``, ``GradientMethod.m``, ``WeightGradient.m``, ``Multiscale_Guided.m``,
``guidedfilter.m``, ``boxfilter.m``, ``weight_h.m``, ``FGS.m`` and ``mexFGS_simple.cpp`` (Min et al.'s
fast global smoother). Licence: "free for research purposes" (its readme); nothing is copied. The
survey (Liu et al. 2020) lists this code for its BRW column; the boosted variant (``TwoScale_Fusion``,
Section 2.3 of the paper) is the one ported here.

Pipeline for a pair ``I1, I2`` in [0, 1] (gray ``G_k`` = MATLAB ``rgb2gray`` on doubles):

1. two-scale focus maps: backward-difference gradients (``GradientMethod 'zhou'``, frame set to 0),
   structure-tensor saliency ``sqrt((s1+s2)^2 + 0.5 (s1-s2)^2)`` (``s`` = square roots of the
   eigenvalues of the tensor smoothed by ``fspecial('gauss', ceil(6 sigma) odd, sigma)``, symmetric
   border) at sigma 3 and 8; ``map_s = [w1 > w2]``;
2. He's guided filter of each binary map with guide ``G1`` (r = 5, eps = 0.01 for sigma 3; r = 11,
   eps = 0.01 for sigma 8);
3. seeds ``h_s`` (``weight_h.m``): 256-bin ``imhist`` of the guided map with its two most populated bins
   emptied; a pixel is a seed (``h = 1``) outside the central ``alpha`` share of the remaining
   histogram mass (alpha 0.9 / 0.8). As in ``weight_h.m``, the upper bound of the second map is taken
   from the *first* map's histogram;
4. sparse data interpolation (the boosted random walk's fast solver): ``x1 = FGS(h1) / FGS(h1 + h2)``
   with Min et al.'s fast global smoother (guide ``uint8(255 G1)``, sigma 0.02, lambda 300, 3
   iterations, attenuation 4: alternating 1-D weighted-least-squares solves along rows then columns,
   range kernel ``exp(-|dI| / (255 sigma))``; the tridiagonal Thomas recursion is reproduced operation
   for operation, vectorised across lines);
5. focus map ``M = map1_guided`` where ``x1 >= 1 - x1``, then ``map2_guided`` where ``1 - x1 >= x1``
   (the later assignment wins on ties); ``F = M I1 + (1 - M) I2`` per channel (not clipped; the MATLAB
   script's result is written as 8-bit by the survey).

N > 2: serial ``((I1 + I2) + I3) + ...`` (the original fuses pairs). Decision map: expected source index
/ (N - 1) carried through the serial folds (for N = 2: ``1 - M``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines._guided_filter import guided_filter
from baselines._matlab_compat import CompactSources, gradient_zhou, rgb2gray, smooth_symmetric
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo


def saliency(dx: np.ndarray, dy: np.ndarray, sigma: float, alpha: float = 0.5) -> np.ndarray:
    """``WeightGradient`` ('eigdecxq' measure ``wt``): structure-tensor saliency at one scale."""
    return _saliency_of([dx, dy], sigma, alpha)


def _saliency_of(d: list, sigma: float, alpha: float = 0.5) -> np.ndarray:
    """:func:`saliency` of the gradients in the list ``d = [dx, dy]``, which it empties (frees) on the way.

    The same operations as the one-line form; each smoothed product is made and filtered on its own and
    every temporary is dropped as soon as it is used (the memory peak of a 24 MP image).
    """
    dx, dy = d
    d.clear()
    dxx = smooth_symmetric(dx * dx, sigma)
    dxy = smooth_symmetric(dx * dy, sigma)
    del dx
    dyy = smooth_symmetric(dy * dy, sigma)
    del dy
    b = -(dxx + dyy)
    c = dxx * dyy - dxy * dxy
    del dxx, dxy, dyy
    disc = b * b - 4 * c
    del c
    disc = np.sqrt(np.maximum(disc, 0.0, out=disc), out=disc)  # MATLAB: a tiny negative gives ~0 after abs()
    s1 = np.sqrt(np.abs((-b + disc) / 2))
    s2 = np.sqrt(np.abs((-b - disc) / 2))
    del b, disc
    out = (s1 + s2) ** 2
    s1 -= s2
    del s2
    out += alpha * s1**2
    return np.sqrt(out, out=out)


def imhist256(x: np.ndarray) -> np.ndarray:
    """MATLAB ``imhist`` of a double image (256 bins centred on k/255; values outside [0, 1] clamp)."""
    idx = np.clip(np.floor(x * 255.0 + 0.5), 0, 255).astype(np.int64)
    return np.bincount(idx.ravel(), minlength=256).astype(np.float64)


def _bound(hist: np.ndarray, share: float) -> float:
    """First 1-based bin whose cumulative count reaches ``sum * share``, divided by 256."""
    cc = np.cumsum(hist) - hist.sum() * share
    return (int(np.flatnonzero(cc >= 0)[0]) + 1) / 256.0


def _trimmed(hist: np.ndarray) -> np.ndarray:
    """The histogram with its two most populated bins set to 0 (``sort`` is stable, as MATLAB's)."""
    out = hist.copy()
    out[np.argsort(hist, kind="stable")[-2:]] = 0
    return out


def seeds(map1: np.ndarray, map2: np.ndarray, alpha1: float, alpha2: float) -> tuple[np.ndarray, np.ndarray]:
    """``weight_h.m``: seed indicators ``h1, h2`` of the two guided focus maps (float 0/1)."""
    n1 = _trimmed(imhist256(map1))
    n2 = _trimmed(imhist256(map2))
    lo1, up1 = _bound(n1, (1 - alpha1) / 2), _bound(n1, (1 + alpha1) / 2)
    lo2, up2 = _bound(n2, (1 - alpha2) / 2), _bound(n1, (1 + alpha2) / 2)  # n1: as weight_h.m
    m1, m2 = np.maximum(map1, 0.0), np.maximum(map2, 0.0)
    h1 = ((m1 < lo1) | (m1 > up1)).astype(np.float64)
    h2 = ((m2 < lo2) | (m2 > up2)).astype(np.float64)
    return h1, h2


def _thomas(x: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    """In-place tridiagonal solve along the last axis, ``solve_tridiagonal_in_place_destructive`` order.

    ``x``: K x L x N right-hand sides; ``a, b, c``: L x N sub-, main and super-diagonals (``c`` is
    overwritten). Vectorised across the K x L lines, sequential along N like the C loop.
    """
    n = x.shape[-1]
    c[:, 0] = c[:, 0] / b[:, 0]
    x[..., 0] = x[..., 0] / b[:, 0]
    for k in range(1, n):
        m = 1.0 / (b[:, k] - a[:, k] * c[:, k - 1])
        c[:, k] = c[:, k] * m
        x[..., k] = (x[..., k] - a[:, k] * x[..., k - 1]) * m
    for k in range(n - 2, -1, -1):
        x[..., k] = x[..., k] - c[:, k] * x[..., k + 1]


def _wls_pass(x: np.ndarray, guide: np.ndarray, lam: float, sigma255: float) -> None:
    """One 1-D WLS pass along the last axis of ``x`` (K x L x N), weights from ``guide`` (L x N)."""
    diff = np.diff(guide, axis=-1) ** 2  # integer-valued squared differences of the 8-bit guide
    a = np.zeros(guide.shape)
    a[:, 1:] = -lam * np.exp(-np.sqrt(diff) / sigma255)
    del diff
    c = np.zeros(guide.shape)
    c[:, :-1] = a[:, 1:]
    b = 1.0 - a - c
    _thomas(x, a, b, c)


def fgs(
    img: np.ndarray,
    guide: np.ndarray,
    sigma: float,
    lam: float = 300.0,
    iters: int = 3,
    attenuation: float = 4.0,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    """Min et al.'s fast global smoother (``mexFGS_simple``) of K x H x W inputs with an H x W guide.

    ``guide`` holds 0..255 values; ``sigma`` is in [0, 1] units (multiplied by 255 as the mex does).
    ``overwrite``: ``img`` (a C-contiguous float64 array) may be used as the work buffer and returned.
    """
    if overwrite and isinstance(img, np.ndarray) and img.dtype == np.float64 and img.flags.c_contiguous:
        out = img
    else:
        out = np.array(img, dtype=np.float64, copy=True)
    g = np.asarray(guide, dtype=np.float64)
    s255 = sigma * 255.0
    lam_in = 1.5 * lam * 4.0 ** (iters - 1) / (4.0**iters - 1.0)
    gt = np.ascontiguousarray(g.T)
    t = np.empty((out.shape[0], out.shape[2], out.shape[1]))  # the column pass's buffer (reused)
    for _ in range(iters):
        _wls_pass(out, g, lam_in, s255)  # each row
        np.copyto(t, out.transpose(0, 2, 1))
        _wls_pass(t, gt, lam_in, s255)  # each column
        np.copyto(out, t.transpose(0, 2, 1))
        lam_in /= attenuation
    return out


def _focus_map(g1: np.ndarray, g2: np.ndarray, sigma: float) -> np.ndarray:
    """``map_s = [w1 > w2]`` at one scale (float64 0/1) from the grays of the pair."""
    w1 = _saliency_of(list(gradient_zhou(g1)), sigma)
    w2 = _saliency_of(list(gradient_zhou(g2)), sigma)
    return (w1 > w2).astype(np.float64)


def brw_pair(g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """``TwoScale_Fusion``: the focus map ``M`` (weight of ``I1``) of a pair from their grays ``g1, g2``.

    Computed one scale at a time and with every temporary freed as soon as used (the gradients are
    recomputed per scale: they are cheap): the same values as the straight form, a third of its peak.
    """
    m1 = guided_filter(g1, _focus_map(g1, g2, 3.0), 5, 1e-2)
    m2 = guided_filter(g1, _focus_map(g1, g2, 8.0), 11, 1e-2)
    h1, h2 = seeds(m1, m2, 0.9, 0.8)
    hs = np.empty((2,) + h1.shape)
    hs[0] = h1
    np.add(h1, h2, out=hs[1])
    del h1, h2
    g8 = np.clip(np.floor(g1 * 255.0 + 0.5), 0, 255)  # uint8(I1 * 255)
    f = fgs(hs, g8, 0.02, overwrite=True)
    del hs, g8
    x1 = f[0] / (f[1] + np.spacing(np.abs(f[1])))
    del f
    x2 = 1.0 - x1
    fmap = np.zeros_like(m1)
    sel1 = x1 >= x2
    fmap[sel1] = m1[sel1]
    del m1
    sel2 = x2 >= x1
    fmap[sel2] = m2[sel2]
    return fmap


def _gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of one float64 HxW(x3) image (the row of :func:`rgb2gray` of a stack)."""
    return rgb2gray(img[None])[0]


def brw(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 sources serially; returns (float64 fused, expected source index per pixel).

    The sources are held compactly (:class:`CompactSources`: the float64 values of ``source_stack``
    made one source at a time when needed), so a 24 MP pair keeps one float64 colour image, not N.
    """
    src = CompactSources(images)
    if min(src.shape[:2]) < 3:
        raise ValueError(f"Expected images of at least 3x3 pixels, got {src.shape[0]}x{src.shape[1]}")
    fused = None  # None: still source 0 (made when the first blend needs it, not held during the pair)
    index = np.zeros(src.shape[:2])
    for k in range(1, len(src)):
        m = brw_pair(_gray(src[0] if fused is None else fused), _gray(src[k]))
        mb = m if len(src.shape) == 2 else m[..., None]
        # fused = mb * fused + (1 - mb) * I_k, in two buffers (the same products and sum)
        nxt = mb * (src[0] if fused is None else fused)
        fused = None
        other = src[k]
        other *= 1.0 - mb
        nxt += other
        del other
        fused = nxt
        del nxt
        index = m * index + (1.0 - m) * k
    return fused, index


@register_method(
    MethodInfo(
        id="brw",
        name="BRW (boosted random walks, two-scale focus maps)",
        paper="J. Ma, Z. Zhou, B. Wang, L. Miao, H. Zong, Multi-focus image fusion using boosted random "
        "walks-based algorithm with two-scale focus maps, Neurocomputing 335 (2019) 9-20. "
        "doi:10.1016/j.neucom.2019.01.048",
        source="github.com/JinleiMa/Twoscale-Fusion @ cd43e5aa, TwoScale_Fusion.m + FGS/mexFGS_simple.cpp "
        "(re-implemented)",
        license="research use only (upstream readme); our code MIT",
        n_image_rule="serial: ((I1 + I2) + I3) + ... (the original fuses pairs)",
        version="1",
        notes="faithful: against the survey's published BRW images (Liu et al. 2020) 100.000 % of pixel "
        "values within 1 grey level on lytro-01, g_05, g_06, g_09, g_10, identical bytes on all five after "
        "uint8 rounding (PSNR inf; benchmarks/agreement_survey.py). Output kept float, clipped to [0, 1].",
        params=(),
    )
)
def fuse(images: Sequence[np.ndarray]) -> FusionResult:
    """Registry entry: :func:`brw` clipped to [0, 1] (decision map = expected source index / (N-1))."""
    fused, index = brw(images)
    n = len(images)
    # ``fused`` and ``index`` are brw's own arrays (stack[0] is the float64 copy): clipped in place
    np.clip(fused, 0.0, 1.0, out=fused)
    index /= n - 1
    np.clip(index, 0.0, 1.0, out=index)
    return FusionResult(fused.astype(np.float32), index.astype(np.float32))
