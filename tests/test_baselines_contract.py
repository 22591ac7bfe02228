"""Contract tests over the whole method registry (classical family).

Every registered method with ``family == "classical"`` is checked, so a new baseline is tested for
free. Learned methods (``family == "learned"``) are left to their own test modules
(``tests/test_methods_*.py``): they need the authors' weights and seconds per call on CPU. The
selection reads ``MethodInfo`` fields only, never ids.

Kornia-style groups: smoke (shape, dtype, range; gray and colour), feature (``fuse([A, A]) == A``,
determinism, N = 3 or a clear error, metadata params match the signature), exception (too few
sources, mismatched shapes).

Inputs are small synthetic pairs (64x80) from a local generator with a hard-coded seed; no expected
value depends on the seed.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from bench.registry import get_method, list_methods

H, W = 64, 80
ATOL_IDENTITY = 1.0 / 255.0 + 1e-6  # one 8-bit grey level: methods may quantise to the 8-bit grid
# ``MethodInfo.lossless = False`` (a truncated transform): this share of values within one grey level, and
# none further than LOSSY_MAX, instead of all within one
LOSSY_SHARE, LOSSY_MAX = 0.99, 4.0 / 255.0

CLASSICAL = [m for m in list_methods() if get_method(m).info.family == "classical"]


def _scene(seed: int, colour: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = gaussian_filter(
        rng.random((H, W, 3) if colour else (H, W)), sigma=(1.5, 1.5, 0)[: 3 if colour else 2]
    )
    img = (img - img.min()) / (img.max() - img.min())
    return (0.1 + 0.8 * img).astype(np.float32)


def _defocus(img: np.ndarray, left_sharp: bool) -> np.ndarray:
    sig = (3.0, 3.0, 0)[: img.ndim]
    blurred = gaussian_filter(img, sigma=sig)
    mask = np.zeros((H, W), bool)
    mask[:, : W // 2] = True
    if not left_sharp:
        mask = ~mask
    if img.ndim == 3:
        mask = mask[:, :, None]
    return np.where(mask, img, blurred).astype(np.float32)


def _pair(colour: bool, n: int = 2) -> list[np.ndarray]:
    base = _scene(1234, colour)
    out = [_defocus(base, True), _defocus(base, False)]
    if n == 3:
        out.append(gaussian_filter(base, sigma=(1.0, 1.0, 0)[: base.ndim]).astype(np.float32))
    return out


def _assert_gives_the_source(method, out: np.ndarray, src: np.ndarray) -> None:
    if method.info.lossless:
        np.testing.assert_allclose(out, src, rtol=0, atol=ATOL_IDENTITY)
        return
    d = np.abs(out.astype(np.float64) - src)
    share = float(np.mean(d <= ATOL_IDENTITY))
    assert share >= LOSSY_SHARE and d.max() <= LOSSY_MAX, (
        f"{method.info.id} (lossless=False): {100 * share:.2f} % within 1 GL, max {255 * d.max():.2f} GL"
    )


@pytest.fixture(params=CLASSICAL)
def method(request):
    m = get_method(request.param)
    if m.info.weights_url:  # a classical method with data files (asr's, sr's dictionaries, ica's bases)
        from bench.errors import WeightsUnavailable

        try:  # 32 x 32: the smallest probe every such method accepts (nsct_sr's 4 NSCT levels)
            m.fuse([np.zeros((32, 32), np.float32)] * 2)
        except WeightsUnavailable as exc:
            pytest.skip(f"{m.info.id} needs its data files: {exc}")
    return m


def test_registry_has_classical_methods():
    assert len(CLASSICAL) >= 5, f"expected the classical baselines to be registered, got {CLASSICAL}"


# -- smoke ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
def test_output_shape_dtype_range(method, colour):
    srcs = _pair(colour)
    res = method.fuse(srcs)
    img = res.image
    assert img.shape == srcs[0].shape
    assert img.dtype == np.float32
    assert np.isfinite(img).all()
    assert img.min() >= 0.0 and img.max() <= 1.0
    if res.decision_map is not None:
        dm = res.decision_map
        assert dm.shape == (H, W) and dm.dtype == np.float32
        assert dm.min() >= 0.0 and dm.max() <= 1.0


# -- feature ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
def test_identical_sources_give_the_source(method, colour):
    a = _pair(colour)[0]
    out = method.fuse([a, a.copy()]).image
    _assert_gives_the_source(method, out, a)


def test_fused_differs_from_a_single_source(method):
    """A fusion of complementary sources is not just one of them (guards against a pass-through)."""
    srcs = _pair(False)
    out = method.fuse(srcs).image
    assert min(np.abs(out - s).mean() for s in srcs) > 1e-4


def test_deterministic(method):
    if not method.info.deterministic:
        pytest.skip(f"{method.info.id} declares deterministic=False")
    srcs = _pair(True)
    a = method.fuse(srcs).image
    b = method.fuse([s.copy() for s in srcs]).image
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
def test_three_sources(method, colour):
    srcs = _pair(colour, n=3)
    if method.info.max_images is not None and method.info.max_images < 3:
        with pytest.raises(ValueError, match="2"):
            method.fuse(srcs)
        return
    img = method.fuse(srcs).image
    assert img.shape == srcs[0].shape and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0
    # three identical sources fuse to that source as well
    _assert_gives_the_source(method, method.fuse([srcs[0]] * 3).image, srcs[0])


def test_metadata_params_match_signature(method):
    """``MethodInfo.params`` lists real keyword parameters with their true defaults."""
    sig = inspect.signature(method.fuse)
    for name, default in method.info.params:
        assert name in sig.parameters, f"{method.info.id}: params lists {name!r}, fuse() has no such argument"
        actual = sig.parameters[name].default
        assert actual == default, (
            f"{method.info.id}: params says {name}={default!r}, fuse() default is {actual!r}"
        )


# -- exception --------------------------------------------------------------------------------------


def test_single_source_raises(method):
    with pytest.raises(ValueError):
        method.fuse([_pair(False)[0]])


def test_mismatched_shapes_raise(method):
    a, b = _pair(False)
    with pytest.raises(ValueError):
        method.fuse([a, b[:-2]])
