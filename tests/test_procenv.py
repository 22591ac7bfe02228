"""Worker process settings: allocator tunables for local workers, loky's leak limit raised in tasks."""

import os
import subprocess
import sys

import pytest

from bench import procenv


def test_set_worker_env_keeps_a_user_value(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MFIF_MALLOC_TUNABLES", raising=False)
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    assert procenv.set_worker_env()
    assert os.environ["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2"
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert procenv.set_worker_env()
    assert os.environ["GLIBC_TUNABLES"] == procenv.MALLOC_TUNABLES


def test_opt_out(monkeypatch):
    monkeypatch.setenv("MFIF_MALLOC_TUNABLES", "0")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert not procenv.set_worker_env()
    assert "GLIBC_TUNABLES" not in os.environ


def test_allow_worker_growth_raises_loky_limit(monkeypatch):
    pe = pytest.importorskip("joblib.externals.loky.process_executor")
    monkeypatch.setattr(pe, "_MAX_MEMORY_LEAK_SIZE", int(3e8))
    procenv.allow_worker_growth()
    assert pe._MAX_MEMORY_LEAK_SIZE == procenv.WORKER_GROWTH_BYTES


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tunables are Linux-only")
def test_reexec_runs_the_command_again_with_the_tunables(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(os.getcwd())!r})\n"
        "from bench.procenv import reexec_with_tunables\n"
        "reexec_with_tunables()\n"
        "print(os.environ.get('GLIBC_TUNABLES'), sys.argv[1:])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "MFIF_MALLOC_TUNABLES")}
    out = subprocess.run([sys.executable, str(script), "a", "b"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{procenv.MALLOC_TUNABLES} ['a', 'b']"
