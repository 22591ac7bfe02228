"""MI: mutual information between each source and the fused image, summed over sources.

Three incompatible definitions are in use (``shared/docs/metrics.md`` section 1); each is re-implemented
from its reference code (no code copied):

* ``mi``          -- Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/MI_evaluation.m`` @ 0e87153
  (``MI_tang_bits``): bits, raw 8-bit levels; marginals from 256-bin ``entropy``; the joint histogram is
  indexed with ``uint8(x) + 1``, which saturates, so **levels 254 and 255 share one joint bin** (kept);
* ``mi@vifb``     -- xingchenzhang/VIFB ``metrics/metricsMutinf.m`` @ 22b2ea9 (``MI_vifb_nats``): each image
  min-max normalised to [0, 1] and re-quantised with ``int16(x*255)`` (round half away), natural log;
* ``mi@cddfuse``  -- Zhaozixiang1228/MMIF-CDDFuse ``utils/Evaluator.py`` ``Evaluator.MI`` @ fd8da1f
  (``cddfuse_MI``): ``sklearn.metrics.mutual_info_score`` on the flattened float32 values (every distinct
  value is a label), natural log.

N sources: the per-source MI values are summed (the two-source definitions are sums).
Licences: see :mod:`metrics._provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._infotheory import hist_entropies, joint_histogram, plogp_sum
from metrics._matlab import matlab_round
from metrics._memo import _frozen_owner, memoize_images, value_nbytes
from metrics._provenance import CDDFUSE, TANG, VIFB, impl

_N = "any N >= 1: sum of MI(X_k, F) over sources"
#: bytes each per-image memo of this module may hold (a few 520x520 scenes; big images are not kept)
_MEMO_BYTES = 32 << 20


def _uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)``: round half away from zero, saturate to 0..255."""
    return np.clip(matlab_round(x), 0, 255).astype(np.intp)


def mi_tang_pair(x: np.ndarray, f: np.ndarray) -> float:
    """Tang's ``MI(X;F)`` in bits with the 254/255 joint-bin merge of ``uint8(x)+1`` indexing."""
    xm, hx = _tang_side(x)
    fm, hf = _tang_side(f)
    joint = joint_histogram(xm, fm)
    return hx + hf - plogp_sum(joint / xm.size)


def _tang_side_compute(x: np.ndarray) -> tuple[np.ndarray, float]:
    """One image's half of :func:`mi_tang_pair`: its joint-table index ``min(uint8(x), 254)`` (read-only)
    and its entropy in bits from the 256-bin histogram."""
    xi = _uint8(x).ravel()
    hx = plogp_sum(np.bincount(xi, minlength=256) / xi.size)
    xm = np.minimum(xi, 254)
    xm.setflags(write=False)
    return xm, hx


_tang_side_memo = memoize_images(_tang_side_compute, maxsize=6, max_bytes=_MEMO_BYTES, nbytes=value_nbytes)


def _tang_side(x: np.ndarray) -> tuple[np.ndarray, float]:
    """:func:`_tang_side_compute`, memoised for frozen inputs (a source's for every fused image of a scene,
    the fused image's for every source)."""
    return _tang_side_memo(x) if _frozen_owner(x) else _tang_side_compute(x)


def _vifb_levels(x: np.ndarray) -> np.ndarray:
    mx, mn = x.max(), x.min()
    y = (x - mn) / (mx - mn) if mx != mn else np.zeros_like(x)
    return matlab_round(y * 255.0).astype(np.intp).ravel()


def _vifb_levels_frozen(x: np.ndarray) -> np.ndarray:
    out = _vifb_levels(x)
    out.setflags(write=False)
    return out


_vifb_levels_memo = memoize_images(_vifb_levels_frozen, maxsize=6, max_bytes=_MEMO_BYTES, nbytes=value_nbytes)


def mi_vifb_pair(x: np.ndarray, f: np.ndarray) -> float:
    """VIFB's ``mutinf(X, F)`` in nats (min-max normalised, ``int16(x*255)`` levels)."""
    levels = lambda a: _vifb_levels_memo(a) if _frozen_owner(a) else _vifb_levels(a)  # noqa: E731
    hx, hf, hxf = hist_entropies(joint_histogram(levels(x), levels(f)), np.log)
    return hx + hf - hxf


def mi_labels_pair(x: np.ndarray, f: np.ndarray) -> float:
    """``sklearn.metrics.mutual_info_score(f, x)`` re-implemented: every distinct value is a label, nats."""
    return _mi_from_labels(_labels(x), _labels(f))


def _labels(x: np.ndarray) -> np.ndarray:
    """``np.unique(x.ravel(), return_inverse=True)[1]``: each value's rank among the distinct values.

    Values that are all small non-negative integers (8-bit images: every protocol's grey levels as
    float32) are ranked by a table of the levels present, without sorting: the same labels.
    """
    v = x.ravel()
    if v.size and v.dtype.kind == "f":
        lo, hi = v.min(), v.max()
        if lo >= 0 and hi <= 65535:
            iv = v.astype(np.intp)
            if np.array_equal(iv, v):
                present = np.zeros(int(hi) + 1, dtype=np.intp)
                present[iv] = 1
                return (np.cumsum(present) - 1)[iv]
    return np.unique(v, return_inverse=True)[1]


def _labels32_compute(img: np.ndarray) -> np.ndarray:
    """:func:`_labels` of ``img`` as float32 (read-only): CDDFuse's labels of one image."""
    out = _labels(img.astype(np.float32))
    out.setflags(write=False)
    return out


# a source's labels come back for every fused image of a scene, the fused image's for every source
_labels32 = memoize_images(_labels32_compute, maxsize=6, max_bytes=_MEMO_BYTES, nbytes=value_nbytes)


def _labels32_of(img: np.ndarray) -> np.ndarray:
    """:func:`_labels32` memoised for frozen inputs (as the runner passes them), computed otherwise."""
    return _labels32(img) if _frozen_owner(img) else _labels32_compute(img)


def _mi_from_labels(xi: np.ndarray, fi: np.ndarray) -> float:
    nf = int(fi.max()) + 1
    n = xi.size
    keys = xi * nf + fi
    if (int(xi.max()) + 1) * nf <= 16 * n:  # a dense table of every (x, f) pair: small
        counts = np.bincount(keys)
        nz = counts[counts != 0].astype(np.float64)
    else:  # many distinct values (e.g. [0, 1] luminance): only the pairs present, in the same key order
        nz = np.unique(keys, return_counts=True)[1].astype(np.float64)
    px = np.bincount(xi) / n
    pf = np.bincount(fi) / n
    pxy = nz / n
    hx, hf, hxf = plogp_sum(px, np.log), plogp_sum(pf, np.log), plogp_sum(pxy, np.log)
    return max(hx + hf - hxf, 0.0)


@register_metric(
    MetricInfo(
        id="mi",
        name="MI",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="MI_tang_bits",
        reference_impl=impl(TANG, "Evaluation/MI_evaluation.m", "MI_evaluation(A,B,F,256)"),
        n_sources=_N,
        notes="Bits, raw 8-bit levels; levels 254 and 255 share one joint bin (Tang's uint8+1 indexing).",
    )
)
def mi(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Mutual information (bits) summed over sources, Tang's implementation."""
    srcs, f = check_inputs(sources, fused, metric="MI")
    return float(sum(mi_tang_pair(s, f) for s in srcs))


@register_metric(
    MetricInfo(
        id="mi@vifb",
        name="MI (VIFB, nats)",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="MI_vifb_nats",
        reference_impl=impl(VIFB, "metrics/metricsMutinf.m"),
        n_sources=_N,
        notes="Natural log (nats); each image min-max normalised and re-quantised to 256 levels first.",
    )
)
def mi_vifb(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Mutual information (nats) summed over sources, VIFB's implementation."""
    srcs, f = check_inputs(sources, fused, metric="MI@vifb")
    return float(sum(mi_vifb_pair(s, f) for s in srcs))


@register_metric(
    MetricInfo(
        id="mi@cddfuse",
        name="MI (CDDFuse, nats)",
        higher_is_better=True,
        range=(0.0, None),
        reference_id="cddfuse_MI",
        reference_impl=impl(CDDFUSE, "utils/Evaluator.py", "Evaluator.MI"),
        n_sources=_N,
        notes="sklearn mutual_info_score semantics on float32 values (each distinct value a label), nats.",
    )
)
def mi_cddfuse(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
    """Mutual information (nats) summed over sources, CDDFuse's evaluator."""
    srcs, f = check_inputs(sources, fused, metric="MI@cddfuse")
    fi = _labels32_of(f)
    return float(sum(_mi_from_labels(_labels32_of(s), fi) for s in srcs))
