"""FMI: feature mutual information (Haghighat et al. 2011; Fast-FMI, Haghighat & Razian 2014).

Re-implemented (no code copied) from the Fast-FMI MATLAB code as shipped by
Linfeng-Tang/Evaluation-for-Image-Fusion ``Evaluation/analysis_fmi.m`` @ 0e87153 (the same file as
mhaghighat/fmi ``fmi.m`` @ 2268df2; its LICENSE.md holds only a copyright line, Tang's copy has no
licence file; nothing copied), window w = 3, five feature maps (:mod:`metrics._fmi_features`):

=================  ===========  ==================================================================
id                 feature      reference id
=================  ===========  ==================================================================
``fmi_pixel``      ``none``     ``FMI_none_w3``
``fmi_edge``       ``edge``     ``FMI_edge_w3`` (the code's default; Tang's "FMI_pixel" column)
``fmi_dct``        ``dct``      ``FMI_dct_w3``
``fmi_w``          ``wavelet``  ``FMI_wavelet_w3``
``fmi_gradient``   ``gradient`` ``FMI_gradient_w3``
=================  ===========  ==================================================================

Per 3x3 window of the feature maps (every position where it fits) and per source X:

* raw X-window == F-window exactly -> ``fmi_XF = 1``;
* else both windows are min-max normalised (constant -> ones), divided by their sum, flattened
  **column-major**; ``c`` = Pearson correlation of the two 9-vectors (0 when the covariance sum is exactly
  0); joint pdf by Nelsen's simplified method: a mixture, with weight ``c / corr(bound)``, of the Frechet
  upper (``c >= 0``) or lower (``c < 0``) bound copula of the two cdfs and of independence; joint entropy
  ``sum -p log2|p|`` (negative "probabilities" occur and are kept, the real part of MATLAB's complex log);
  ``fmi_XF = 2 MI / (H_X + H_F)`` (0 when MI is exactly 0).
* Quirk kept: the F-window is normalised *in place* while processing A, so for B the equality test uses
  the normalised F-window unless A took the equality shortcut. (Identical normalised windows score 1
  up to rounding, so in practice this moves values by ~1e-15; the branch structure is kept anyway.)

FMI = mean over windows of the mean over sources of ``fmi_XF``.

Vectorisation (no per-window loop; the NumPy path is :mod:`metrics._fmi_numpy`, the compiled one
:mod:`metrics._kernels_fmi`). The knife-edge quantities (window sums, means, ``c`` and its
``== 0`` test, the population SDs) are accumulated sequentially in MATLAB's order, so branch decisions
match the reference bit for bit. The 9x9 joint pdf is not materialised: a Frechet bound's cell masses are
the overlaps of the two cdfs' step intervals, so at most 17 cells differ from the independence term;
the joint entropy is the closed-form entropy of the (scaled) independence table plus a correction over
those <= 17 cells, and the bound's covariance is the integral of the product of the two step counts.
Equal to the direct 81-cell computation up to rounding (~1e-15).

N sources: the quirk generalises naturally (the F-window stays normalised once any earlier source was
not an exact match); ``fmi_XF`` is averaged over the N sources (two sources: the published form).
References: M. B. A. Haghighat, A. Aghagolzadeh, H. Seyedarabi, Computers & Electrical Engineering 37
(2011) 744-756, doi:10.1016/j.compeleceng.2011.07.012; M. Haghighat, M. A. Razian, AICT 2014,
doi:10.1109/ICAICT.2014.7036000.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs
from metrics._fmi_features import FEATURES
from metrics._fmi_numpy import _W, SourceWindows, fmi_value
from metrics._jit import kernels
from metrics._memo import SOURCE_BUDGET, _frozen_owner, source_memo
from metrics._provenance import TANG, impl


def _frozen(fe):
    def feature(img: np.ndarray) -> np.ndarray:
        out = fe(img)
        out.setflags(write=False)
        return out

    return feature


# Sources are shared by every fused image of a scene (the runner scores ~12 per scene in a row): their
# feature maps are memoised by content (wavelet ~22 ms, gradient, edge and dct ~2 ms at 520x520; the
# content key of a frozen input is hashed once per array, so a hit costs a dictionary look-up; gradient and
# dct maps of writable inputs are recomputed, cheaper than hashing them). Values are
# unchanged: a hit returns the very map computed before (read-only). 'none' is the image itself.
def _source_feature(name: str, fe):
    if name == "none":
        return fe
    memo = source_memo(_frozen(fe), maxsize=8)
    if name in ("wavelet", "edge"):  # worth a content hash even for a writable input
        return memo

    def feature(img: np.ndarray) -> np.ndarray:  # gradient, dct: memoised for frozen inputs (no hashing)
        return memo(img) if _frozen_owner(img) else fe(img)

    return feature


_SOURCE_FEATURES = {name: _source_feature(name, fe) for name, fe in FEATURES.items()}


# ... and so is their window side (SourceWindows, 104 bytes per window: ~28 MB for a 520x520 map), within
# the shared source-memo budget (metrics._memo.SOURCE_BUDGET), keyed by the feature map's content (the map
# fixes the windows). Built only when a source comes back (a second fused image of the scene): building
# costs about one inline pass and saves 15-20 % of every later call. Not for 'edge' (binary maps: no gain).
_source_windows = source_memo(SourceWindows, maxsize=64, on_repeat=True)


# Values of pairs of 0/1 windows (edge maps) by pattern pair, filled by the kernel as it meets them (NaN:
# not met yet; 2 MB): ~80 % of an edge map's windows match the source exactly, most others are a few
# thousand recurring pattern pairs. A lane's value depends on its two windows only, so a looked-up value
# is the value the kernel would compute (same bits). Concurrent writers store the same value.
_EDGE_LUT = np.full((512, 512), np.nan)


# Per scene and feature: the window totals of fused images that copy a source (decision-map fusion).
# Where the F window equals source k's raw window, the lane's inputs are the sources' windows alone, so
# its total (sum over sources of fmi_XF, the F-normalisation quirk included) is the same for every fused
# image of the scene that copies source k there; the kernel stores each such total it computes in an
# (N, windows) table (NaN: not met yet) and reads it back for later images (same bits: per-lane
# arithmetic). Keyed by the source images (frozen inputs only: no hashing), 8 bytes per window and
# source (4.3 MB for a 520x520 pair), within the shared source budget, made when a scene's sources come
# back (a second fused image: a lone image allocates nothing); the runner scores a scene's images in a
# row, so a few scenes are kept. Concurrent writers store the same value, so the table is not
# locked. Only for the local features 'none' and 'gradient' (a fused image that copies a source region
# has that region's windows there): 'dct' and 'wavelet' maps are whole-image transforms (and rescaled by
# the global range), so copies practically never give equal windows; 'edge' maps do, but the pattern
# table below already serves them (measured: 3.8 -> 3.4 ms per decision-map image, not worth 4 MB).
def _scene_table(name: str):
    def table(*sources: np.ndarray) -> np.ndarray:
        m, ncols = _SOURCE_FEATURES[name](sources[0]).shape
        return np.full((len(sources), max(m - _W + 1, 0) * max(ncols - _W + 1, 0)), np.nan)

    table.__name__ = table.__qualname__ = f"fmi_{name}_scene_table"
    return source_memo(table, maxsize=4, on_repeat=True)


_SCENE_TABLES = {name: _scene_table(name) for name in ("none", "gradient")}
_TABLE_SHARE = 8  # a table takes at most 1/8 of the source budget (64 MB of 512 MB: ~2000x2000, 2 sources)


def fmi_value_compiled(
    source_features: Sequence[np.ndarray],
    fused_feature: np.ndarray,
    lut: np.ndarray | None = None,
    table: np.ndarray | None = None,
) -> float | None:
    """:func:`fmi_value` through the numba kernel (:mod:`metrics._kernels_fmi`), or None where it cannot run.

    Same windows, same branch decisions, same final NumPy mean; the per-window sums differ from the NumPy
    path by rounding only (tests: within 1e-12 relative). ``lut``: a (512, 512) NaN-initialised table for
    maps of 0s and 1s (:data:`_EDGE_LUT`); ``table``: an (N, windows) NaN-initialised table of totals where
    the fused map copies a source, that belongs to these source maps (:func:`_scene_table`); see
    :func:`metrics._kernels_fmi.fmi_totals`. Neither changes a value.
    """
    k = kernels("fmi")
    shape = np.shape(fused_feature)
    if k is None or len(shape) != 2 or min(shape) < _W or any(np.shape(f) != shape for f in source_features):
        return None
    stack = np.empty((len(source_features), *shape))
    for i, feat in enumerate(source_features):
        stack[i] = feat
    if table is not None and table.shape != (len(source_features), (shape[0] - _W + 1) * (shape[1] - _W + 1)):
        table = None
    totals = k.fmi_totals(stack, np.ascontiguousarray(fused_feature, dtype=np.float64), lut, table)
    return float(np.mean(totals / len(source_features)))


def fmi(sources: Sequence[np.ndarray], fused: np.ndarray, feature: str = "edge") -> float:
    """FMI of ``fused`` against ``sources`` with one of the five feature maps (w = 3).

    The window stage runs in the compiled kernel when numba is available (see :mod:`metrics._jit`;
    ``MFIF_NO_NUMBA=1`` forces the NumPy path, which gives the same value to ~1e-15 relative).
    """
    try:
        fe = FEATURES[feature]
    except KeyError:
        raise ValueError(f"feature must be one of {sorted(FEATURES)}, got {feature!r}") from None
    src_fe = _SOURCE_FEATURES[feature]
    feats = [src_fe(s) for s in sources]
    fused_feat = fe(fused)
    table = None
    if feature in _SCENE_TABLES and kernels("fmi") is not None and all(_frozen_owner(s) for s in sources):
        windows = max(fused_feat.shape[0] - _W + 1, 0) * max(fused_feat.shape[1] - _W + 1, 0)
        if 8 * len(sources) * windows <= SOURCE_BUDGET.limit // _TABLE_SHARE:
            table = _SCENE_TABLES[feature](*sources)
    value = fmi_value_compiled(feats, fused_feat, _EDGE_LUT if feature == "edge" else None, table)
    if value is not None:
        return value
    if feature == "edge" or any(np.shape(f) != fused_feat.shape for f in feats) or min(fused_feat.shape) < _W:
        return fmi_value(feats, fused_feat)  # (raises on a shape error)
    return fmi_value(feats, fused_feat, [_source_windows(f) for f in feats])


#: Rough CPU cost per call at 520x520 (units of the uniform-filter pass; only orders threaded scoring).
_COST = {"none": 7.0, "edge": 2.0, "dct": 8.0, "wavelet": 13.0, "gradient": 8.0}


def _register(id_: str, feature: str, name: str, notes: str) -> None:
    info = MetricInfo(
        id=id_,
        name=name,
        higher_is_better=True,
        range=(0.0, 1.0),
        reference_id=f"FMI_{feature}_w3",
        reference_impl=impl(TANG, "Evaluation/analysis_fmi.m", f"analysis_fmi(A,B,F,'{feature}',3)"),
        n_sources="any N >= 1: fmi_XF averaged over sources (F-window normalisation quirk carried over)",
        ideal=1.0,
        notes=notes,
        cost=_COST.get(feature, 1.0),
    )

    def metric(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
        srcs, f = check_inputs(sources, fused, metric=name)
        return fmi(srcs, f, feature)

    metric.__name__ = id_.replace("@", "_")
    metric.__doc__ = f"{name}: feature mutual information with the '{feature}' feature, 3x3 windows."
    register_metric(info)(metric)


_register("fmi_pixel", "none", "FMI_pixel", "Raw pixels as features ('none').")
_register(
    "fmi_edge",
    "edge",
    "FMI_edge",
    "MATLAB edge() (Sobel) binary maps; the code's default feature. Tang's 'FMI_pixel' column is this.",
)
_register("fmi_dct", "dct", "FMI_dct", "Whole-image orthonormal DCT-II (dct2) as features.")
_register(
    "fmi_w",
    "wavelet",
    "FMI_w",
    "One-level dwt2 with MATLAB's 102-tap dmey, [cA cH; cV cD] rescaled to [0,1] (620x620 at 520x520).",
)
_register("fmi_gradient", "gradient", "FMI_gradient", "MATLAB gradient() x-derivative as features.")
