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
