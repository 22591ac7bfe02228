"""IFC: Sheikh, Bovik & de Veciana (2005) information fidelity criterion (LIVE ``ifcvec.m``).

Re-implemented in NumPy/SciPy (no code copied) from the LIVE release ``ifcvec.m``, ``distsub_est_m.m``,
``refparams_vecgsm.m`` and ``ind2wtree.m`` ((c) 2005 The University of Texas at Austin; use, copy, modify and
distribute with the copyright notice and acknowledgement), as shipped in jbhuang0604/SelfExSR @
8f6dd8c1d20cb7e8792a7177b4f6fd677633f598, ``quant_eval/ifcvec_release/``, with E. P. Simoncelli's
matlabPyrTools ``buildSpyr``/``buildSpyrLevs``/``corrDn`` semantics; the ``sp5Filters`` coefficients are data
in ``metrics/_sp5_filters.json`` (provenance inside).

Algorithm (``ifcvec(reference, distorted)``, float64 in 0..255):

1. 4-level steerable pyramid with sp5 filters (6 orientations) and 'reflect1' borders: ``corrDn`` is a
   correlation with the filter origin at its centre and the image mirrored about its edge pixels
   (SciPy ``mode='mirror'``, OpenCV ``BORDER_REFLECT_101``); the low-pass is subsampled by 2 starting
   with the first pixel.
2. Eight subbands: orientations 1 and 4 of every level. Each is cropped to a multiple of 3.
3. Reference GSM: covariance Cu of all overlapping 3x3 blocks (mean removed, divided by the block count),
   s-field s = v' Cu^-1 v / 9 on the non-overlapping blocks, eigenvalues lambda_j of Cu.
4. Distortion channel at the block centres: box sums over a (2^l+1)^2 window (l = 1, 1, 2, 2, 3, 3, 4, 4
   from the coarsest level), mirrored borders; g = cov/(var_x + 1e-15), sv^2 = (var_y - g cov)/area with the
   code's clamps (note: where var_x < 1e-15, sv^2 takes the un-normalised var_y, as in the code).
5. IFC = sum over subbands, blocks (dropping ceil(2^(l-1)/3) block rows/cols per side) and j of
   log2(1 + g^2 s lambda_j/(sv^2 + 1e-10)), divided by the number of image pixels.

A constant reference makes the block covariance singular: NaN, as MATLAB's ``inv`` gives Inf there.

Where F copies the reference exactly over a region, the regulariser dominates (~60-80 for F = reference)
and sv^2 there is rounding residue: ``(n*mx)*my`` against ``n*(mx*mx)`` (the code's association, kept
here) of the same box sums, either clamped to 1e-15 or a few 1e-14 that moves each block's term by ~1e-3
bits. So the value depends on the last bits of the pyramid coefficients, which we do not reproduce
(``corrDn``'s summation order and folded-filter borders): agreement there is ~1e-7..1e-6 relative, the
reference's own spread (Octave's ifcvec moves by 2.2e-7 on g06_256x256_halfAB and 7.6e-7 on its B-side
when both images are transposed, an exact symmetry of the algorithm). Everywhere else: ~1e-11 or better
(Octave golden cases, ``tests/test_golden_octave.py``).

References
----------
H. R. Sheikh, A. C. Bovik, G. de Veciana, "An information fidelity criterion for image quality assessment
using natural scene statistics", IEEE TIP 14(12):2117-2128, 2005. doi:10.1109/TIP.2005.859389
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from bench.types import MetricInfo
from metrics._jit import kernels
from metrics._matlab import correlate
from metrics._memo import memoize_images, source_memo
from metrics._variants import register_family
from metrics._vif_stats import clamp_gain_noise

_FILTERS = json.loads((Path(__file__).with_name("_sp5_filters.json")).read_text())
_LO0 = np.array(_FILTERS["lo0filt"])
_LOF = np.array(_FILTERS["lofilt"])
_BF = [np.array(b) for b in _FILTERS["bfilts"]]
_LEVELS = 4
_BANDS = (3, 0)  # orientations 4 and 1 (0-based), in ind2wtree's order within a level
_M = 3
_TOL = 1e-15


def _corr(img: np.ndarray, filt: np.ndarray, step2: bool = False) -> np.ndarray:
    """matlabPyrTools ``corrDn(img, filt, 'reflect1')`` without subsampling (odd filters); with ``step2``
    only every second row and column (``[::2, ::2]``) is kept.

    'reflect1' mirrors the image about its edge pixels (OpenCV BORDER_REFLECT_101 = SciPy 'mirror');
    ``corrDn`` folds the filter instead, which is the same sum in another order. For kernels of at most
    7x7 OpenCV's ``filter2D`` (a direct correlation, anchor at the centre) gives the very same values as
    ``scipy.ndimage.correlate``, 3-5x faster; for larger ones it sums via the DFT, which moves values by
    ~1e-13 and, where F copies a source exactly, IFC by ~1e-4 (the clamped noise variance), so the 9x9
    low-pass keeps SciPy's direct sum: :func:`metrics._kernels_ifc.correlate_taps` (same bits, 3-4x
    faster), or SciPy itself without numba.
    """
    if filt.size > 49 and min(img.shape) > max(filt.shape) // 2:  # one mirror reflection covers the pad
        compiled = kernels("ifc")
        if compiled is not None:
            return _corr_compiled(compiled, img, filt, step2)
    out = correlate(img, filt, "mirror")
    return out[::2, ::2] if step2 else out


def _corr_compiled(compiled, img: np.ndarray, filt: np.ndarray, step2: bool = False) -> np.ndarray:
    """SciPy's ``correlate(img, filt, mode='mirror')``, bit for bit, by the compiled tap loop."""
    kh, kw = filt.shape
    py, px = kh // 2, kw // 2
    x = np.ascontiguousarray(img, dtype=np.float64)
    pad = cv2.copyMakeBorder(x, py, py, px, px, cv2.BORDER_REFLECT_101)  # = SciPy mode 'mirror'
    taps = np.abs(filt) > np.finfo(np.float64).eps  # SciPy drops the others
    dy, dx = np.nonzero(taps)
    args = (pad, dy.astype(np.int64), dx.astype(np.int64), filt[taps].astype(np.float64))
    if step2:  # only the kept pixels of [::2, ::2] (the same sums)
        out = np.empty(((img.shape[0] + 1) // 2, (img.shape[1] + 1) // 2))
        compiled.correlate_taps_step2(*args, out)
        return out
    out = np.empty(img.shape)
    compiled.correlate_taps(*args, out)
    return out


@memoize_images
def _steerable_subbands(im: np.ndarray) -> tuple[tuple[np.ndarray, int, np.ndarray, np.ndarray], ...]:
    """The eight subbands ifcvec uses, coarsest level first: ``(band, l, mean, ss)``.

    Each band is cropped to a multiple of 3 (as both ``distsub_est_m`` and ``refparams_vecgsm`` do), ``l``
    is its window exponent, and ``mean`` / ``ss`` are the image-only statistics of ``distsub_est_m`` at the
    block centres (box mean, and the sum of squared deviations ``sum(w.*y.^2) - n*mean.^2`` clamped at 0),
    which are the same whether the image is the reference or the distorted one. Memoised per image (the
    fused image's pyramid and statistics serve every source); the arrays are read-only.
    """
    lo = _corr(im, _LO0)
    per_level = []
    for _ in range(_LEVELS):
        per_level.append([_corr(lo, _BF[b]) for b in _BANDS])
        lo = _corr(lo, _LOF, step2=True)
    out = []
    for k, bands in enumerate(reversed(per_level)):  # coarsest first: l = 1, 2, 3, 4
        lev = k + 1
        win = 2**lev + 1
        n = float(win * win)
        for band in bands:
            h, w = (s // _M * _M for s in band.shape)
            band = band[:h, :w]
            mean = _block_sums(band, win) / n
            # the code's association: sum(win(:)).*mean_x.^2 is n*(m*m) (see _distortion_channel)
            ss = _block_sums(band * band, win) - n * (mean * mean)
            ss[ss < 0] = 0.0
            for a in (band, mean, ss):
                a.setflags(write=False)
            out.append((band, lev, mean, ss))
    return tuple(out)


def _block_sums(img: np.ndarray, w: int) -> np.ndarray:
    """Mirrored-border box sums over w x w windows, at the 3x3 block centres (rows/cols 1, 4, 7, ...).

    OpenCV's ``sepFilter2D`` with ones over the whole image, or the same sums in the same order at the
    centres only (:func:`metrics._kernels_ifc.block_box_sums`, same bits, several times faster).
    """
    r = w // 2
    compiled = kernels("ifc") if min(img.shape) > r else None  # one mirror reflection covers the pad
    if compiled is not None:
        out = np.empty((len(range(1, img.shape[0], _M)), len(range(1, img.shape[1], _M))))
        compiled.block_box_sums(np.asarray(img, dtype=np.float64), r, _M, out)
        return out
    ones = np.ones(w)
    s = cv2.sepFilter2D(np.ascontiguousarray(img), cv2.CV_64F, ones, ones, borderType=cv2.BORDER_REFLECT_101)
    return s[1::_M, 1::_M]


def _gsm_reference(x: np.ndarray):
    """Cu eigenvalues and s-field of ``refparams_vecgsm`` (3x3 vector GSM)."""
    h, w = x.shape
    # the 9 coordinates of every overlapping block, as shifted views (no copy); Cu = E[v v'] - E[v]E[v]'
    # (row-major block order a*3 + b, the same as the non-overlapping blocks below)
    views = [x[a : h - _M + 1 + a, b : w - _M + 1 + b] for a in range(_M) for b in range(_M)]
    nblk = views[0].size
    mean = np.array([v.sum() for v in views]) / nblk
    cu = np.empty((_M * _M, _M * _M))
    for i in range(_M * _M):
        for j in range(i, _M * _M):
            cu[i, j] = cu[j, i] = np.einsum("ij,ij->", views[i], views[j]) / nblk - mean[i] * mean[j]
    nb = x.reshape(h // _M, _M, w // _M, _M).transpose(0, 2, 1, 3).reshape(-1, _M * _M)
    try:
        icu = np.linalg.inv(cu)
    except np.linalg.LinAlgError:
        # MATLAB's inv returns Inf for a singular matrix (e.g. a constant reference), so ifcvec gives NaN
        icu = np.full_like(cu, np.nan)
    ss = np.sum((nb @ icu.T) * nb, axis=1) / (_M * _M)
    lam = np.linalg.eigvalsh((cu + cu.T) / 2)
    return ss.reshape(h // _M, w // _M), lam


def _distortion_channel(x: np.ndarray, y: np.ndarray, lev: int, mx, ssx, my, ssy):
    """``distsub_est_m``: gain g and noise variance vv at the block centres.

    ``mx, ssx`` / ``my, ssy``: the per-image statistics of :func:`_steerable_subbands` (read-only).
    """
    win = 2**lev + 1
    n = float(win * win)
    # the code's association: sum(win(:)).*mean_x.*mean_y is (n*mx)*my, while the variances use
    # n*(mx*mx); where y copies x the two differ by rounding, and that residue (not 0) is sv^2 (docstring)
    sxy = _block_sums(x * y, win)
    compiled = kernels("ifc")
    if compiled is not None:  # the operations below element by element, in one pass (same bits)
        g, vv = np.empty(sxy.shape), np.empty(sxy.shape)
        compiled.distortion(sxy, n, mx, my, ssx, ssy, _TOL, g, vv)
        return g, vv
    cov = sxy - n * mx * my
    g = cov / (ssx + _TOL)
    vv = (ssy - g * cov) / n
    clamp_gain_noise(g, vv, ssx, ssy, _TOL)
    return g, vv


def _reference_gsm_compute(ref: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """``_gsm_reference`` of every (cropped) subband of ``ref``, in :func:`_steerable_subbands` order."""
    out = []
    for x, _, _, _ in _steerable_subbands(ref):
        ss, lam = _gsm_reference(x)
        ss.setflags(write=False)
        lam.setflags(write=False)
        out.append((ss, lam))
    return tuple(out)


# The reference of ifcvec is a source: its GSM fit (about 40 % of ifcvec) is shared by every fused image
# of a scene (metrics._memo.source_memo, content-keyed, shared memory budget); values unchanged.
_reference_gsm = source_memo(_reference_gsm_compute, maxsize=8)


@memoize_images
def ifcvec(ref: np.ndarray, dist: np.ndarray) -> float:
    """LIVE ``ifcvec(ref, dist)``: information fidelity of ``dist`` w.r.t. ``ref``, bits per pixel.

    Raises
    ------
    ValueError
        If a side is under 72 px: ``buildSpyr`` refuses a 4-level sp5 pyramid there ("Cannot build
        pyramid higher than 3 levels": ``maxPyrHt`` halves the size until it is below the 9-tap
        low-pass; measured under Octave at 64x64, 31x37 and 17x23).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 256, (72, 72)).astype(float)
    >>> ifcvec(a, np.zeros_like(a))
    0.0
    """
    if min(ref.shape) < 72:
        raise ValueError(f"IFC needs images of at least 72x72 pixels (4-level sp5 pyramid), got {ref.shape}")
    total = 0.0
    compiled = kernels("ifc")
    bands = zip(_steerable_subbands(ref), _steerable_subbands(dist), _reference_gsm(ref), strict=True)
    for (x, lev, mx, ssx), (y, _, my, ssy), (ss, lam) in bands:
        g, vv = _distortion_channel(x, y, lev, mx, ssx, my, ssy)
        off = math.ceil((2**lev) / 2 / _M)
        if compiled is not None and g.shape[0] > 2 * off and g.shape[1] > 2 * off:
            # 1 + base of the expression below, element by element (same bits), then NumPy's log2 in place
            arg = np.empty((g.shape[0] - 2 * off, g.shape[1] - 2 * off, lam.shape[0]))
            compiled.information_args(g, vv, ss, np.ascontiguousarray(lam, dtype=np.float64), off, arg)
            total += float(np.sum(np.log2(arg, out=arg)))
            continue
        sl = (slice(off, g.shape[0] - off), slice(off, g.shape[1] - off))
        g, vv, ss = g[sl], vv[sl], ss[sl]
        base = (g * g * ss / (vv + 1e-10))[..., None] * lam
        total += float(np.sum(np.log2(1 + base)))
    return total / ref.size


_IMPL = (
    "jbhuang0604/SelfExSR @ 8f6dd8c1d20cb7e8792a7177b4f6fd677633f598, quant_eval/ifcvec_release/ifcvec.m "
    "(LIVE, + matlabPyrTools buildSpyr/sp5Filters)"
)
_NOTES = (
    "Sheikh-Bovik-de Veciana IFC (LIVE ifcvec.m): sp5 steerable pyramid, 8 subbands, 3x3 vector GSM; bits "
    "per pixel, unbounded (F = source gives ~60-80: the 1e-10 regulariser). Reference = source, distorted "
    "= fused. Inputs 0..255; images >= 72 px per side (the reference refuses smaller: buildSpyr height)."
)


register_family(
    MetricInfo(
        id="ifc",
        cost=12.0,
        name="IFC",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="IFC_sheikh_sum",
        reference_impl=_IMPL + " (ifcvec(A,F)+ifcvec(B,F))",
        n_sources="any: sum over sources",
        # 2: the reference code's grouping n*(mx*mx) in the noise variance (copy regions move <= 1.5e-6)
        version="2",
        notes=_NOTES
        + " Summed over sources (same convention as `vif`); the MFIF seed paper's 5-9.5 range matches "
        "this form for average-type fusion, but no released fusion code confirms it.",
    ),
    ifcvec,
    combine="sum",
    variants={
        "avg": dict(
            reference_id="IFC_sheikh_avg",
            reference_impl=_IMPL + " ((ifcvec(A,F)+ifcvec(B,F))/2)",
            notes=_NOTES,
        ),
        "af": dict(reference_id="IFC_sheikh_AF", reference_impl=_IMPL + " (ifcvec(A,F))", notes=_NOTES),
        "bf": dict(reference_id="IFC_sheikh_BF", reference_impl=_IMPL + " (ifcvec(B,F))", notes=_NOTES),
    },
)
