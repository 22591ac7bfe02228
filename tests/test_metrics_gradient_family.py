"""Qg, Qabf (3 codings), Nabf, Qm (2 scales), Qsf, Qp, Qcb, qy@sesf: helpers, N sources, errors, smoke values.

The full reproduction of ``metrics_reference.json`` for every registered metric is the registry-wide test
(``tests/test_metrics_reference.py``); here a fixed pair of reference cases per metric keeps this module
self-checking, plus the properties specific to these ports.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from bench.registry import get_metric
from metrics._haar import haar_wpyr
from metrics._matlab import matlab_round, normalize1

MY_IDS = [
    "qg",
    "qabf",
    "qabf@vifb",
    "qabf@cddfuse",
    "nabf",
    "qm",
    "qm@unitrange",
    "qsf",
    "qp",
    "qcb",
    "qy@sesf",
]
N_GENERIC = ["qg", "qabf", "qabf@vifb", "qabf@cddfuse", "nabf", "qm", "qm@unitrange", "qsf", "qp", "qcb"]
# fixed smoke cases: a real pair with saturated areas and a synthetic pair with exactly flat patches
SMOKE_CASES = [("lytro_04", "halfAB"), ("syn_flat", "blurA")]


def _rng_images(shape=(48, 40), n=3, seed=20240601):
    rng = np.random.default_rng(seed)  # fixed seed; no expected value depends on it
    base = rng.integers(0, 256, size=shape).astype(np.float64)
    return [np.clip(base + rng.normal(0, 20, size=shape), 0, 255).round() for _ in range(n)]


# ------------------------------------------------------------------------------------------ helpers


def test_matlab_round_is_half_away_from_zero():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999999999999994, 2.4999999999999996])
    np.testing.assert_array_equal(matlab_round(x), [-3, -2, -1, 1, 2, 3, 0, 2])


def test_normalize1_matches_liu_code():
    np.testing.assert_array_equal(normalize1(np.array([[2.0, 4.0], [6.0, 3.0]])), [[0, 128], [255, 64]])
    np.testing.assert_array_equal(normalize1(np.zeros((2, 2))), np.zeros((2, 2)))  # all-zero: unchanged
    assert np.isnan(normalize1(np.full((2, 2), 7.0))).all()  # constant non-zero: 0/0 as MATLAB


def test_haar_pyramid_equals_pywavelets_on_even_sizes():
    pywt = pytest.importorskip("pywt")
    img = _rng_images((64, 48), n=1)[0]
    bands = haar_wpyr(img, 2)
    approx = img
    for level in range(2):
        approx, details = pywt.dwt2(approx, "haar")
        ours = sorted(np.abs(b).ravel().sum() for b in bands[level])
        theirs = sorted(np.abs(d).ravel().sum() for d in details)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        for b in bands[level]:
            assert any(np.allclose(np.abs(b), np.abs(d), rtol=0, atol=1e-9) for d in details)


def test_haar_pyramid_odd_sides_drop_last_row_and_column():
    img = _rng_images((41, 37), n=1)[0]
    odd = haar_wpyr(img, 2)
    cropped = haar_wpyr(img[:40, :36], 2)
    assert odd[0][0].shape == (20, 18) and odd[1][0].shape == (10, 9)
    for lo, lc in zip(odd, cropped, strict=True):
        for b_odd, b_crop in zip(lo, lc, strict=True):
            np.testing.assert_array_equal(b_odd, b_crop)


def test_haar_pyramid_too_small_raises():
    with pytest.raises(ValueError, match="cannot build a 2-level Haar pyramid"):
        haar_wpyr(np.ones((3, 8)), 2)


# ------------------------------------------------------------------------------------------ smoke calibration


@pytest.fixture(scope="module")
def reference(reference_dir):
    return json.loads((reference_dir / "metrics_reference.json").read_text()), reference_dir / "images"


@pytest.mark.calibration
@pytest.mark.parametrize("metric_id", [m for m in MY_IDS if m != "qy@sesf"])
@pytest.mark.parametrize("pair,rule", SMOKE_CASES)
def test_reference_smoke(reference, metric_id, pair, rule):
    ref, images = reference
    info = get_metric(metric_id).info
    expected = ref["values"][pair][rule].get(info.reference_id)
    if expected is None:
        pytest.skip(
            f"{info.reference_id} has no reference value for {pair}/{rule}"
        )  # Qabf_vifb: lytro_01 only
    load = lambda n: np.asarray(Image.open(images / f"{n}.png"), dtype=np.float64)  # noqa: E731
    got = get_metric(metric_id).fn([load(f"{pair}_A"), load(f"{pair}_B")], load(f"{pair}_F_{rule}"))
    tol = ref["metrics"][info.reference_id]["tolerance"]
    assert abs(got - expected) <= tol["abs"] + tol["rel"] * abs(expected), (metric_id, got, expected)


# ------------------------------------------------------------------------------------------ N sources


@pytest.mark.parametrize(
    "metric_id", ["qabf", "qabf@vifb", "qabf@cddfuse", "nabf", "qm", "qm@unitrange", "qsf", "qp", "qcb"]
)
def test_three_sources_are_order_independent(metric_id):
    a, b, c = _rng_images()
    fused = np.round((a + b + c) / 3)
    fn = get_metric(metric_id).fn
    v1, v2 = fn([a, b, c], fused), fn([c, a, b], fused)
    assert math.isfinite(v1)
    assert v1 == pytest.approx(v2, rel=1e-6 if metric_id == "qabf@cddfuse" else 1e-12)


def test_qsf_duplicate_source_changes_nothing():
    a, b, _ = _rng_images()
    fused = np.maximum(a, b)
    fn = get_metric("qsf").fn
    assert fn([a, b, b], fused) == fn([a, b], fused)  # the reference gradient is a max over sources


def test_qm_unitrange_is_qm_on_scaled_inputs():
    a, b, _ = _rng_images((32, 32))
    f = np.round((a + b) / 2)
    assert get_metric("qm@unitrange").fn([a, b], f) == get_metric("qm").fn([a / 255, b / 255], f / 255)


def test_qabf_vifb_differs_only_through_the_equal_strength_bug():
    a = np.zeros((32, 32))
    a[8, 8] = a[20, 12] = 1.0  # unit impulses: Sobel magnitudes sqrt(2) and 2 around them
    b = np.zeros((32, 32))
    b[16, 24] = 3.0
    f = (
        a.copy()
    )  # gA == gF everywhere: the bug makes G = gF; sigmoid(-15(sqrt(2)-0.5)) is not yet 1, at 255x it is
    plain, vifb = get_metric("qabf").fn([a, b], f), get_metric("qabf@vifb").fn([a, b], f)
    assert vifb > plain
    a, b, _ = _rng_images((32, 32))
    f2 = np.round((a + b) / 2) + 0.25  # no exact ties in gradient magnitude -> scale invariant
    assert get_metric("qabf@vifb").fn([a, b], f2) == pytest.approx(
        get_metric("qabf").fn([a, b], f2), rel=1e-12
    )


# ------------------------------------------------------------------------------ errors and edge cases


@pytest.mark.parametrize("metric_id", MY_IDS)
def test_bad_inputs_raise(metric_id):
    a, b, _ = _rng_images((32, 32))
    fn = get_metric(metric_id).fn
    with pytest.raises(ValueError, match="shape"):
        fn([a, b], a[:, :-1])
    with pytest.raises(ValueError, match="shape"):
        fn([a, b[:-1]], a)
    with pytest.raises(ValueError, match="at least 2 source"):
        fn([a], a)
    with pytest.raises(ValueError, match="2-D"):
        fn([np.dstack([a] * 3), np.dstack([b] * 3)], np.dstack([a] * 3))


def test_pair_only_metric_rejects_three_sources():
    a, b, c = _rng_images((32, 32))
    with pytest.raises(ValueError, match="defined for 2 sources, got 3"):
        get_metric("qy@sesf").fn([a, b, c], a)


@pytest.mark.parametrize("metric_id", MY_IDS)
def test_constant_images_give_a_float_not_an_exception(metric_id):
    const = np.full((32, 32), 100.0)
    a, b, _ = _rng_images((32, 32))
    for srcs, fused in (([const, const], const), ([a, b], const), ([const, const], a)):
        value = get_metric(metric_id).fn(srcs, fused)
        assert isinstance(value, float)
        assert not math.isinf(value)


@pytest.mark.parametrize("metric_id", MY_IDS)
def test_uint8_and_float_inputs_agree(metric_id):
    a, b, _ = _rng_images((32, 32))
    f = np.round((a + b) / 2)
    fn = get_metric(metric_id).fn
    as_u8 = fn([a.astype(np.uint8), b.astype(np.uint8)], f.astype(np.uint8))
    assert as_u8 == fn([a, b], f)


def test_qp_handles_odd_sizes():
    a, b, _ = _rng_images((33, 45))
    assert math.isfinite(get_metric("qp").fn([a, b], np.maximum(a, b)))
