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


_FAULTS = """
import resource, sys
sys.path.insert(0, {root!r})
import numpy as np
from bench.procenv import keep_freed_memory
on = keep_freed_memory()
def churn():
    a = np.empty(20 << 17)  # 20 MB: above glibc's initial mmap threshold, below 32 MB
    a[:] = 1.0
    del a
churn()  # the first one faults in either case
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    churn()
print(on, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_reuses_large_blocks_in_this_process():
    """``bench score`` keeps freed memory through mallopt (no re-exec): the same 20 MB temporary allocated
    again is not page-faulted again; with the opt-out it is (glibc maps it anew or trims it)."""
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    out = {}
    for flag in ("1", "0"):
        cp = subprocess.run([sys.executable, "-c", _FAULTS.format(root=os.getcwd())],
                            env={**env, "MFIF_MALLOC_TUNABLES": flag}, capture_output=True, text=True)
        assert cp.returncode == 0, cp.stderr
        on, faults = cp.stdout.split()
        out[flag] = (on == "True", int(faults))
    if not out["1"][0]:
        pytest.skip("no glibc mallopt here")
    assert out["0"][0] is False
    assert out["1"][1] < 50 <= out["0"][1], out  # measured: ~0 vs ~5,000 minor faults


_OPENCV_THREADS = """
import sys
sys.path.insert(0, {root!r})
if {pre_import}:
    import cv2
from bench.executor import _call
def probe():
    import cv2
    return cv2.getNumThreads()
print(_call(0, probe, ())[1], _call(1, probe, ())[1])
"""


@pytest.mark.parametrize("pre_import", [False, True])
@pytest.mark.parametrize(("omp", "user", "expected"), [("1", None, 1), (None, None, None), ("1", "2", 2)])
def test_workers_size_opencv_like_their_other_libraries(pre_import, omp, user, expected):
    """A worker task (``bench.executor._call``) sets OpenCV's threads to ``OMP_NUM_THREADS`` (what loky and
    Dask give each worker), before or after cv2 is imported; a user's ``OPENCV_FOR_THREADS_NUM`` wins,
    and without ``OMP_NUM_THREADS`` OpenCV keeps its default (one thread per core)."""
    pytest.importorskip("cv2")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", procenv.OPENCV_THREADS_VAR)}
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    if user is not None:
        env[procenv.OPENCV_THREADS_VAR] = user
    code = _OPENCV_THREADS.format(root=os.getcwd(), pre_import=pre_import)
    cp = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    if expected is None:
        default = subprocess.run([sys.executable, "-c", "import cv2; print(cv2.getNumThreads())"], env=env,
                                 capture_output=True, text=True).stdout.strip()
        expected = int(default)
    assert cp.stdout.split() == [str(expected), str(expected)]
