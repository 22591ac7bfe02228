"""Errors that heal: environmental failures are never cached, input-property errors are; every run
ends with a summary on stderr; ``run --strict`` fails on error rows."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import registry
from bench.cache import ResultCache
from bench.datasets import Scene
from bench.errors import (
    DataUnavailable,
    EnvironmentFailure,
    UserError,
    WeightsUnavailable,
    is_environmental,
    is_environmental_message,
    one_line,
)
from bench.registry import Method, UnknownEntryError
from bench.runner import MethodSpec, RunConfig, run
from bench.summary import format_summary, has_errors
from bench.types import DatasetInfo, FusionResult, MethodInfo

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = Path(os.environ.get("MFIF_WEIGHTS", "/nonexistent"))


@pytest.mark.parametrize(
    "exc,env",
    [
        (WeightsUnavailable("no weights"), True),
        (DataUnavailable("no data"), True),
        (UnknownEntryError("unknown method 'x'"), True),
        (ModuleNotFoundError("No module named 'plugin'"), True),
        (ImportError("cannot import name"), True),
        (MemoryError(), True),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"), True),
        (FileNotFoundError("gone.png"), True),
        (ValueError("lp: a 3x3 image is too small for 4 pyramid levels"), False),
        (UserError("method takes at most 2 sources"), False),
        (RuntimeError("shapes do not match"), False),
        (ZeroDivisionError("division by zero"), False),
    ],
)
def test_classification(exc, env):
    assert is_environmental(exc) is env
    assert is_environmental_message(one_line(exc)) is env
    assert "\n" not in one_line(exc)


def test_environment_failures_are_user_errors_for_the_cli():
    assert issubclass(WeightsUnavailable, EnvironmentFailure) and issubclass(EnvironmentFailure, UserError)
    assert is_environmental_message("worker crashed: TerminatedWorkerError: ...")


def test_cache_refuses_environment_errors(tmp_path):
    c = ResultCache(tmp_path)
    assert not c.put_fused_error("a" * 64, one_line(WeightsUnavailable("x")), device="cpu", method="m",
                                 created="")
    assert c.get_fused("a" * 64) is None
    assert c.put_fused_error("b" * 64, one_line(ValueError("too small")), device="cpu", method="m",
                             created="")
    assert c.get_fused("b" * 64).status == "error"
    c.put_scores([("k1", "en", math.nan, "error", one_line(MemoryError()), 1.0),
                  ("k2", "en", math.nan, "error", "ValueError: constant image", 1.0),
                  ("k3", "en", 1.5, "ok", "", 1.0)], "")
    assert set(c.get_scores(["k1", "k2", "k3"])) == {"k2", "k3"}
    # an environmental error written by an older version is a miss (and is dropped)
    with c._db:
        c._db.execute("INSERT INTO fused (key, sha256, shape, has_dm, status, message) VALUES "
                      "(?, '', '', 0, 'error', ?)", ("c" * 64, "ModuleNotFoundError: No module named 'x'"))
    assert c.get_fused("c" * 64) is None
    c.close()


# ---- runner: a method whose failure depends on the environment ---------------------------------------

STATE = {"broken": None}


def _flaky(images, **kw):
    if STATE["broken"] == "weights":
        raise WeightsUnavailable("weights flaky.pt not found; put them in $MFIF_WEIGHTS")
    if STATE["broken"] == "import":
        raise ModuleNotFoundError("No module named 'flaky_plugin_dep'")
    if STATE["broken"] == "input":
        raise ValueError("flaky: images too small")
    return FusionResult(np.mean(images, axis=0).astype(np.float32))


class _Fake:
    info = DatasetInfo(id="errfake", name="errfake", n_scenes=2)

    def scenes(self, data_dir=None, *, verify=True):
        out = []
        for k in (1, 2):
            rng = np.random.default_rng(k)  # fixture only
            imgs = [rng.random((20, 24), dtype=np.float32) for _ in range(2)]
            out.append(Scene("errfake", f"s{k}", ("A", "B"), (f"e{k}a", f"e{k}b"),
                             load_sources=lambda i=imgs: [x.copy() for x in i]))
        return out


@pytest.fixture
def flaky(monkeypatch):
    registry.load_all()
    monkeypatch.setitem(registry.DATASETS._entries, "errfake", _Fake())
    method = Method(MethodInfo(id="flaky", name="flaky"), _flaky)
    monkeypatch.setitem(registry.METHODS._entries, "flaky", method)
    yield
    STATE["broken"] = None


def _cfg(tmp_path, out):
    return RunConfig(methods=(MethodSpec("flaky"), MethodSpec("average")), datasets=("errfake",),
                     metrics=("en",), jobs=1, out=str(tmp_path / out), cache_dir=str(tmp_path / "cache"),
                     progress=False)


@pytest.mark.parametrize("kind", ["weights", "import"])
def test_environment_error_heals_without_retry_flag(tmp_path, flaky, capfd, kind):
    STATE["broken"] = kind
    first = run(_cfg(tmp_path, "o1"))
    err = capfd.readouterr().err
    rows = first.results[(first.results.method == "flaky") & (first.results.metric == "time_fuse_s")]
    assert (rows.status == "error").all() and rows.message.str.startswith("environment: ").all()
    assert "summary:" in err and "method flaky: 2 error row(s); first: environment:" in err
    assert "not cached" in err
    STATE["broken"] = None
    second = run(_cfg(tmp_path, "o2"))  # no retry_errors
    assert (second.results.status == "ok").all()
    assert second.counts["fuse_computed"] == 2 and second.counts["fuse_cached"] == 2  # average was cached


def test_input_property_error_is_cached(tmp_path, flaky, capfd):
    STATE["broken"] = "input"
    run(_cfg(tmp_path, "o1"))
    STATE["broken"] = None
    capfd.readouterr()
    second = run(_cfg(tmp_path, "o2"))
    err = capfd.readouterr().err
    assert second.counts["fuse_errors_cached"] == 2  # same inputs, same version: the error is reused
    assert "fusion errors 2 (2 cached)" in err and "--retry-errors" in err
    third = run(dataclass_replace(_cfg(tmp_path, "o3"), retry_errors=True))
    assert (third.results.status == "ok").all()


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def test_summary_counts_nan_and_first_messages():
    df = pd.DataFrame(
        [
            ["d", "s1", "m1", "time_fuse_s", math.nan, "error", "ValueError: small", "standard", "cpu"],
            ["d", "s2", "m1", "time_fuse_s", math.nan, "error", "ValueError: other", "standard", "cpu"],
            ["d", "s1", "m2", "time_fuse_s", 0.1, "ok", "", "standard", "cpu"],
            ["d", "s1", "m2", "qg", math.nan, "error", "ZeroDivisionError: x", "standard", "cpu"],
            ["d", "s1", "m2", "en", math.nan, "ok", "metric returned NaN", "standard", "cpu"],
        ],
        columns=["dataset", "scene", "method", "metric", "value", "status", "message", "protocol", "device"],
    )
    text = format_summary(df, {"computed": 3, "cached": 2, "fuse_errors_cached": 1, "score_errors": 1})
    assert text.splitlines()[0] == (
        "summary: computed 3, cached 2; fusion errors 2 (1 cached), metric errors 1 (0 cached), NaN values 1"
    )
    assert "method m1: 2 error row(s); first: ValueError: small" in text
    assert "metric qg: 1 error row(s); first: ZeroDivisionError: x" in text
    assert has_errors(df) and not has_errors(df[df.status == "ok"])


def _bench(*args, **env):
    e = dict(os.environ, PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=REPO,
                          env=e, timeout=600)


@pytest.mark.skipif(not (WEIGHTS / "sesf_fuse").is_dir(), reason="authors' weights not in $MFIF_WEIGHTS")
def test_sesf_without_then_with_weights(tmp_path):
    """The finding: sesf without weights, then with them, still gave the cached error (exit 0 both)."""
    empty = tmp_path / "no_weights"
    empty.mkdir()
    args = ["run", "--methods", "sesf", "--dataset", "synthetic", "--limit", "1", "--metrics", "en", "--jobs",
            "1", "--no-plots", "--no-progress", "--cache-dir", str(tmp_path / "rc")]
    cp = _bench(*args, "--out", str(tmp_path / "o1"), "--strict", MFIF_WEIGHTS=str(empty),
                MFIF_CACHE=str(tmp_path / "user_cache"))
    assert cp.returncode == 1, cp.stderr  # --strict: an error row fails the run
    assert "Traceback" not in cp.stderr
    assert "method sesf: 1 error row(s); first: environment: WeightsUnavailable" in cp.stderr
    cp = _bench(*args, "--out", str(tmp_path / "o2"), "--strict", MFIF_WEIGHTS=str(WEIGHTS),
                MFIF_CACHE=str(tmp_path / "user_cache"))
    assert cp.returncode == 0, cp.stderr
    df = pd.read_csv(tmp_path / "o2" / "results.csv")
    assert (df.status == "ok").all() and set(df.metric) == {"time_fuse_s", "time_fuse_iqr_s", "en"}
    assert "fusion errors 0 (0 cached)" in cp.stderr
