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


_BIG_BLOCK = """
import ctypes, resource
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
n = 40 << 20  # above the 32 MB mmap threshold: mapped anew per allocation, as a deep method's activations
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    p = libc.malloc(n)
    ctypes.memset(p, 1, n)
    libc.free(p)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _thp_mode() -> str:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return ""
    return text[text.find("[") + 1 : text.find("]")] if "[" in text else ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tunables are Linux-only")
def test_worker_tunables_leave_glibcs_blocks_in_small_pages():
    """``MALLOC_TUNABLES`` does not ask glibc for transparent huge pages (``glibc.malloc.hugetlb``): on this
    project's AVX-512 VM they made the metrics 17-23 % slower while torch's own switch already serves the
    deep methods (measurements in ``bench/procenv.py``). A process started with the tunables faults a
    freshly mapped 40 MB block in 4 KB pages (~10,240 per touch); only meaningful where THP is in
    ``madvise`` mode (in ``always`` mode the kernel gives huge pages to every large mapping)."""
    if _thp_mode() != "madvise":
        pytest.skip(f"transparent huge pages are {_thp_mode() or 'absent'} here, not 'madvise'")
    assert "hugetlb" not in procenv.MALLOC_TUNABLES
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "MFIF_MALLOC_TUNABLES")}
    env["GLIBC_TUNABLES"] = procenv.MALLOC_TUNABLES
    cp = subprocess.run([sys.executable, "-c", _BIG_BLOCK], env=env, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    assert int(cp.stdout) > 3 * 10_000 - 500, cp.stdout  # 3 touches of 10,240 pages of 4 KB


_TORCH_BLOCK = """
import resource, sys
sys.path.insert(0, {root!r})
from bench.procenv import torch_huge_pages
on = torch_huge_pages()
import torch
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    t = torch.empty(10 << 20)  # 40 MB of float32: mapped anew per allocation
    t.fill_(1.0)
    del t
print(on, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="transparent huge pages are Linux-only")
def test_torch_huge_pages_in_this_process():
    """Every command asks torch for huge pages before it is imported (``THP_MEM_ALLOC_ENABLE``): a 40 MB
    tensor then faults in 2 MB pages, not ~10,000 pages of 4 KB; ``MFIF_MALLOC_TUNABLES=0`` opts out."""
    pytest.importorskip("torch")
    if _thp_mode() != "madvise":
        pytest.skip(f"transparent huge pages are {_thp_mode() or 'absent'} here, not 'madvise'")
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", procenv.TORCH_THP_VAR)}
    out = {}
    for flag in ("1", "0"):
        cp = subprocess.run(
            [sys.executable, "-c", _TORCH_BLOCK.format(root=os.getcwd())],
            env={**env, "MFIF_MALLOC_TUNABLES": flag},
            capture_output=True,
            text=True,
        )
        assert cp.returncode == 0, cp.stderr
        on, faults = cp.stdout.split()
        out[flag] = (on == "True", int(faults))
    assert out["1"][0] and not out["0"][0], out
    assert out["0"][1] > 3 * 10_000 - 500, out
    assert out["1"][1] * 8 < out["0"][1], out
