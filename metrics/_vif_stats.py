"""Private: per-scale statistics of Sheikh & Bovik's pixel-domain VIF (``vifp_mscale.m``).

Shared by ``metrics/vif.py`` (Sheikh-Bovik VIF, summed over sources) and ``metrics/viff.py`` (Han et al.'s
VIFF, which keeps the per-pixel maps). Re-implemented in NumPy (no code copied) from the LIVE
``vifp_mscale.m`` (c) 2005 The University of Texas at Austin (permissive LIVE licence: use, copy, modify
and distribute with the copyright notice and acknowledgement), as shipped in
Linfeng-Tang/Evaluation-for-Image-Fusion @ 0e87153be77320e31ef2cabb5820518d2ac56bac
``Evaluation/vifp_mscale.m`` and, in Han's variant, xingchenzhang/MEFB @
9e185bf88de280b12a2d9a2ff12d66e40bc1ff91 ``metrics/metricsVIF.m`` (``ComVidVindG``).

At scale s = 1..4 a Gaussian window of side N = 2^(5-s)+1 and sigma N/5 (``fspecial``, not renormalised);
from scale 2 on both images are first filtered with it (``filter2 'valid'``) and every second row and column
kept (starting with the first); local statistics by ``filter2 'valid'`` with the clamps of the original
code. Octave's exact rounding is reproduced on exactly-flat windows (see ``metrics._structural``) and, where
a flat reference window's noise variance escapes the 1e-10 clamp, on the covariance there.

For frozen inputs (as the runner and ``bench score`` pass them) the four scales' statistics of a
(reference, distorted) pair are memoised (``vif``, its variants and ``viff`` ask for the same pairs), and
so is each image's pyramid (frozen, so that the window statistics of scales 2-4 hit the
:func:`metrics._structural.local_moments` and flat-window memos: a source's pyramid and moments are
computed once per scene). Same arrays as computed the first time: no value moves.
"""

from __future__ import annotations

import numpy as np

from metrics._jit import kernels
from metrics._matlab import OctaveWindow
from metrics._memo import _frozen_owner, derived_key, flat_windows, freeze, memoize_images, source_memo
from metrics._structural import local_moments

_WINDOWS = [OctaveWindow(2 ** (5 - s) + 1, (2 ** (5 - s) + 1) / 5.0) for s in range(1, 5)]
_TOL = 1e-10


def _pyramid_compute(img: np.ndarray) -> tuple[np.ndarray, ...]:
    """The image at the four scales (scale s > 1: filtered with scale s's window, every 2nd row/column)."""
    out = [img]
    for s, win in enumerate(_WINDOWS[1:], start=2):
        img = derived_key(freeze(win.filter_valid(img)[::2, ::2]), f"vif-scale{s}", out[0])
        out.append(img)
    return tuple(out)


_pyramid = memoize_images(_pyramid_compute, maxsize=8)


def _stats_compute(ref: np.ndarray, dist: np.ndarray) -> tuple:
    out = tuple(_scale_stats(ref, dist))
    for maps in out:
        for a in maps:
            a.setflags(write=False)
    return out


_stats = memoize_images(_stats_compute, maxsize=4)


def vif_scale_stats(ref: np.ndarray, dist: np.ndarray):
    """``(g, sigma1_sq, sv_sq)`` maps for the four scales, after the reference code's clamps.

    Read-only (memoised) when both inputs are frozen; an iterator of fresh arrays otherwise.

    Raises
    ------
    ValueError
        If the image is too small for the four scales (side < 41 px).
    """
    if min(ref.shape) < 41:
        raise ValueError(f"VIF needs images of at least 41x41 pixels (4 scales), got {ref.shape}")
    if _frozen_owner(ref) and _frozen_owner(dist):
        return _stats(ref, dist)
    return _scale_stats(ref, dist)


def _scale_stats(ref: np.ndarray, dist: np.ndarray):
    frozen = _frozen_owner(ref) and _frozen_owner(dist)
    refs = _pyramid(ref) if frozen else None
    dists = _pyramid(dist) if frozen else None
    for s, win in enumerate(_WINDOWS, start=1):
        if frozen:
            ref, dist = refs[s - 1], dists[s - 1]
        elif s > 1:
            ref = win.filter_valid(ref)[::2, ::2]
            dist = win.filter_valid(dist)[::2, ::2]
        mx, _, s1, s2, s12 = local_moments(ref, dist, win)
        # Where the reference is exactly flat but Octave's rounding noise leaves s1 >= 1e-10 (no clamp), the
        # code's g = s12 / (s1 + 1e-10) is a ratio of two rounding residues: s12 then needs Octave's exact
        # bits too (found by the Octave golden cases: g06 256x256, VIFF off by 2e-7 before).
        noisy = flat_windows(ref, win.n) & (s1 >= _TOL)
        if noisy.any():
            noisy &= ~flat_windows(dist, win.n)  # both flat: s12 is already exact
            r, c = np.nonzero(noisy)
            s12 = s12.copy()  # local_moments' maps are read-only when memoised
            s12[r, c] = win.exact_at(ref * dist, r, c) - mx[r, c] * win.exact_at(dist, r, c)
        yield _clamp(s1, s2, s12)


def _ref_variances_compute(ref: np.ndarray) -> tuple[np.ndarray, ...]:
    """The clamped reference variance of every scale (``sigma1_sq`` of :func:`vif_scale_stats`), read-only.

    It depends on the reference alone: the reference's own local variance (the memoised per-image maps of
    :func:`metrics._structural.local_moments`), 0 below the 1e-10 tolerance (the clamps' ``s1`` output).
    """
    from metrics._structural import _own_moments

    out = []
    for x, win in zip(_pyramid(ref), _WINDOWS, strict=True):
        s1 = _own_moments(x, win, flat_windows(x, win.n), None)[1]
        s1c = np.where(s1 < _TOL, 0.0, s1)
        s1c.setflags(write=False)
        out.append(s1c)
    return tuple(out)


#: per scene: a source's (the reference's) clamped variances, for the information it carries (VIF's
#: denominator, VIFF's ``vind``), which do not depend on the fused image (frozen references only)
ref_variances = source_memo(_ref_variances_compute, maxsize=8)


def _clamp(s1: np.ndarray, s2: np.ndarray, s12: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g, sigma1_sq, sv_sq)`` after the reference code's clamps (compiled: one pass, the same bits)."""
    k = kernels("structural")
    if k is not None:
        g, sv, s1c = k.vif_clamp(s1, s2, s12, _TOL, *(np.empty(np.shape(s1)) for _ in range(3)))
        return g, s1c, sv
    s1 = np.where(s1 < 0, 0.0, s1)
    s2 = np.where(s2 < 0, 0.0, s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = s12 / (s1 + _TOL)
        sv = s2 - g * s12
    low1 = s1 < _TOL
    clamp_gain_noise(g, sv, s1, s2, _TOL)
    s1[low1] = 0.0
    return g, s1, sv


def clamp_gain_noise(g: np.ndarray, v: np.ndarray, sx: np.ndarray, sy: np.ndarray, tol: float) -> None:
    """In place, the clamps that ``vifp_mscale.m`` and ``ifcvec.m``'s ``distsub_est_m`` share (the NumPy
    form of :func:`metrics._kernels_structural.gain_noise_clamp`): ``sx < tol``: g 0, v sy; ``sy < tol``:
    g 0, v 0; ``g < 0``: v sy, g 0; ``v <= tol``: v tol (in that order)."""
    low = sx < tol
    g[low] = 0.0
    v[low] = sy[low]
    low = sy < tol
    g[low] = 0.0
    v[low] = 0.0
    neg = g < 0
    v[neg] = sy[neg]
    g[neg] = 0.0
    v[v <= tol] = tol
