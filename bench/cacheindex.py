"""The result cache's SQLite index: open it, set its schema up once, heal it only when it is damaged.

Several processes may open one index at the same moment (``run`` processes sharing a cache). Two rules keep
them from hurting each other:

- **Schema set-up is serialised.** Creating the tables and adding the columns of newer versions happens
  inside one ``BEGIN IMMEDIATE`` transaction, after re-reading what is there; a second process waits on
  SQLite's lock and then finds nothing to do (two processes adding one column at once used to fail with
  "duplicate column name", which was then mistaken for a damaged file).
- **Only damage moves the file aside.** :func:`is_damage` is true for SQLite's "corrupt" and "not a
  database" errors and for a failed ``quick_check``; contention (locked, busy), a file replaced by another
  process (SQLite's "attempt to write a readonly database" when the open file was moved) and I/O errors
  are not damage. A damaged file is moved aside under an exclusive lock on ``index.sqlite.lock``, and only
  if it is still the very file this process found damaged (same device and inode), so two processes that
  find one damaged index move it once and both continue on the one fresh index.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "fused": (
        ("key", "TEXT PRIMARY KEY"),
        ("sha256", "TEXT NOT NULL"),
        ("shape", "TEXT NOT NULL"),
        ("has_dm", "INTEGER NOT NULL"),
        ("time_median", "REAL"),
        ("time_iqr", "REAL"),
        ("repeats", "INTEGER"),
        ("n_threads", "INTEGER"),
        ("device", "TEXT"),
        ("method", "TEXT"),
        ("created", "TEXT"),
        ("status", "TEXT NOT NULL DEFAULT 'ok'"),
        ("message", "TEXT NOT NULL DEFAULT ''"),
        ("dm_sha256", "TEXT"),
    ),
    "scores": (
        ("key", "TEXT PRIMARY KEY"),
        ("metric", "TEXT NOT NULL"),
        ("value", "REAL"),
        ("status", "TEXT NOT NULL"),
        ("message", "TEXT"),
        ("created", "TEXT"),
        ("seconds", "REAL"),
        ("checksum", "TEXT"),
    ),
}

# columns added after the first release: an older index gets them with ALTER TABLE (type only)
ADDED_COLUMNS = (
    ("scores", "seconds", "REAL"),
    ("scores", "checksum", "TEXT"),
    ("fused", "dm_sha256", "TEXT"),
)

SCHEMA = "\n".join(
    f"CREATE TABLE IF NOT EXISTS {t} (\n    " + ",\n    ".join(f"{c} {d}" for c, d in cols) + "\n);"
    for t, cols in TABLES.items()
)


class IndexDamaged(sqlite3.DatabaseError):
    """SQLite opened the file but its integrity check failed."""


def is_damage(exc: BaseException) -> bool:
    """True when ``exc`` says the index file itself is damaged (not contention or the environment)."""
    if isinstance(exc, IndexDamaged):
        return True
    name = getattr(exc, "sqlite_errorname", None)  # Python >= 3.11
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    # Python 3.10: CPython raises plain DatabaseError for SQLITE_CORRUPT and SQLITE_NOTADB, and
    # OperationalError (a subclass) for busy, locked, read-only, I/O and schema errors
    return type(exc) is sqlite3.DatabaseError


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _missing(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """What the schema lacks: ("table", name, "") for a table, (table, column, type) for a column."""
    out: list[tuple[str, str, str]] = []
    for table in TABLES:
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if not cols:
            out.append(("table", table, ""))
            continue
        out += [(t, c, typ) for t, c, typ in ADDED_COLUMNS if t == table and c not in cols]
    return out


def connect(path: Path, timeout: float = 60.0) -> sqlite3.Connection:
    """Open the index at ``path``, creating or upgrading its schema under SQLite's write lock, then check it.

    Raises :class:`IndexDamaged` when the integrity check fails; SQLite's own errors pass through.
    """
    db = sqlite3.connect(path, timeout=timeout)
    try:
        if _missing(db):
            db.execute("BEGIN IMMEDIATE")  # waits for (and excludes) every other writer
            try:
                for kind, name, typ in _missing(db):  # re-read under the lock: another process may be done
                    if kind == "table":
                        cols = ", ".join(f"{c} {d}" for c, d in TABLES[name])
                        db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
                    else:
                        db.execute(f"ALTER TABLE {kind} ADD COLUMN {name} {typ}")
                db.commit()
            except BaseException:
                db.rollback()
                raise
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise IndexDamaged(f"integrity check failed: {row[0] if row else 'no answer'}")
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def heal_lock(path: Path) -> Iterator[None]:
    """Exclusive lock (``<index>.lock``) held while an index is moved aside and a fresh one created."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the inode check alone
        yield
        return
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def move_aside(path: Path, damaged: tuple[int, int] | None, exc: BaseException) -> sqlite3.Connection:
    """Move the damaged index aside (if it is still the file ``damaged`` names), say so in one line, and
    open a fresh index."""
    with heal_lock(path):
        if damaged is not None and file_id(path) == damaged:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{os.getpid()}")
            os.replace(path, aside)
            for suffix in ("-journal", "-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    os.replace(side, aside.with_name(aside.name + suffix))
            where = f"moved aside to {aside}"
        else:
            where = "already moved aside by another process"
        db = connect(path)
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(
        f"warning: result cache index {path} is unreadable ({msg}); {where}; "
        "starting a fresh index (entries are recomputed)",
        file=sys.stderr,
    )
    return db
