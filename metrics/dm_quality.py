"""Decision-map quality against ground-truth focus maps: accuracy, mean IoU, boundary F-score.

Where a method returns a decision map (``FusionResult.decision_map``: float32 in [0, 1], HxW, the index
of the selected source divided by N - 1; a soft map is the expected index / (N - 1)) and the dataset
has ground-truth focus maps (``synthetic``, ``ecssd_gt``: one binary map per source, 1 where that
source is in focus), these metrics score the map itself rather than the fused image:

- ``dm_acc``: the fraction of pixels whose selected source (the decision map rounded to the nearest
  index) is the in-focus one;
- ``dm_iou``: the intersection over union of the selected and the in-focus region, averaged over the
  N sources (for a pair: the mean of the near-focus and far-focus regions' IoU);
- ``dm_bf``: the boundary F-score (G. Csurka, D. Larlus, F. Perronnin, "What is a good evaluation
  measure for semantic segmentation?", BMVC 2013): boundary pixels of the selected-source map within
  :data:`BF_TOLERANCE` pixels (Euclidean) of a ground-truth boundary pixel count as correct
  (precision), and the other way round (recall); F = 2PR / (P + R). A map without any boundary where
  the ground truth has none scores 1.

Definitions of this benchmark (no published reference implementation is ported, so there is no
reference value to match); the tests check them on hand-made maps. They receive the decision map and
focus maps through the keywords ``decision_map`` and ``focus_maps`` (``MetricInfo.needs_decision_map``);
the runner passes them on scenes that have focus maps, for methods that return a decision map.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo

BF_TOLERANCE = 2.0  # pixels


def labels_from_decision_map(dm: np.ndarray, n: int) -> np.ndarray:
    """Selected source index per pixel (int) from a decision map in [0, 1] for ``n`` sources.

    >>> labels_from_decision_map(np.array([[0.0, 0.4, 0.6, 1.0]]), 2).tolist()
    [[0, 0, 1, 1]]
    """
    dm = np.asarray(dm, dtype=np.float64)
    if dm.ndim == 3:
        dm = dm[:, :, 0]
    if dm.max(initial=0.0) > 1.0 + 1e-9:  # an 8-bit map (0..255)
        dm = dm / 255.0
    return np.clip(np.floor(np.clip(dm, 0.0, 1.0) * (n - 1) + 0.5), 0, n - 1).astype(np.int64)


def labels_from_focus_maps(focus_maps: Sequence[np.ndarray]) -> np.ndarray:
    """In-focus source index per pixel: the argmax of the focus maps (first source on ties)."""
    return np.argmax(np.stack([np.asarray(m, dtype=np.float64) for m in focus_maps]), axis=0).astype(np.int64)


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"decision map shape {pred.shape} differs from the focus maps' {gt.shape}")


def accuracy(pred: np.ndarray, gt: np.ndarray) -> float:
    """Fraction of pixels with the right source."""
    _check(pred, gt)
    return float(np.mean(pred == gt))


def mean_iou(pred: np.ndarray, gt: np.ndarray, n: int) -> float:
    """IoU of each source's selected vs in-focus region, averaged over the sources present in either."""
    _check(pred, gt)
    ious = []
    for k in range(n):
        p, g = pred == k, gt == k
        union = np.count_nonzero(p | g)
        if union:
            ious.append(np.count_nonzero(p & g) / union)
    return float(np.mean(ious)) if ious else 1.0


def boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose label differs from their right or lower neighbour (a one-pixel-wide contour)."""
    b = np.zeros(labels.shape, dtype=bool)
    b[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    b[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return b


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = BF_TOLERANCE) -> float:
    """Boundary F-score with a distance tolerance in pixels (see the module docstring)."""
    from scipy.ndimage import distance_transform_edt

    _check(pred, gt)
    bp, bg = boundaries(pred), boundaries(gt)
    if not bp.any() and not bg.any():
        return 1.0
    if not bp.any() or not bg.any():
        return 0.0
    d_to_gt = distance_transform_edt(~bg)
    d_to_pred = distance_transform_edt(~bp)
    precision = float(np.mean(d_to_gt[bp] <= tolerance))
    recall = float(np.mean(d_to_pred[bg] <= tolerance))
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _inputs(sources, decision_map, focus_maps) -> tuple[np.ndarray, np.ndarray, int]:
    if decision_map is None or focus_maps is None:
        raise ValueError("needs the method's decision map and the scene's ground-truth focus maps")
    n = len(focus_maps)
    if n != len(sources):
        raise ValueError(f"{n} focus maps for {len(sources)} sources")
    return labels_from_decision_map(decision_map, n), labels_from_focus_maps(focus_maps), n


_COMMON = dict(
    higher_is_better=True,
    needs_reference=True,
    needs_decision_map=True,
    range=(0.0, 1.0),
    reference_impl="definition (this benchmark; see metrics/dm_quality.py)",
    ideal=1.0,
    family="",
)


@register_metric(
    MetricInfo(
        id="dm_acc",
        name="Decision-map accuracy",
        **_COMMON,
        notes="fraction of pixels whose selected source is the in-focus one",
    )
)
def dm_acc(sources, fused, *, reference=None, decision_map=None, focus_maps=None) -> float:
    pred, gt, _ = _inputs(sources, decision_map, focus_maps)
    return accuracy(pred, gt)


@register_metric(
    MetricInfo(
        id="dm_iou",
        name="Decision-map mean IoU",
        **_COMMON,
        notes="IoU of selected vs in-focus region, mean over the sources",
    )
)
def dm_iou(sources, fused, *, reference=None, decision_map=None, focus_maps=None) -> float:
    pred, gt, n = _inputs(sources, decision_map, focus_maps)
    return mean_iou(pred, gt, n)


@register_metric(
    MetricInfo(
        id="dm_bf",
        name=f"Decision-map boundary F-score ({BF_TOLERANCE:g} px)",
        **_COMMON,
        notes=f"Csurka et al. 2013 BF score, tolerance {BF_TOLERANCE:g} px (Euclidean)",
    )
)
def dm_bf(sources, fused, *, reference=None, decision_map=None, focus_maps=None) -> float:
    pred, gt, _ = _inputs(sources, decision_map, focus_maps)
    return boundary_f(pred, gt)
