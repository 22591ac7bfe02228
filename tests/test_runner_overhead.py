"""The run's work outside the timed calls (issue 15): shared scene inputs, in-memory fused images, PNG cache
settings. Every shortcut must give the very same numbers as the long way round."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import registry
from bench.datasets import Scene
from bench.runner import MethodSpec, RunConfig, run
from bench.types import DatasetInfo

METRICS = ("en", "qabf", "ssim", "nmi", "qy", "ag", "mi", "cc")


def _scene(sid: str, shape: tuple, seed: int, calls: list) -> Scene:
    rng = np.random.default_rng(seed)  # fixture only: values do not matter, determinism does
    imgs = [rng.random(shape, dtype=np.float32) for _ in range(2)]
    sha = tuple(f"{sid}-{k}-{seed}" for k in range(2))

    def load():
        calls.append(sid)
        return [i.copy() for i in imgs]

    return Scene("fake2", sid, ("A", "B"), sha, load_sources=load)


class _Fake:
    info = DatasetInfo(id="fake2", name="fake2", n_scenes=2)
    calls: list = []

    def scenes(self, data_dir=None, *, verify=True):
        return [_scene("rgb", (40, 48, 3), 1, self.calls), _scene("gray", (40, 48), 2, self.calls)]


@pytest.fixture
def fake(monkeypatch):
    registry.load_all()
    ds = _Fake()
    ds.calls = []
    monkeypatch.setitem(registry.DATASETS._entries, "fake2", ds)
    return ds


def _cfg(tmp_path: Path, out: str, **kw) -> RunConfig:
    base = dict(
        methods=(MethodSpec("average"), MethodSpec("max"), MethodSpec("lp")),
        datasets=("fake2",),
        metrics=METRICS,
        jobs=1,
        out=str(tmp_path / out),
        cache_dir=str(tmp_path / "cache"),
        progress=False,
    )
    base.update(kw)
    return RunConfig(**base)


def _values(df: pd.DataFrame) -> pd.DataFrame:
    df = df[~df.metric.str.startswith("time_")]
    return df.sort_values(["scene", "method", "metric"]).reset_index(drop=True)[["scene", "method", "metric",
                                                                                 "value", "status"]]


def test_fresh_fusions_are_scored_from_memory_with_the_cached_pngs_numbers(tmp_path, fake, monkeypatch):
    """A fresh fusion is scored from the array the run just stored; a cached one from its PNG. Same bits."""
    import bench.rundir

    reads: list = []
    real = bench.rundir.read_png_u8
    monkeypatch.setattr(bench.rundir, "read_png_u8", lambda p: reads.append(p) or real(p))
    first = run(_cfg(tmp_path, "a"))
    assert first.counts["fuse_computed"] == 6 and reads == []  # no fused PNG decoded to score it
    import json

    from bench.workers import WARMUP_POLICY

    assert json.loads((first.out / "run.json").read_text())["executor"]["warmup"] == WARMUP_POLICY
    with sqlite3.connect(tmp_path / "cache" / "index.sqlite") as db:
        db.execute("DELETE FROM scores")  # fusions stay cached, scores are recomputed from the PNGs
    second = run(_cfg(tmp_path, "b"))
    assert second.counts["fuse_computed"] == 0 and second.counts["score_computed"] == 6 * len(METRICS)
    assert len(reads) > 0
    a, b = _values(first.results), _values(second.results)
    assert (a["status"] == "ok").all() and len(a) == 6 * len(METRICS)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_big_fresh_fusions_go_to_score_tasks_as_paths(tmp_path, monkeypatch):
    import bench.workers as W

    out = W.FuseOutcome(np.zeros((40, 48, 3), np.uint8), None, 0.1, 0.0, 1, 1, "ok")
    assert W.fused_input(out, tmp_path / "x.png") is out.image
    assert W.fused_input(None, tmp_path / "x.png") == str(tmp_path / "x.png")
    monkeypatch.setattr(W, "FUSED_INLINE_MAX_BYTES", 1000)
    assert W.fused_input(out, tmp_path / "x.png") == str(tmp_path / "x.png")
    assert W.fused_input(out, tmp_path / "x.png", remote=True) is out.image  # remote: always pixels


def test_a_scenes_sources_are_read_and_prepared_once_per_score_task(fake):
    """The calls of one score task share the scene's prepared sources; values equal unshared calls."""
    from bench.imageio import to_uint8
    from bench.workers import score_bundle, score_worker

    scene = fake.scenes()[0]
    rng = np.random.default_rng(5)
    fused = [to_uint8(rng.random((40, 48, 3), dtype=np.float32)) for _ in range(3)]
    calls = tuple((scene.load_sources, None, f, list(METRICS), "standard", None) for f in fused)
    fake.calls.clear()
    shared = score_bundle(calls)
    assert fake.calls == ["rgb"]  # once for three fused images
    alone = [score_worker(*c) for c in calls]
    assert len(fake.calls) == 4
    for x, y in zip(shared, alone, strict=True):
        assert [(s.metric, s.value, s.status) for s, _ in x] == [(s.metric, s.value, s.status) for s, _ in y]
        assert all(s.status == "ok" for s, _ in x)


def test_scene_inputs_are_keyed_by_loader_and_protocol(fake):
    from bench.workers import scene_inputs

    rgb, gray = fake.scenes()
    shared: dict = {}
    a = scene_inputs(rgb.load_sources, None, "standard", shared)
    assert scene_inputs(rgb.load_sources, None, "standard", shared)[0][0] is a[0][0]  # reused
    b = scene_inputs(gray.load_sources, None, "standard", shared)
    c = scene_inputs(rgb.load_sources, None, "sesf2020", shared)
    assert b[0][0].shape == (40, 48) and c[0][0].max() <= 1.0 < a[0][0].max()
    assert all(not s.flags.writeable for s in a[0])  # read-only, as the metrics' memos expect
    with pytest.raises(ZeroDivisionError):
        scene_inputs(lambda: 1 / 0, None, "standard", shared)
    assert len(shared) == 3  # a failure is not kept


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (37, 53, 4)])
def test_cached_png_is_lossless(tmp_path, shape):
    from bench.cache import _encode_png
    from bench.rundir import read_png_u8

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    img[:10] = 7  # a flat band (the run-length strategy's best case) next to noise (its worst)
    p = tmp_path / "x.png"
    p.write_bytes(_encode_png(img))
    back = read_png_u8(p)
    assert back.dtype == np.uint8 and back.shape == img.shape and np.array_equal(back, img)


# --- warm-up (bench.workers.warm_up) -------------------------------------------------------------------
def _method(fn, **info):
    from bench.registry import Method
    from bench.types import MethodInfo

    return Method(MethodInfo(id="probe", name="Probe", **info), fn)


def _burn(images, per_pixel_s: float):
    """CPU work proportional to the pixel count (process time, not sleep)."""
    import time

    from bench.types import FusionResult

    t_end = time.process_time() + per_pixel_s * images[0].shape[0] * images[0].shape[1]
    while time.process_time() < t_end:
        pass
    return FusionResult(images[0])


def _shapes_seen(per_pixel_s: float, shape=(300, 320, 3), **info):
    from bench.workers import warm_up

    seen: list = []

    def fuse(images, device="cpu"):
        seen.append(images[0].shape)
        return _burn(images, per_pixel_s)

    imgs = [np.zeros(shape, np.float32), np.ones(shape, np.float32)]
    return warm_up(_method(fuse, **info), imgs, {}), seen


def test_an_expensive_deep_method_is_warmed_up_on_a_crop_only():
    from bench.workers import WARM_CROP

    warm, seen = _shapes_seen(1e-5, device_aware=True)  # a full call ~1 s of CPU: over WARM_FULL_MAX_S
    assert warm is True and seen == [(WARM_CROP, WARM_CROP, 3)] * 2


def test_a_classical_method_gets_the_full_warm_up_up_to_its_limit(monkeypatch):
    """Classical methods keep per-shape set-up in Python caches: the full warm-up up to 5 s estimated."""
    import bench.workers as W

    warm, seen = _shapes_seen(1e-5)  # ~1 s: under WARM_FULL_MAX_CLASSICAL_S
    assert warm is False and seen == [(W.WARM_CROP, W.WARM_CROP, 3)] * 2
    monkeypatch.setattr(W, "WARM_FULL_MAX_CLASSICAL_S", 0.5)  # as if it were a very slow port
    assert _shapes_seen(1e-5)[0] is True


def test_a_cheap_method_gets_the_full_warm_up_too():
    from bench.workers import WARM_CROP

    warm, seen = _shapes_seen(1e-9)
    assert warm is False and seen == [(WARM_CROP, WARM_CROP, 3)] * 2  # the caller makes the full call


@pytest.mark.parametrize("info", [{"scene_aware": True}, {}])
def test_full_warm_up_for_scene_aware_methods_and_small_images(info):
    shape = (300, 320) if info else (200, 320)  # 200 < 2 x WARM_CROP
    warm, seen = _shapes_seen(1e-5, shape, device_aware=True, **info)
    assert warm is False and seen == []


def test_full_warm_up_when_the_crop_is_refused():
    from bench.workers import warm_up

    def fuse(images, device="cpu"):
        if images[0].shape[0] < 256:
            raise ValueError("too small")
        return _burn(images, 1e-5)

    imgs = [np.zeros((300, 320), np.float32)] * 2
    assert warm_up(_method(fuse, device_aware=True), imgs, {}) is False
    assert warm_up(_method(fuse, device_aware=True), imgs, {}, device="cuda") is False


def test_fuse_worker_times_the_full_call_after_the_crop_warm_up(monkeypatch):
    """First meeting of an expensive method: two crop calls, then the timed full call; no full warm-up.
    A cheap one: two crop calls, the full warm-up, the timed call. Later scenes: the timed call only."""
    import bench.workers as W
    from bench import registry

    for per_pixel, first in ((1e-5, 1), (1e-9, 2)):
        seen: list = []

        def fuse(images, device="cpu", c=per_pixel, seen=seen):
            seen.append(images[0].shape[:2])
            return _burn(images, c)

        monkeypatch.setitem(registry.METHODS._entries, "probe", _method(fuse, device_aware=True))
        monkeypatch.setattr(W, "_WARM", set())
        imgs = [np.zeros((300, 320, 3), np.float32), np.ones((300, 320, 3), np.float32)]
        load = lambda imgs=imgs: [i.copy() for i in imgs]  # noqa: E731
        out = W.fuse_worker("probe", {}, "cpu", load, 1)
        assert out.status == "ok" and out.repeats == 1
        assert seen == [(W.WARM_CROP, W.WARM_CROP)] * 2 + [(300, 320)] * first
        seen.clear()
        assert W.fuse_worker("probe", {}, "cpu", load, 1).status == "ok"
        assert seen == [(300, 320)]


# --- in-place conversions: the same bits as the expressions they replace ----------------------------------
def _inputs():
    rng = np.random.default_rng(11)
    k = np.arange(256) / 255.0
    edges = np.concatenate([k, np.nextafter(k, 2), np.nextafter(k, -1), (np.arange(255) + 0.5) / 255.0])
    edges = np.clip(edges, 0, 1)
    out = []
    for dt in (np.float32, np.float64):
        flat = np.concatenate([edges, rng.random(3 * 97 * 61 - edges.size)]).astype(dt)
        out += [flat.reshape(97, 61, 3), flat[: 97 * 61].reshape(97, 61)]
    return out


def test_to_uint8_in_place_is_the_expression():
    from bench.imageio import to_uint8

    for img in _inputs():
        before = img.copy()
        want = np.floor(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        assert np.array_equal(to_uint8(img), want)
        assert np.array_equal(img, before)  # input untouched


def test_protocols_in_place_are_the_expressions():
    from bench.luminance import MATLAB, SKIMAGE
    from bench.protocols import prepare

    def u8(img):
        return np.floor(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5)

    def standard(img):
        u = u8(img)
        return u if u.ndim == 2 else np.floor(u @ np.array(MATLAB) + 0.5)

    def sesf(img):
        u = u8(img)
        return u if u.ndim == 2 else (u * (1.0 / 255.0)) @ np.array(SKIMAGE)

    def sesf_rgb(img):
        u = u8(img)
        if u.ndim == 2:
            u = np.repeat(u[:, :, None], 3, axis=2)
        return (u * (1.0 / 255.0)) @ np.array(SKIMAGE)

    imgs = _inputs()
    before = [i.copy() for i in imgs]
    for name, ref in (("standard", standard), ("sesf2020", sesf), ("sesf2020_rgb", sesf_rgb)):
        for got, img in zip(prepare(imgs, name), imgs, strict=True):
            want = ref(img)
            assert got.dtype == np.float64 and got.shape == want.shape
            assert np.array_equal(got, want), name
            assert not got.flags.writeable and got.base is None and got.flags.c_contiguous
    assert all(np.array_equal(a, b) for a, b in zip(imgs, before, strict=True))
