"""Registry-wide decision-map convention (FusionResult): value = index of the chosen source / (N - 1).

On the synthetic scenes the ground-truth focus maps are known (``Scene.load_focus_maps``: the visible
region of each depth layer, source k being in focus on layer k), so the ground-truth decision map is
``argmax_k focus_k / (N - 1)``. Every method that returns a map must agree with it far better than with
its inverse (``1 - map``, i.e. the other convention): mean absolute error at most half the inverse's.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.registry import get_dataset, get_method, list_methods, method_info

RATIO = 0.5  # err(map) <= RATIO * err(1 - map), on the pixels where the sources differ
LEARNED_SCENES = ("syn-texture-gray", "syn-odd-rgb", "syn-layers-rgb-3")  # a few seconds each on CPU
# maps that follow the convention but do not decide by focus: checked on a brightness case instead
NOT_FOCUS_DRIVEN = {"max": "picks the brighter pixel, not the sharper one"}


def _scenes():
    return get_dataset("synthetic").scenes()


def _errors(scene, dm: np.ndarray) -> tuple[float, float, int]:
    """Summed |map - GT| and |inverse - GT| over informative pixels, and their count.

    Informative: the ground truth picks the first or the last source (the middle index of N > 2 is its
    own inverse) and the sources differ there (7x7 mean of max - min luminance above 0.02; flat areas
    carry no focus cue and any choice is right).
    """
    import cv2

    maps = np.stack(scene.load_focus_maps())
    n = len(maps)
    gi = maps.argmax(axis=0)
    gt = gi / (n - 1)
    g = np.stack([x.mean(axis=-1) if x.ndim == 3 else x for x in scene.load_sources()])
    spread = cv2.blur((g.max(axis=0) - g.min(axis=0)).astype(np.float32), (7, 7))
    m = ((gi == 0) | (gi == n - 1)) & (spread > 0.02)
    dm = np.asarray(dm, dtype=np.float64)
    return float(np.abs(dm - gt)[m].sum()), float(np.abs((1.0 - dm) - gt)[m].sum()), int(m.sum())


def _needs_missing_weights(mid: str) -> str | None:
    info = method_info(mid)
    if info.family != "learned" and info.weights_url:  # a classical method with data files (asr, sr, ...)
        from bench.errors import WeightsUnavailable

        try:  # 32 x 32: the smallest probe every such method accepts (nsct_sr's 4 NSCT levels)
            get_method(mid).fuse([np.zeros((32, 32), np.float32)] * 2)
        except WeightsUnavailable as exc:
            return f"{mid} needs its data files: {exc}"
        return None
    if info.family != "learned" or not info.weights_url:
        return None  # classical, or weights committed to the repository
    from tests.conftest import weights_path

    return None if weights_path() is not None else "needs the authors' weights: set MFIF_WEIGHTS"


def _methods():
    return [m for m in list_methods("*") if method_info(m).family != "external"]


def _maps_on_small_inputs(method) -> bool:
    """Whether the method returns a decision map for a small gray or colour pair (True when unsure)."""
    rng = np.random.default_rng(0)
    for shape in ((40, 48), (40, 48, 3)):
        pair = [rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)]
        try:
            if method.call(pair, device="cpu").decision_map is not None:
                return True
        except Exception:  # too small for this method, or needs weights: let the scene loop decide
            return True
    return False


@pytest.mark.parametrize("mid", _methods())
def test_decision_map_is_the_index_of_the_chosen_source(mid, one_torch_thread):
    why = _needs_missing_weights(mid)
    if why:
        pytest.skip(why)
    method = get_method(mid)
    if mid in NOT_FOCUS_DRIVEN:
        bright, dark = np.full((24, 30), 0.8, np.float32), np.full((24, 30), 0.2, np.float32)
        dm = method.call([bright, dark]).decision_map
        assert dm is not None and np.all(dm == 0.0), f"{mid}: {NOT_FOCUS_DRIVEN[mid]}; A chosen -> 0"
        dm = method.call([dark, bright]).decision_map
        assert np.all(dm == 1.0)
        return
    if not _maps_on_small_inputs(method):  # e.g. sr, nsct: no map at all; don't fuse every scene to find out
        pytest.skip(f"{mid} returns no decision map")
    total = total_inv = 0.0
    checked = []
    for scene in _scenes():
        if method_info(mid).family == "learned" and scene.id not in LEARNED_SCENES:
            continue
        if method.skip_reason(len(scene.roles), "cpu"):
            continue
        res = method.call(scene.load_sources(), device="cpu")
        if res.decision_map is None:
            continue  # no map for this input (colour, serial N > 2, ...)
        err, err_inv, n = _errors(scene, res.decision_map)
        total, total_inv = total + err, total_inv + err_inv
        checked.append(scene.id)
        if len(scene.roles) == 2:
            why = f"{mid} on {scene.id}: mean |map - GT| {err / n:.3f}, inverse {err_inv / n:.3f}"
            assert err <= RATIO * err_inv, why
    if not checked:
        pytest.skip(f"{mid} returns no decision map")
    why = f"{mid} over {checked}: |map - GT| {total:.0f}, |inverse - GT| {total_inv:.0f}"
    assert total <= RATIO * total_inv, why
