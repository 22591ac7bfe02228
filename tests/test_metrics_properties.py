"""Contract tests over the WHOLE metric registry (parametrised over ``list_metrics()``).

Every registered metric, whoever wrote it, is checked for:

* identical inputs give ``MetricInfo.ideal`` where one is defined (``None``: skipped, says so);
* uint8 and float64 inputs give the same value (direct call), and ``bench.scoring.score_images`` on
  ``to_float(uint8)`` images (``standard`` protocol) gives the direct value;
* gray and RGB inputs both work through ``score_images`` (no error row), and a grey image replicated
  into three channels scores exactly like the grey image;
* constant images give a finite value, a NaN, or the ideal (e.g. PSNR's inf) -- never an exception;
* results are deterministic (bit-identical on a second call);
* a shape mismatch (source or fused or reference) raises ``ValueError``;
* N = 3 sources: metrics declaring ``n_sources="2"`` raise ``ValueError``, the others return a value.

Inputs: a deterministic synthetic 176x192 textured image (fixed seed 20251122 below; no value in these
tests depends on it beyond "textured, no flat areas") with one half blurred per source. 176 px is the
smallest side Wang's 5-scale MS-SSIM accepts; sides are multiples of 4 and 16 (Qm, Qcv blocks).
Tolerances: :mod:`tests._tolerances`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _tolerances import DTYPE_TOL, IDEAL_TOL

from bench.imageio import to_float
from bench.registry import get_metric, list_metrics
from bench.scoring import score_images

H, W = 176, 192
RTOL, ATOL = DTYPE_TOL[np.float64]


def _box5(img: np.ndarray) -> np.ndarray:
    pad = np.pad(img, 2, mode="edge")
    return sum(pad[dy : dy + H, dx : dx + W] for dy in range(5) for dx in range(5)) / 25.0


def _make_images():
    rng = np.random.default_rng(20251122)
    y, x = np.mgrid[0:H, 0:W]
    base = 110 + 55 * np.sin(x / 7.0) * np.cos(y / 11.0) + 40 * (((x // 24) + (y // 24)) % 2)
    base = np.clip(np.rint(base + rng.normal(0, 12, (H, W))), 0, 255)
    blur = np.rint(_box5(base))
    a = base.copy()
    a[:, W // 2 :] = blur[:, W // 2 :]
    b = base.copy()
    b[:, : W // 2] = blur[:, : W // 2]
    f = np.floor((a + b + 1) / 2)
    u8 = {k: v.astype(np.uint8) for k, v in {"A": a, "B": b, "F": f, "GT": base}.items()}
    return u8


IMGS = _make_images()
F64 = {k: v.astype(np.float64) for k, v in IMGS.items()}
# decision-map metrics take a decision map and focus maps, not images: tests/test_headline.py covers them
METRIC_IDS = [m for m in list_metrics() if not get_metric(m).info.needs_decision_map]


def _call(metric_id: str, sources, fused, reference=None) -> float:
    m = get_metric(metric_id)
    ref = reference if m.info.needs_reference else None
    return float(m.fn(list(sources), fused, reference=ref))


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= ATOL + RTOL * abs(b)


@pytest.fixture(scope="module")
def direct_values():
    """float64 values of every metric on the standard inputs (computed lazily, once)."""
    cache: dict[str, float] = {}

    def get(mid: str) -> float:
        if mid not in cache:
            cache[mid] = _call(mid, [F64["A"], F64["B"]], F64["F"], F64["GT"])
        return cache[mid]

    return get


WITH_IDEAL = [m for m in METRIC_IDS if get_metric(m).info.ideal is not None]  # metadata decides, no lists


def test_ideal_values_are_declared_for_the_core_metrics():
    assert {"qg", "qm", "qcb", "qy", "ssim", "vif", "psnr", "fmi_edge"} <= set(WITH_IDEAL)


@pytest.mark.parametrize("metric_id", WITH_IDEAL)
def test_identical_inputs_give_ideal(metric_id):
    info = get_metric(metric_id).info
    x = F64["GT"]
    got = _call(metric_id, [x, x], x, x)
    if math.isinf(info.ideal):
        assert got == info.ideal, f"{metric_id}: identical inputs gave {got}, ideal {info.ideal}"
    else:
        rtol, atol = IDEAL_TOL
        assert abs(got - info.ideal) <= atol + rtol * abs(info.ideal), (
            f"{metric_id}: identical inputs gave {got!r}, declared ideal {info.ideal!r}"
        )


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_uint8_and_float_inputs_agree(metric_id, direct_values):
    ref = direct_values(metric_id)
    got_u8 = _call(metric_id, [IMGS["A"], IMGS["B"]], IMGS["F"], IMGS["GT"])
    assert _same(got_u8, ref), f"{metric_id}: uint8 input gave {got_u8!r}, float64 gave {ref!r}"
    info = get_metric(metric_id).info
    scores = score_images(
        [to_float(IMGS["A"]), to_float(IMGS["B"])],
        to_float(IMGS["F"]),
        [metric_id],
        protocol="standard",
        reference=to_float(IMGS["GT"]) if info.needs_reference else None,
    )
    (s,) = scores
    assert s.status == "ok", f"{metric_id}: score_images error: {s.message}"
    assert _same(s.value, ref), f"{metric_id}: score_images gave {s.value!r}, direct call {ref!r}"


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_gray_and_rgb_inputs_work(metric_id, direct_values):
    info = get_metric(metric_id).info
    gray = {k: to_float(v) for k, v in IMGS.items()}
    rep = {k: np.repeat(v[:, :, None], 3, axis=2) for k, v in gray.items()}
    # a real colour image: channels differ (tinted copies of the grey image)
    tint = np.array([1.0, 0.85, 0.6], dtype=np.float32)
    colour = {k: np.clip(v[:, :, None] * tint, 0, 1).astype(np.float32) for k, v in gray.items()}
    for name, imgs in (("gray", gray), ("gray-as-RGB", rep), ("RGB", colour)):
        (s,) = score_images(
            [imgs["A"], imgs["B"]],
            imgs["F"],
            [metric_id],
            protocol="standard",
            reference=imgs["GT"] if info.needs_reference else None,
        )
        assert s.status == "ok", f"{metric_id} on {name} input: {s.message}"
        if name == "gray-as-RGB":
            grey = direct_values(metric_id)
            assert _same(s.value, grey), f"{metric_id}: grey as RGB gave {s.value!r}, grey gave {grey!r}"


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_constant_images_never_raise(metric_id):
    info = get_metric(metric_id).info
    const = np.full((H, W), 117.0)
    zeros = np.zeros((H, W))
    cases = {
        "fused constant": ([F64["A"], F64["B"]], const, F64["GT"]),
        "all equal constant": ([const, const], const, const),
        "all zero": ([zeros, zeros], zeros, zeros),
        "sources constant": ([zeros, np.full((H, W), 255.0)], F64["F"], F64["GT"]),
    }
    for name, (srcs, fus, ref) in cases.items():
        got = _call(metric_id, srcs, fus, ref)  # must not raise
        ok = math.isfinite(got) or math.isnan(got) or (info.ideal is not None and got == info.ideal)
        assert ok, f"{metric_id} on '{name}': got {got!r} (expected finite, NaN or the ideal)"


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_deterministic(metric_id, direct_values):
    from metrics._memo import clear_memos

    first = direct_values(metric_id)
    clear_memos()  # the second call must compute again, not read the content-keyed memo caches
    again = _call(metric_id, [F64["A"].copy(), F64["B"].copy()], F64["F"].copy(), F64["GT"].copy())
    assert (math.isnan(first) and math.isnan(again)) or first == again, (
        f"{metric_id}: {first!r} then {again!r}"
    )


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_shape_mismatch_raises(metric_id):
    info = get_metric(metric_id).info
    fn = get_metric(metric_id).fn
    a, b, f, gt = F64["A"], F64["B"], F64["F"], F64["GT"]
    ref = gt if info.needs_reference else None
    with pytest.raises(ValueError):
        fn([a, b[:-4, :]], f, reference=ref)
    with pytest.raises(ValueError):
        fn([a, b], f[:, :-4], reference=gt[:, :-4] if info.needs_reference else None)
    if info.needs_reference:
        with pytest.raises(ValueError):
            fn([a, b], f, reference=gt[:-4, :])


@pytest.mark.parametrize("metric_id", METRIC_IDS)
def test_three_sources(metric_id):
    info = get_metric(metric_id).info
    srcs = [F64["A"], F64["B"], F64["GT"]]
    if info.n_sources.strip().startswith("2"):
        with pytest.raises(ValueError):
            _call(metric_id, srcs, F64["F"], F64["GT"])
    else:
        got = _call(metric_id, srcs, F64["F"], F64["GT"])
        assert math.isfinite(got) or math.isnan(got) or got == info.ideal, f"{metric_id}: {got!r}"
