"""A lock on a run folder, so two runs never write into one ``--out`` at once.

``with run_lock(out):`` takes an exclusive :func:`fcntl.flock` on ``<out>/.run.lock`` and writes the
holder's pid, host and start time into it. A second run into the same folder refuses at once with a
one-line :class:`bench.errors.UserError` naming the holder (or, with ``wait`` seconds, waits up to
that long first). The kernel drops the lock when its process dies, so a killed run leaves no stale
lock. The lock is re-entrant within one process (``run`` locks, then the runner locks again).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

from bench.errors import UserError

LOCK_NAME = ".run.lock"
_HELD: dict[str, list] = {}  # resolved path -> [fd, depth]


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextlib.contextmanager
def run_lock(out: str | os.PathLike, wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock on run folder ``out`` for the duration of the block (see module docstring)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    key = str(path.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield path
        finally:
            _HELD[key][1] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        yield path
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _holder(path)
                os.close(fd)
                raise UserError(
                    f"{out}: another run is writing into this folder ({holder}); wait for it to finish "
                    "or choose another --out"
                ) from None
            time.sleep(0.5)
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {platform.node()}, since {stamp}\n".encode())
    _HELD[key] = [fd, 1]
    try:
        yield path
    finally:
        _HELD.pop(key, None)
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
