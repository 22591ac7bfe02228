"""GACN's CPU fast path (buffer reuse, per-plane SF, streaming calibration) equals the plain path bit for bit.

The fast path (``methods.gacn._Workspace``, ``GACNNet.encode_into``, ``channel_sf_into``, the slice form
of ``baselines._guided_filter._window_sum_axis``) only reorganises memory and threads; every number must be
the one the straightforward code computes. The network tests need the authors' weights (``MFIF_WEIGHTS``).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def model(weights_dir):
    from methods.gacn import get_model

    return get_model("cpu")


# ------------------------------------------------------------------------------------ box sums (no weights)
def _window_sum_axis_take(x, r, axis):
    """The former index-array form: ``cs[min(i+r+1, n)] - cs[max(i-r, 0)]`` with a leading zero."""
    n = x.shape[axis]
    cs = np.cumsum(x, axis=axis, dtype=np.float64)
    zero_shape = list(cs.shape)
    zero_shape[axis] = 1
    cs = np.concatenate([np.zeros(zero_shape), cs], axis=axis)
    idx = np.arange(n)
    return np.take(cs, np.minimum(idx + r + 1, n), axis=axis) - np.take(cs, np.maximum(idx - r, 0), axis=axis)


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (7, 7), (9, 4), (33, 20), (12, 10, 3)])
@pytest.mark.parametrize("r", [0, 1, 3, 5, 12])
def test_window_sum_slices_equal_index_form(shape, r):
    from baselines._guided_filter import _window_sum_axis

    x = _rng(r).normal(size=shape) * 50.0
    for axis in (0, 1):
        np.testing.assert_array_equal(_window_sum_axis(x, r, axis), _window_sum_axis_take(x, r, axis))


def test_levels01_matches_formula():
    from methods.gacn import _levels01

    rng = _rng(1)
    u = rng.integers(0, 256, size=(20, 30, 3))
    for img in (
        (u / 255.0).astype(np.float32),  # 8-bit data: snapped to u/255
        u / 255.0,
        rng.random((20, 30)).astype(np.float32),  # not quantised: (x * 255) / 255
        np.zeros((4, 5)),
    ):
        x = np.asarray(img, dtype=np.float64) * 255.0
        ref = (np.rint(x) if np.max(np.abs(x - np.rint(x)), initial=0.0) < 1e-3 else x) / 255.0
        np.testing.assert_array_equal(_levels01(img), ref)


# ------------------------------------------------------------------------------------------ network parts
@pytest.mark.parametrize("hw", [(13, 17), (40, 56)])
def test_encode_into_and_channel_sf_into_are_bit_identical(model, hw):
    from methods._gacn_net import channel_sf, channel_sf_into

    x = torch.from_numpy(_rng(2).random((1, 1, *hw)).astype(np.float32))
    with torch.inference_mode():
        feat = model.encode_fast(x)
        ref = channel_sf(feat)
        buf = torch.full_like(feat, float("nan"))
        assert torch.equal(model.encode_into(x, buf), feat)
        for threads in (1, 2, 3):
            out = torch.full_like(feat, float("nan"))
            assert torch.equal(channel_sf_into(feat, out, threads=threads), ref)


def test_encode_into_rejects_bad_buffers(model):
    x = torch.zeros((1, 1, 8, 8))
    with pytest.raises(ValueError):
        model.encode_into(x, torch.empty((1, 64, 8, 9)))
    with pytest.raises(ValueError):
        model.encode_into(x, torch.empty((1, 8, 8, 64)).permute(0, 3, 1, 2))


def test_workspace_decision_equals_plain_path(model):
    from methods.gacn import _decision, _features_sf, _Workspace

    rng = _rng(3)
    ga = rng.random((36, 44)).astype(np.float32)
    gb = np.clip(ga + rng.normal(scale=0.05, size=ga.shape), 0, 1).astype(np.float32)
    gb[:, 20:] = rng.random((36, 24))  # a region where B differs: a non-trivial decision map
    with torch.inference_mode():
        d0_ref, d_ref = _decision(
            model,
            _features_sf(model, ga, "cpu"),
            _features_sf(model, gb, "cpu"),
            ga.astype(float),
            gb.astype(float),
        )
        ws = _Workspace(model, ga.shape)
        for _ in range(2):  # buffers reused: the second round must not see the first
            ws.features_sf(ga, 0)
            ws.features_sf(gb, 1)
            d0, d = ws.decision(0, ga.astype(float), gb.astype(float))
            np.testing.assert_array_equal(d0, d0_ref)
            np.testing.assert_array_equal(d, d_ref)


def test_streaming_calibration_equals_decision_volume(model):
    """gacn_calibration (running maximum, in-place fused) == the full official volume + argmax."""
    from methods.gacn import _levels01, decision_pair, gacn_calibration, network_gray

    rng = _rng(4)
    base = rng.random((30, 38, 3))
    imgs = []
    for k in range(4):  # each frame sharp in its own vertical band, blurred elsewhere
        img = base.copy()
        img[:, [c for c in range(38) if not 9 * k <= c < 9 * k + 12]] *= 0.5 + 0.1 * k
        imgs.append(np.round(img * 255) / 255)
    levels = [_levels01(i) for i in imgs]
    g = [network_gray(lv) for lv in levels]
    maps = [decision_pair(model, g[0], g[k], "cpu")[1].astype(np.float32) for k in range(1, 4)]
    m2 = maps[0]
    vol = [m2, np.float32(1) - m2] + [m2 / (m + np.float32(1e-4)) * (np.float32(1) - m) for m in maps[1:]]
    index = np.argmax(np.stack(vol), axis=0)  # first maximum wins, as torch.max
    expected = np.take_along_axis(np.stack(levels), index[None, ..., None], 0)[0]
    fused, idx = gacn_calibration(imgs, model, "cpu")
    np.testing.assert_array_equal(idx, index)
    np.testing.assert_array_equal(fused, expected)
    assert 0 < np.mean(idx == 0) < 1  # not a degenerate selection
