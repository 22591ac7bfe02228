"""Contract tests over the learned methods that ship their weights in the repository.

Selected from metadata only (``family == "learned"`` and no ``weights_url``: the weights are committed,
``methods/weights/*.pt``), so a new re-implementation with committed weights is tested for free. The
authors'-weights methods (``sesf*``, ``gacn``) have their own reference tests and need ``MFIF_WEIGHTS``.
Every call goes through the registry contract (:meth:`bench.entries.Method.call`: device injection,
serial extension for N > 2, output checks), exactly like a ``bench run`` job.

Inputs: the small synthetic pairs of ``tests/test_baselines_contract.py`` (64x80, seeded).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

pytest.importorskip("torch")

from test_baselines_contract import H, W, _pair  # noqa: E402

from bench.registry import get_method, list_methods, method_info  # noqa: E402

SHIPPED = [m for m in list_methods() if method_info(m).family == "learned" and not method_info(m).weights_url]


@pytest.fixture(params=SHIPPED)
def method(request, one_torch_thread):
    return get_method(request.param)


def test_registry_has_shipped_learned_methods():
    assert len(SHIPPED) >= 3, f"expected fmm, msrsf, sff at least, got {SHIPPED}"


@pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
def test_output_shape_dtype_range(method, colour):
    srcs = _pair(colour)
    res = method.call(srcs, device="cpu")  # raises if the output breaks the contract
    assert res.image.shape == srcs[0].shape and res.image.dtype == np.float32
    assert np.isfinite(res.image).all() and 0.0 <= res.image.min() and res.image.max() <= 1.0
    if res.decision_map is not None:
        assert res.decision_map.shape == (H, W)
        # the sharp half of A is the left half: the map says source 0 there (FusionResult's convention)
        assert res.decision_map[:, : W // 4].mean() < res.decision_map[:, -W // 4 :].mean()


def test_deterministic(method):
    srcs = _pair(True)
    a = method.call(srcs, device="cpu").image
    b = method.call([s.copy() for s in srcs], device="cpu").image
    assert a.tobytes() == b.tobytes()


def test_three_sources(method):
    srcs = _pair(False, n=3)
    res = method.call(srcs, device="cpu")
    assert res.image.shape == srcs[0].shape
    if method.info.extend == "serial":
        assert res.decision_map is None  # a pairwise map does not describe N images
        pair = method.call(srcs[:2], device="cpu").image
        np.testing.assert_array_equal(res.image, method.call([pair, srcs[2]], device="cpu").image)


def test_metadata_params_match_signature(method):
    sig = inspect.signature(method.fuse)
    assert "device" in sig.parameters and method.info.device_aware
    for name, default in method.info.params:
        assert sig.parameters[name].default == default, f"{method.info.id}: {name}"


def test_committed_weights_exist(method):
    from pathlib import Path

    import methods

    folder = Path(methods.__file__).resolve().parent / "weights"
    assert (folder / f"{method.info.id}.pt").is_file()
