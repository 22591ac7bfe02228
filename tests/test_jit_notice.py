"""The one-line note while numba compiles the kernels (metrics._jit): a first run must not look hung."""

from __future__ import annotations

import io
import time

import pytest

from metrics import _jit


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fresh(monkeypatch):
    """A clean module table and notice flag, restored afterwards."""
    monkeypatch.setattr(_jit, "_MODULES", {})
    monkeypatch.setattr(_jit, "_noticed", _jit.threading.Event())
    monkeypatch.setattr(_jit, "NOTICE_AFTER_S", 0.05)
    return monkeypatch


def _slow_import(seconds: float):
    def load(name):
        time.sleep(seconds)
        return type(_jit)(name)  # a bare module object

    return load


def test_a_slow_load_at_a_terminal_prints_the_note_once(fresh, monkeypatch):
    err = _Terminal()
    monkeypatch.setattr(_jit.sys, "stderr", err)
    monkeypatch.setattr(_jit.importlib, "import_module", _slow_import(0.3))
    assert _jit.kernels("one") is not None
    assert _jit.kernels("two") is not None  # a second slow module: no second note
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: compiling the metric kernels")


def test_a_fast_load_prints_nothing(fresh, monkeypatch):
    err = _Terminal()
    monkeypatch.setattr(_jit.sys, "stderr", err)
    monkeypatch.setattr(_jit.importlib, "import_module", _slow_import(0.0))
    assert _jit.kernels("fast") is not None
    time.sleep(0.15)  # past the notice delay: the timer was cancelled
    assert err.getvalue() == ""


def test_no_note_when_stderr_is_not_a_terminal(fresh, monkeypatch):
    err = io.StringIO()  # a pipe or a file: logs and tests stay clean
    monkeypatch.setattr(_jit.sys, "stderr", err)
    monkeypatch.setattr(_jit.importlib, "import_module", _slow_import(0.3))
    assert _jit.kernels("quiet") is not None
    assert err.getvalue() == ""


def test_a_failing_import_still_selects_the_numpy_path(fresh, monkeypatch):
    monkeypatch.setattr(_jit.sys, "stderr", _Terminal())

    def broken(name):
        raise ImportError("no numba")

    monkeypatch.setattr(_jit.importlib, "import_module", broken)
    assert _jit.kernels("broken") is None


def test_ready_loads_the_compiled_path_once_or_reports_the_numpy_path(fresh, monkeypatch):
    """``ready()`` (called before a worker's timed metric calls) loads one kernel module through
    :func:`kernels`, so numba's one-off set-up is not booked to the first metric; it says False when the
    NumPy path is forced, without importing anything."""
    loaded = []
    monkeypatch.setattr(_jit.importlib, "import_module", lambda name: loaded.append(name) or type(_jit)(name))
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    assert _jit.ready() is False and loaded == []
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    assert _jit.ready() is True and _jit.ready() is True
    assert loaded == ["metrics._kernels_matlab"]


def test_score_worker_readies_the_kernels_before_its_first_timed_call(monkeypatch):
    import numpy as np

    import bench.scoring
    from bench import workers

    order = []
    monkeypatch.setattr(_jit, "ready", lambda: order.append("ready") or True)
    real = bench.scoring.score_one
    monkeypatch.setattr(bench.scoring, "score_one", lambda m, *a, **k: order.append(m) or real(m, *a, **k))
    rng = np.random.default_rng(0)
    srcs = [rng.random((16, 16, 3)).astype(np.float32) for _ in range(2)]
    fused = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
    out = workers.score_worker(lambda: srcs, None, fused, ["sd", "en"], "standard")
    assert order == ["ready", "sd", "en"]
    assert [s.status for s, _ in out] == ["ok", "ok"]
