"""Compiled kernels switch (private): numba when it can run, the NumPy path otherwise.

Kernels live in ``metrics/_kernels_*.py`` modules that import numba at their top; a metric imports its
kernel module lazily through :func:`kernels` the first time it runs, so ``import metrics`` (and the
command line's start-up) never pays numba's import (~0.3 s). Every kernel is compiled with
``cache=True``: numba keeps the machine code on disk (next to the module in ``__pycache__``, or in
numba's user-wide cache directory when that is read-only, or in ``$NUMBA_CACHE_DIR``), so a fresh worker
process loads it instead of recompiling. Numba keys a cached kernel by its own file only: a kernel that
calls kernels of another module (``_kernels_fmi`` -> ``_kernels_fmi_lanes``, ``_kernels_simd``;
``_kernels_ifc`` -> ``_kernels_structural``) keeps its cached code when only the other module is edited,
so clear ``metrics/__pycache__`` (or ``$NUMBA_CACHE_DIR``) after such an edit. Installed copies never
change, so users are not affected.

The first compilation (a new install, a numba upgrade, another CPU) takes 30-50 s of CPU for all the
kernels, depending on the host (28 s on an AVX-512 EPYC: ``benchmarks/metrics_speed.py --compile-cost``);
when a kernel module takes longer than :data:`NOTICE_AFTER_S` to load and standard error is a terminal, one
note says so (once per process), so that a first ``bench score`` does not look hung. A module that loads
from the cache takes ~0.1 s, and nothing is printed.

Set ``MFIF_NO_NUMBA=1`` to force the NumPy path (the tests compare both paths); it is also used when
numba is not installed or a kernel module fails to import (kernel modules compile, or load from the
cache, a tiny case at import, so a numba that cannot build a kernel also selects the NumPy path).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from types import ModuleType

_MODULES: dict[str, ModuleType | None] = {}

#: Seconds a kernel module may take to load before the compile note is printed (terminal only).
NOTICE_AFTER_S = 3.0
_NOTICE = (
    "note: compiling the metric kernels (numba); this happens once after an install or upgrade and takes "
    "about a minute; later runs load them from the cache (NUMBA_CACHE_DIR moves it)"
)
_noticed = threading.Event()


def _notice() -> None:
    """Print :data:`_NOTICE` to standard error, once per process."""
    if not _noticed.is_set():
        _noticed.set()
        print(_NOTICE, file=sys.stderr, flush=True)


def _import(name: str) -> ModuleType:
    """Import ``metrics._kernels_<name>``, with the compile note if that takes long at a terminal."""
    timer = None
    err = sys.stderr
    if not _noticed.is_set() and err is not None and hasattr(err, "isatty") and err.isatty():
        timer = threading.Timer(NOTICE_AFTER_S, _notice)
        timer.daemon = True
        timer.start()
    try:
        return importlib.import_module(f"metrics._kernels_{name}")
    finally:
        if timer is not None:
            timer.cancel()


def enabled() -> bool:
    """True unless ``MFIF_NO_NUMBA`` is set to a non-empty value other than ``0``."""
    return os.environ.get("MFIF_NO_NUMBA", "0") in ("", "0")


def kernels(name: str) -> ModuleType | None:
    """The compiled-kernel module ``metrics._kernels_<name>``, or None when the NumPy path must be used."""
    if not enabled():
        return None
    if name not in _MODULES:
        try:
            _MODULES[name] = _import(name)
        except Exception:  # numba missing, or a kernel it cannot build (checked at import): NumPy path
            _MODULES[name] = None
    return _MODULES[name]


def ready() -> bool:
    """Load numba and its CPU target now (once per process; True when the compiled path is on).

    The first kernel a process loads pays numba's import and target set-up (0.4-0.7 s measured, against a
    few ms for every later module): whichever metric runs first would carry it. A caller that times
    metric calls one by one (``bench.workers.score_worker``) calls this first, so that the one-off cost is
    not booked to that metric. Loads the smallest kernel module; the others still load when first used.
    """
    return kernels("matlab") is not None
