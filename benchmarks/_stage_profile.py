"""CPU accounting of a run's stages in every process (``full_run_speed.py --stages``; issue 15).

Loaded as a plugin module (``$MFIF_PLUGINS``), so ``bench run`` imports it in its main process and in every
worker before the worker's first task; nothing in ``bench/`` knows about it. On import it wraps the stage
functions below with :func:`time.process_time` accumulators (the process's CPU: workers compute in one
thread) and, when ``$MFIF_STAGE_DIR`` is set, writes one JSON file per process there (``<pid>.json``: the
process CPU when the module was imported, i.e. interpreter start-up and imports up to the first task, the
process CPU at the last write, and per stage the CPU seconds and call count). The file is rewritten at most
every 0.2 s and at exit, so a worker killed at shutdown loses at most its last 0.2 s. ``main:encode_png`` is
part of ``main:put_fused`` and ``read_png`` of ``main:get_fused`` (cache hits); the other stages do not nest.
The ``main:`` stages are installed in the main process only (the child of ``$MFIF_STAGE_PARENT``), so
workers import nothing they would not import anyway. ``read_sources`` misses a worker's first task (its
loader was unpickled before the plugin was imported there).

``Method.call`` is split by role: the calls on a crop inside ``bench.workers.warm_up`` (where it exists),
the untimed full-size warm-up calls of ``bench.device.time_call``, and the timed calls.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import json
import os
import time

_T_IMPORT = time.process_time()
_DIR = os.environ.get("MFIF_STAGE_DIR")
_ACC: dict[str, list] = {}
_LAST = [0.0]


def _write(force: bool = False) -> None:
    if not _DIR:
        return
    now = time.monotonic()
    if not force and now - _LAST[0] < 0.2:
        return
    _LAST[0] = now
    doc = {"pid": os.getpid(), "cpu_at_import": _T_IMPORT, "cpu": time.process_time(), "stages": _ACC}
    tmp = os.path.join(_DIR, f".{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(doc, fh)
    os.replace(tmp, os.path.join(_DIR, f"{os.getpid()}.json"))


def _add(name: str, sec: float) -> None:
    a = _ACC.setdefault(name, [0.0, 0])
    a[0] += sec
    a[1] += 1


def _wrap(modname: str, attr: str, label: str | None = None, namer=None) -> None:
    obj = importlib.import_module(modname)
    parts = attr.split(".")
    for p in parts[:-1]:
        obj = getattr(obj, p, None)
    fn = getattr(obj, parts[-1], None)
    if fn is None or getattr(fn, "_stage_wrapped", False):  # another checkout (--root) may lack it
        return
    lab = label or attr

    @functools.wraps(fn)
    def wrapped(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            _add(namer(a, k) if namer else lab, time.process_time() - t)
            _write()

    wrapped._stage_wrapped = True
    setattr(obj, parts[-1], wrapped)


_CTX = {"in_warm_up": 0, "warm_left": 0}


def _fuse_label(a, k) -> str:
    """``Method.call`` by role: inside ``bench.workers.warm_up`` (crop calls), one of ``time_call``'s
    untimed warm-up calls (full size), or a timed call."""
    if _CTX["in_warm_up"]:
        return "fuse:warm-up, crop calls"
    if _CTX["warm_left"] > 0:
        _CTX["warm_left"] -= 1
        return "fuse:warm-up, full-size call"
    return "fuse:timed calls"


def _with_ctx(modname: str, attr: str, enter) -> None:
    mod = importlib.import_module(modname)
    fn = getattr(mod, attr, None)
    if fn is None or getattr(fn, "_stage_wrapped", False):
        return

    @functools.wraps(fn)
    def wrapped(*a, **k):
        undo = enter(a, k)
        try:
            return fn(*a, **k)
        finally:
            undo()

    wrapped._stage_wrapped = True
    setattr(mod, attr, wrapped)


def _enter_warm_up(a, k):
    _CTX["in_warm_up"] += 1

    def undo():
        _CTX["in_warm_up"] -= 1

    return undo


def _enter_time_call(a, k):
    _CTX["warm_left"] = int(k.get("warmup", 1))

    def undo():
        _CTX["warm_left"] = 0

    return undo


def install() -> None:
    _with_ctx("bench.workers", "warm_up", _enter_warm_up)
    _with_ctx("bench.device", "time_call", _enter_time_call)
    _wrap("bench.entries", "Method.call", namer=_fuse_label)
    for module, attr, label in _EVERY_PROCESS:
        _wrap(module, attr, label)
    if str(os.getppid()) != os.environ.get("MFIF_STAGE_PARENT"):
        return  # a worker: do not import what only the main process uses
    for module, attr, label in _MAIN_PROCESS:
        _wrap(module, attr, label)


#: (module, attribute, stage label) of the functions timed in every process / in the run's main process.
_EVERY_PROCESS = (
    ("bench.entries", "Method.check_result", "fuse:check_result"),
    ("bench.workers", "_as_u8", "fuse:to_uint8"),
    ("bench.imageio", "read_sources", "read_sources"),
    ("bench.scoring", "score_one", "score:metric_calls"),
    ("bench.protocols", "prepare", "score:prepare"),
    ("bench.rundir", "read_png_u8", "read_png"),
)
_MAIN_PROCESS = (
    ("bench.cache", "_encode_png", "main:encode_png"),
    ("bench.cache", "ResultCache.put_fused", "main:put_fused"),
    ("bench.cache", "ResultCache.get_fused", "main:get_fused"),
    ("bench.cache", "ResultCache.put_scores", "main:put_scores"),
    ("bench.cache", "ResultCache.get_scores", "main:get_scores"),
    ("bench.runner", "_assemble", "main:assemble"),
    ("bench.report", "write_tables", "main:report_tables"),
)


install()
if _DIR:
    atexit.register(_write, True)
