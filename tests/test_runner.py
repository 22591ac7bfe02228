"""The runner: results.csv/run.json, cache reuse, version bumps, error rows, skips, SIGKILL resume.

Most tests run in process (``jobs=1``) on a tiny fake dataset registered for the test only
(monkeypatched into the registry, removed afterwards); the loky, CLI and kill tests use real
lytro scenes through ``MFIF_DATA``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import registry
from bench.datasets import Scene
from bench.errors import UserError
from bench.registry import Method, Metric, get_method, get_metric
from bench.runner import RESULT_COLUMNS, MethodSpec, RunConfig, resolve_datasets, run
from bench.types import DatasetInfo, FusionResult, MethodInfo

REPO = Path(__file__).resolve().parent.parent


def _scene(sid: str, n: int, seed: int) -> Scene:
    rng = np.random.default_rng(seed)  # fixture only: values do not matter, determinism does
    imgs = [rng.random((24, 32, 3), dtype=np.float32) for _ in range(n)]
    sha = tuple(f"{sid}-{k}-{seed}" for k in range(n))
    return Scene("fake", sid, tuple("ABC"[:n]), sha, load_sources=lambda: [i.copy() for i in imgs])


class _FakeDataset:
    info = DatasetInfo(id="fake", name="fake", n_scenes=3)

    def scenes(self, data_dir=None, *, verify=True):
        return [_scene("s1", 2, 1), _scene("s2", 2, 2), _scene("s3", 3, 3)]


@pytest.fixture
def fake(monkeypatch):
    registry.load_all()
    monkeypatch.setitem(registry.DATASETS._entries, "fake", _FakeDataset())
    return "fake"


def _cfg(tmp_path: Path, **kw) -> RunConfig:
    base = dict(
        methods=(MethodSpec("average"), MethodSpec("max")),
        datasets=("fake",),
        metrics=("en",),
        jobs=1,
        out=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        progress=False,
    )
    base.update(kw)
    return RunConfig(**base)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["dataset", "scene", "method", "metric"]).reset_index(drop=True)


class TestRunFake:
    def test_results_and_metadata(self, tmp_path, fake):
        s = run(_cfg(tmp_path))
        df = pd.read_csv(s.out / "results.csv", keep_default_na=False)
        assert list(df.columns) == RESULT_COLUMNS
        # 3 scenes x 2 methods x (time, time IQR, en)
        assert len(df) == 18
        assert set(df["metric"]) == {"time_fuse_s", "time_fuse_iqr_s", "en"}
        assert (df["status"] == "ok").all()
        assert not df.duplicated(["dataset", "scene", "method", "metric"]).any()
        meta = json.loads((s.out / "run.json").read_text())
        for k in ("git_commit", "versions", "cpu", "argv", "started", "finished", "counts", "fuse_threads"):
            assert k in meta
        assert meta["counts"]["fuse_computed"] == 6 and meta["counts"]["score_computed"] == 6
        assert meta["counts"]["cached"] == 0
        # en of the average fusion equals the metric called directly on the stored 8-bit image
        en = get_metric("en").fn
        scene = _FakeDataset().scenes()[0]
        from bench.imageio import to_uint8
        from bench.protocols import prepare

        srcs = scene.load_sources()
        avg = np.mean(np.stack(srcs), axis=0)
        prepped = prepare([*srcs, to_uint8(avg) / 255.0])
        want = en(prepped[:-1], prepped[-1])
        got = df[(df.scene == "s1") & (df.method == "average") & (df.metric == "en")]["value"].iloc[0]
        assert float(got) == pytest.approx(want, rel=1e-12)

    def test_second_run_recomputes_nothing(self, tmp_path, fake):
        first = run(_cfg(tmp_path))
        second = run(_cfg(tmp_path, out=str(tmp_path / "out2")))
        assert second.counts["computed"] == 0
        assert second.counts["cached"] == first.counts["computed"]
        a = pd.read_csv(first.out / "results.csv")
        b = pd.read_csv(second.out / "results.csv")
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b))

    def test_metric_version_bump_recomputes_only_that_metric(self, tmp_path, fake, monkeypatch):
        run(_cfg(tmp_path, metrics=("en", "en@vifb")))
        m = get_metric("en")
        monkeypatch.setitem(
            registry.METRICS._entries, "en", Metric(dataclasses.replace(m.info, version="999"), m.fn)
        )
        s = run(_cfg(tmp_path, metrics=("en", "en@vifb")))
        assert s.counts["fuse_computed"] == 0
        assert s.counts["score_computed"] == 6  # en on 6 fused images; en@vifb all cached
        assert s.counts["score_cached"] == 6

    def test_method_version_bump_recomputes_its_fusions_and_scores(self, tmp_path, fake, monkeypatch):
        run(_cfg(tmp_path))
        m = get_method("max")
        monkeypatch.setitem(
            registry.METHODS._entries, "max", Method(dataclasses.replace(m.info, version="999"), m.fuse)
        )
        s = run(_cfg(tmp_path))
        assert s.counts["fuse_computed"] == 3 and s.counts["fuse_cached"] == 3
        # max's bytes did not change, so its scores are found again by the fused image's sha256
        assert s.counts["score_computed"] == 0

    def test_error_row_and_run_continues(self, tmp_path, fake, monkeypatch):
        def boom(images):
            if images[0].shape[-1] == 3 and len(images) == 3:
                raise RuntimeError("cannot fuse three\nsecond line")
            return FusionResult(images[0])

        monkeypatch.setitem(
            registry.METHODS._entries, "boom", Method(MethodInfo(id="boom", name="Boom"), boom)
        )
        s = run(_cfg(tmp_path, methods=(MethodSpec("average"), MethodSpec("boom"))))
        df = s.results
        err = df[(df.method == "boom") & (df.status == "error")]
        assert len(err) == 1 and err.iloc[0]["scene"] == "s3" and err.iloc[0]["metric"] == "time_fuse_s"
        assert math.isnan(err.iloc[0]["value"])
        assert err.iloc[0]["message"] == "RuntimeError: cannot fuse three"
        assert (df[df.method == "average"]["status"] == "ok").all()
        assert s.counts["fuse_errors"] == 1
        # the table shows the failure count for boom, and its mean excludes the failed scene
        from bench.report import summarize

        summ = summarize(df)[0]
        row = summ.methods.set_index("method").loc["boom"]
        assert row["fusion_errors"] == 1
        cell = summ.cells[(summ.cells.method == "boom") & (summ.cells.metric == "en")].iloc[0]
        assert cell["n"] == 2
        # cached error is reused (fast repeat) unless --retry-errors
        again = run(_cfg(tmp_path, methods=(MethodSpec("average"), MethodSpec("boom"))))
        assert again.counts["computed"] == 0 and again.counts["fuse_errors"] == 1
        retry = run(_cfg(tmp_path, methods=(MethodSpec("average"), MethodSpec("boom")), retry_errors=True))
        assert retry.counts["fuse_computed"] == 1

    def test_more_sources_than_supported_is_skipped(self, tmp_path, fake, monkeypatch):
        m = get_method("average")
        monkeypatch.setitem(
            registry.METHODS._entries, "average", Method(dataclasses.replace(m.info, max_images=2), m.fuse)
        )
        df = run(_cfg(tmp_path)).results
        row = df[(df.method == "average") & (df.scene == "s3")]
        assert list(row["status"]) == ["skipped"] and "at most 2" in row.iloc[0]["message"]

    def test_reference_metrics_have_no_row_without_reference(self, tmp_path, fake):
        gt = [m.info.id for m in registry.METRICS.values() if m.info.needs_reference]
        assert gt, "ssim_gt, psnr_gt and mse_gt are registered"
        df = run(_cfg(tmp_path, metrics=("en", gt[0]))).results
        assert gt[0] not in set(df["metric"])

    def test_two_source_metrics_have_no_row_on_three_source_scenes(self, tmp_path, fake):
        pair_only = [m.info.id for m in registry.METRICS.values() if m.info.max_sources == 2]
        assert "qy" in pair_only
        df = run(_cfg(tmp_path, metrics=("en", "qy"))).results
        qy = df[df["metric"] == "qy"]
        assert set(qy["scene"]) == {"s1", "s2"}  # s3 has 3 sources: no row, not an error row
        assert (qy["status"] == "ok").all()


def test_training_only_dataset_is_refused():
    train = [d.info.id for d in registry.DATASETS.values() if d.info.training_only]
    if not train:
        pytest.skip("no training-only dataset declared")
    with pytest.raises(UserError, match="training"):
        resolve_datasets(train[0])


def test_unknown_protocol_and_bad_repeats(tmp_path, fake):
    with pytest.raises(UserError, match="protocol"):
        run(_cfg(tmp_path, protocol="nope"))
    with pytest.raises(UserError, match="repeats"):
        run(_cfg(tmp_path, repeats=0))


# ---------------------------------------------------------------------------------------------
# real data, subprocesses
# ---------------------------------------------------------------------------------------------
def _bench(*args: str, env_extra: dict | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        **kw,
    )


def test_cli_run_lytro_prints_ranked_table(tmp_path, data_dir):
    cp = _bench(
        "run",
        "--methods",
        "average,max",
        "--dataset",
        "lytro",
        "--limit",
        "2",
        "--metrics",
        "en",
        "--jobs",
        "1",
        "--out",
        str(tmp_path / "o"),
        "--cache-dir",
        str(tmp_path / "c"),
        "--no-plots",
        "--repeats",
        "3",
    )
    assert cp.returncode == 0, cp.stderr
    assert "### lytro (2 scenes" in cp.stdout and "| average |" in cp.stdout
    df = pd.read_csv(tmp_path / "o" / "results.csv")
    assert len(df) == 2 * 2 * 3
    t = df[df.metric == "time_fuse_s"]["value"]
    assert (t > 0).all()
    meta = json.loads((tmp_path / "o" / "run.json").read_text())
    assert meta["executor"]["jobs"] == 1 and meta["config"]["repeats"] == 3
    assert "IQR over 3 repeats" in set(df[df.metric == "time_fuse_iqr_s"]["message"])


def test_sigkill_resume_no_lost_or_duplicated_rows(tmp_path, data_dir):
    """Kill -9 a run after a few fusions were committed; the rerun completes with exactly the rows
    of an uninterrupted run and leaves no temporary files."""
    cache = tmp_path / "cache"
    args = [
        "run",
        "--methods",
        "average,max,lp",
        "--dataset",
        "lytro",
        "--limit",
        "3",
        "--metrics",
        "en",
        "--jobs",
        "1",
        "--no-plots",
        "--no-progress",
        "--repeats",
        "5",
        "--cache-dir",
        str(cache),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", *args, "--out", str(tmp_path / "killed")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = cache / "index.sqlite"
    deadline = time.time() + 240
    n = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    n = con.execute("SELECT COUNT(*) FROM fused").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 2:
                break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("run finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "results.csv").exists()
    cp = _bench(*args, "--out", str(tmp_path / "resumed"))
    assert cp.returncode == 0, cp.stderr
    meta = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert meta["counts"]["fuse_cached"] >= 2
    assert meta["counts"]["fuse_computed"] + meta["counts"]["fuse_cached"] == 9
    clean = run(
        RunConfig(
            methods=tuple(MethodSpec(m) for m in ("average", "max", "lp")),
            datasets=("lytro",),
            metrics=("en",),
            limit=3,
            jobs=1,
            repeats=1,
            out=str(tmp_path / "clean"),
            cache_dir=str(tmp_path / "cache2"),
            progress=False,
        )
    )
    a = pd.read_csv(tmp_path / "resumed" / "results.csv")
    b = pd.read_csv(clean.out / "results.csv")
    key = ["dataset", "scene", "method", "metric"]
    assert not a.duplicated(key).any()
    q = [m for m in set(a.metric) if not m.startswith("time_")]
    pd.testing.assert_frame_equal(_sorted(a[a.metric.isin(q)]), _sorted(b[b.metric.isin(q)]))
    assert sorted(map(tuple, a[key].values.tolist())) == sorted(map(tuple, b[key].values.tolist()))
    leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_max_sources_uses_the_first_frames(tmp_path, fake):
    df = run(_cfg(tmp_path, max_sources=2, metrics=())).results
    assert set(df["scene"]) == {"s1", "s2", "s3[:2]"}
    assert (df["status"] == "ok").all()


def test_cache_sweeps_only_orphaned_temp_files(tmp_path):
    from bench.cache import ResultCache, fused_key

    c = ResultCache(tmp_path)
    d = tmp_path / "fused" / "ab"
    d.mkdir(parents=True)
    dead = d / f".x.png.{2**22 + 12345}.1.tmp"  # above the default pid_max: no such process
    alive = d / f".y.png.{os.getpid()}.1.tmp"
    dead.write_bytes(b"half")
    alive.write_bytes(b"writing")
    c.close()
    ResultCache(tmp_path).close()
    assert not dead.exists() and alive.exists()
    # keys are stable and sensitive to every component
    k = fused_key("lp", "1", "", {"levels": 4}, "cpu", ["a", "b"])
    assert k == fused_key("lp", "1", "", {"levels": 4}, "cpu", ("a", "b"))
    assert (
        len(
            {
                k,
                fused_key("lp", "2", "", {"levels": 4}, "cpu", ["a", "b"]),
                fused_key("lp", "1", "", {"levels": 3}, "cpu", ["a", "b"]),
                fused_key("lp", "1", "", {"levels": 4}, "cpu", ["b", "a"]),
            }
        )
        == 4
    )
