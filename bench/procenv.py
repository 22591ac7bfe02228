"""Process settings for the worker processes that fuse and score (and the benchmarks that time them).

glibc's allocator returns large freed blocks to the kernel and takes them back on the next allocation,
so every large temporary of a metric or method (a 520x520 float64 image is 2 MB, FMI's window arrays
are tens of MB) is page-faulted in again on every call: on a full lytro run that was ~68 million minor
faults and ~10 % of the CPU time in the kernel. ``MALLOC_TUNABLES`` keeps freed memory in the process
instead (mmap only above 32 MB, never trim the heap). Measured on one scoring pass of all metrics
(520x520, one thread): 3.39 s -> 3.15 s CPU, minor faults 267k -> 88k.

It does not ask glibc for transparent huge pages (``glibc.malloc.hugetlb=1``, which it did until
2026-12-04). Measured on this project's AVX-512 VM (AMD EPYC family 25): a metric called on new inputs,
whose memoised source work grows the heap, spent 2-3x the kernel time with them (ifc, 6 calls in one
process: 0.43-0.70 s system time against 0.21 s; CPU per call 126-187 ms against 91-129, medians 128-173
against 94-100, 4 processes per setting); ``benchmarks/metrics_speed.py`` (79 metrics, each alone on new
inputs, units of the uniform-filter pass measured in the same process) summed 303 units with them and 252
without (ifc 20.2 -> 13.5, ms_ssim 10.3 -> 5.2, nabf 7.2 -> 3.0). The deep methods, whose large blocks
they were for, are served as well by torch's own switch (:func:`torch_huge_pages`, which the workers
inherit): sesf, gacn, ifcnn, fmm, msrsf and sff summed 10.0, 11.4, 10.8 CPU-s with glibc's huge pages
and 10.1, 9.7, 10.7 without (three alternating rounds of ``benchmarks/deep_speed.py``). A full lytro run
(16 methods x 76 metrics, 2 workers) did not tell them apart: metrics 228.9 s with, 230.6 s without,
fusion 180.5 and 187.6 s (unit 8.3 and 8.4 ms around the runs). On the AVX2 VM where glibc's huge
pages were first measured they left the metrics unchanged.

The variable only takes effect in processes started with it, so ``bench run`` sets it before it starts
its local workers (loky or a Dask LocalCluster) and the benchmark scripts re-execute themselves with it;
``bench score`` sets the same through glibc's ``mallopt`` in its own process (:func:`keep_freed_memory`).
A value already in the environment is kept; ``MFIF_MALLOC_TUNABLES=0`` disables all of this. Other C
libraries ignore the variable. Every command also sets torch's own huge-page switch in its process before
torch loads (:func:`torch_huge_pages`), for the deep methods fused in process.

Keeping memory means a worker's resident size stays at its peak, which loky would take for a leak
(it restarts workers that grew by 300 MB since their first task, dropping every cache); inside our
tasks :func:`allow_worker_growth` raises that limit to ``WORKER_GROWTH_BYTES``.
"""

from __future__ import annotations

import os
import sys

MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
WORKER_GROWTH_BYTES = 3 * 2**30


def _enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("MFIF_MALLOC_TUNABLES", "1") != "0"


def set_worker_env() -> bool:
    """Put ``MALLOC_TUNABLES`` into the environment that child processes inherit; True if it is there."""
    if not _enabled():
        return False
    os.environ.setdefault("GLIBC_TUNABLES", MALLOC_TUNABLES)
    return True


#: glibc ``mallopt`` parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """In this process, what ``MALLOC_TUNABLES`` does for a child, through glibc's ``mallopt``: large
    blocks from the heap up to 32 MB, freed memory kept (trim threshold 2 GB, ``mallopt`` takes an int).
    For ``bench score``, a process that runs every metric once: without it each large temporary is mapped
    and page-faulted anew. True when set; nothing is done with ``MFIF_MALLOC_TUNABLES=0``, when
    ``GLIBC_TUNABLES`` is already in the environment (the user's choice, or we run with it) or when the C
    library has no ``mallopt`` (not glibc)."""
    if not _enabled() or "GLIBC_TUNABLES" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 and mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1


#: torch's switch for transparent huge pages on its large CPU buffers (read once, at its first allocation)
TORCH_THP_VAR = "THP_MEM_ALLOC_ENABLE"


def torch_huge_pages() -> bool:
    """In this process (every command; child processes inherit it): torch's large CPU buffers in
    transparent huge pages (``THP_MEM_ALLOC_ENABLE=1``: 2 MB-aligned and ``MADV_HUGEPAGE``), for the
    deep methods run in this process (``bench fuse``, ``bench run --jobs 1``) and in the workers (which
    inherit the variable; glibc's heap stays in 4 KB pages, see the module docstring): msrsf on a
    520x520 image, one thread, 2.3-2.4 -> 1.65-1.7 s CPU, the same bits. Works only before torch is
    imported (then True); a value already in the environment is kept; nothing with
    ``MFIF_MALLOC_TUNABLES=0``."""
    if not _enabled() or "torch" in sys.modules:
        return False
    os.environ.setdefault(TORCH_THP_VAR, "1")
    return os.environ[TORCH_THP_VAR] == "1"


#: BLAS libraries' thread-count variables (read once, when the library loads with NumPy).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> bool:
    """Let BLAS use one thread in this process (``bench score``): its metrics run in their own threads,
    one per core, and a threaded BLAS on the small matrix products of a metric (the FMI wavelet
    feature) spent 34-40 ms of CPU instead of 9 ms per call, for the same bits. Works only before NumPy
    is imported (then True); a value already in the environment is kept."""
    if "numpy" in sys.modules:
        return False
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    return True


def reexec_with_tunables() -> None:
    """Restart the current Python command with ``MALLOC_TUNABLES`` unless it already runs with it."""
    if not _enabled() or "GLIBC_TUNABLES" in os.environ:
        return
    os.environ["GLIBC_TUNABLES"] = MALLOC_TUNABLES
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *argv[1:]])


def allow_worker_growth() -> None:
    """Inside a loky worker: let memory grow by ``WORKER_GROWTH_BYTES`` before loky calls it a leak."""
    mod = sys.modules.get("joblib.externals.loky.process_executor")
    if mod is not None and getattr(mod, "_MAX_MEMORY_LEAK_SIZE", WORKER_GROWTH_BYTES) < WORKER_GROWTH_BYTES:
        mod._MAX_MEMORY_LEAK_SIZE = WORKER_GROWTH_BYTES


#: OpenCV's own variable for the size of its thread pool (read when its parallel framework starts)
OPENCV_THREADS_VAR = "OPENCV_FOR_THREADS_NUM"
_OPENCV_SET: list = []  # the thread count set in this process (once)


def match_opencv_threads() -> int | None:
    """Inside a worker: size OpenCV's thread pool as the pool sized the worker's other libraries.

    loky and Dask give each worker ``OMP_NUM_THREADS`` = cores / workers (1 with one worker per core),
    which torch, BLAS and numba follow; OpenCV's pip builds use their own pthreads pool of one thread per
    core and ignore it. Every OpenCV call of a worker (the DFTs of Qp, the filters of most metrics and
    methods) then split over threads that the other workers' tasks already occupy: on lytro runs of 16
    methods x 76 metrics with 2 workers on 2 cores (AVX2 VM), 3-7 % more CPU in all (4 and 20 scenes,
    paired with runs of this setting), the same values (results.csv equal but for the timing rows).

    Sets ``OPENCV_FOR_THREADS_NUM`` before OpenCV is imported (nothing else to load), else calls
    ``cv2.setNumThreads``; once per process. Does nothing when the user set ``OPENCV_FOR_THREADS_NUM``
    or ``OMP_NUM_THREADS`` is not a positive count.
    Returns the count set, or None.
    """
    if _OPENCV_SET:
        return _OPENCV_SET[0]
    if OPENCV_THREADS_VAR in os.environ:
        return None
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    if n < 1:
        return None
    cv2 = sys.modules.get("cv2")
    if cv2 is None:
        os.environ[OPENCV_THREADS_VAR] = str(n)
    else:
        cv2.setNumThreads(n)
    _OPENCV_SET.append(n)
    return n


_WATCHDOG: list = []  # the started thread (one per process)
WATCHDOG_PERIOD_S = 1.0


def start_parent_watchdog(period: float = WATCHDOG_PERIOD_S) -> bool:
    """Inside a worker: exit this process soon after its parent (the run's main process) dies.

    A daemon thread polls :func:`os.getppid` every ``period`` seconds; when the worker has been
    re-parented (the main process was killed, even with ``kill -9``), it calls ``os._exit(1)``, so no
    worker outlives its run by more than about ``period`` seconds. Started once per process; does
    nothing in the main process of a run (call it from worker task wrappers only). Returns True when
    a watchdog is running.
    """
    if _WATCHDOG:
        return True
    if os.environ.get("MFIF_NO_WATCHDOG") == "1":
        return False
    import threading
    import time

    parent = os.getppid()
    if parent <= 1:
        return False

    def watch() -> None:
        while True:
            time.sleep(period)
            if os.getppid() != parent:
                os._exit(1)

    t = threading.Thread(target=watch, name="mfif-parent-watchdog", daemon=True)
    t.start()
    _WATCHDOG.append(t)
    return True
