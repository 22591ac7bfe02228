"""Qsf: Zheng et al.'s spatial-frequency ratio error, Liu toolbox ``metricZheng``.

Port of ``metricZheng.m`` from zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273
(MATLAB, Z. Liu 2009; "as is", no licence file). Re-written in NumPy (the MATLAB per-pixel loops become
array sums); no code copied.

``SF_F = sqrt(RF^2 + CF^2 + MDF^2 + SDF^2)`` from the row, column, main- and secondary-diagonal first
differences of F (diagonals weighted by ``sqrt(2)/2``, every sum divided by M*N). The reference
``SF_R`` uses, per difference, the element-wise larger absolute difference of the sources.
``Qsf = (SF_F - SF_R) / SF_R``: 0 is ideal, usually negative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._memo import _frozen_owner, source_memo

_WD = np.sqrt(2) / 2


def _diffs(im: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row (along x), column (along y), main-diagonal and secondary-diagonal first differences."""
    row = im[:, :-1] - im[:, 1:]
    col = im[:-1, :] - im[1:, :]
    main = im[1:, 1:] - im[:-1, :-1]
    second = im[1:, :-1] - im[:-1, 1:]
    return row, col, main, second


def _reference_sf_compute(*srcs: np.ndarray) -> float:
    """``SF_R``: the spatial frequency of the per-difference maximum absolute source gradient (sources
    only, so memoised per scene)."""
    mn = srcs[0].size
    d_s = [_diffs(s) for s in srcs]
    total_r = 0.0
    for k, w in enumerate((1.0, 1.0, _WD, _WD)):
        grad = np.abs(d_s[0][k])
        for ds in d_s[1:]:
            grad = np.maximum(grad, np.abs(ds[k]))
        total_r += w * np.sum(grad * grad) / mn
    return np.sqrt(total_r)


_reference_sf = source_memo(_reference_sf_compute, maxsize=8)


def qsf_zheng(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Liu's ``metricZheng`` (Qsf), generalised to N sources.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 grey images (2-D). Scale invariant.
    fused : numpy.ndarray
        Fused grey image, same shape.

    Returns
    -------
    float
        ``(SF_F - SF_R) / SF_R``; the reference gradient per difference is the maximum absolute difference
        over all sources. NaN when every source is constant (the reference SF is 0; MATLAB gives NaN
        or Inf there).

    References
    ----------
    Y. Zheng, E. A. Essock, B. C. Hansen, A. M. Haun, "A new metric based on extended spatial frequency
    and its application to DWT based fusion algorithms", Information Fusion 8(2) 177-192, 2007.
    doi:10.1016/j.inffus.2005.04.003

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(8.0), (8, 1)); b = a.T.copy()
    >>> qsf_zheng([a, b], (a + b) / 2) < 0
    True
    """
    srcs, fus = check_inputs(sources, fused, metric="Qsf", min_n=2)
    mn = fus.size
    weights = (1.0, 1.0, _WD, _WD)
    d_f = _diffs(fus)
    # fused: RF = sqrt(sum/(MN)), MDF = sqrt(Wd*sum/(MN)); SF_F = sqrt(RF^2 + CF^2 + MDF^2 + SDF^2)
    parts_f = [np.sqrt(w * np.sum(d * d) / mn) for w, d in zip(weights, d_f, strict=True)]
    sf_f = np.sqrt(sum(p * p for p in parts_f))
    frozen = all(_frozen_owner(s) for s in srcs)  # memoised for frozen inputs, as the runner passes them
    sf_r = _reference_sf(*srcs) if frozen else _reference_sf_compute(*srcs)
    if sf_r == 0:
        return math.nan  # all sources constant: MATLAB gives 0/0 = NaN or x/0 = Inf; undefined either way
    return float((sf_f - sf_r) / sf_r)


@register_metric(
    MetricInfo(
        id="qsf",
        name="Qsf",
        higher_is_better=True,
        range=(None, None),
        reference_id="Qsf_liu",
        reference_impl=(
            "zhengliu6699/imageFusionMetrics metricZheng.m @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273"
        ),
        n_sources="any: reference gradient = max over sources of |difference|",
        version="1",
        ideal=0.0,
        notes=(
            "Spatial-frequency ratio error; ideal value 0, usually negative; values closer to 0 are better "
            "(ranked as higher-is-better since values above 0 are rare). NaN if all sources are constant "
            "(MATLAB: NaN or Inf)."
        ),
    )
)
def qsf(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Registered wrapper around :func:`qsf_zheng`."""
    return qsf_zheng(sources, fused)
