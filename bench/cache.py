"""Content-addressed cache of fused images, fusion timings and scores.

Where it lives
    ``<cache_root>/results/`` by default, i.e. ``~/.cache/mfif-bench/results`` (``$MFIF_CACHE``
    moves the whole user cache; ``run --cache-dir DIR`` picks another folder). It is shared by all
    runs of the user, so a second run with a different ``--out`` still reuses everything.

What is stored
    - ``fused/<k[:2]>/<k>.png``: the fused image as 8-bit PNG (lossless). Both metric protocols
      quantise the fused image to 8 bits first (``bench.protocols``), so scoring the stored PNG gives
      the same numbers as scoring the float output, and a cold and a warm run agree to the bit.
    - ``fused/<k[:2]>/<k>.dm.png``: the decision map (8-bit), when the method returns one.
    - ``index.sqlite``: one row per fused image (its sha256, the timing median/IQR/repeats, thread
      count, device) and one row per score (value, status, message).

Keys (sha256 of a canonical JSON document)
    - fused: method id, method version, weights sha256, parameters, device (for device-aware
      methods) and the sha256 of every input file, in order;
    - score: metric id, metric version, protocol, the fused image's sha256 and the reference's
      sha256 (ground-truth metrics only).

Bumping a method's ``version`` changes its fused keys, so its images and every score computed
on them are recomputed; bumping a metric's ``version`` recomputes that metric only.

Crash safety
    Files are written to a temporary name in the same folder and moved into place with
    :func:`os.replace`; the SQLite row that points to a file is committed only after the move. A
    process killed at any moment leaves either a complete entry or none.

Errors
    A fusion or metric error that is a property of the inputs (image too small, N not supported) is
    stored with the versions in its key and reused until ``--retry-errors``; an error caused by the
    environment (:func:`bench.errors.is_environmental_message`: missing weights or data, import
    failure, out of memory, a killed worker) is refused here, so the next run retries it, and such a
    row found in an older cache is treated as a miss.

Verified reads
    Every hit is checked before it is returned: a fused image is decoded and its pixels' sha256
    compared with the stored one (the decision map too, for rows that store its hash); a score row is
    compared with its stored checksum. A mismatch, a truncated or missing file or an unreadable row
    is reported once on stderr, the entry is deleted and the caller sees a miss, so it is recomputed.
    An index that SQLite reports damaged (corrupt, not a database, failed ``quick_check``) is moved
    aside (``index.sqlite.corrupt-<time>-<pid>``) with a one-line message and a fresh one is started
    (:mod:`bench.cacheindex`).

Sharing
    Several runs (processes) may use one cache folder at once: files are content-addressed and
    replaced atomically, SQLite serialises the index writes (``timeout`` 60 s), the schema is set up
    once under SQLite's write lock, and only real damage (never contention or a file another process
    replaced) moves the index aside, once, under a lock (:mod:`bench.cacheindex`).
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.atomicio import atomic_write_bytes as _atomic_write_bytes
from bench.atomicio import atomic_write_text  # noqa: F401  (re-exported)
from bench.cacheindex import SCHEMA, connect, file_id, is_damage, move_aside  # noqa: F401  (SCHEMA re-exported)
from bench.cachekeys import array_sha256, canonical_key, fused_key, score_key  # noqa: F401  (re-exported)
from bench.errors import is_environmental_message
from bench.rundir import read_png_u8  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class FusedEntry:
    """A cached fused image and its timing."""

    key: str
    sha256: str
    path: Path
    dm_path: Path | None
    time_median: float
    time_iqr: float
    repeats: int
    n_threads: int
    device: str
    status: str = "ok"
    message: str = ""
    created: str = ""


def _encode_png(img: np.ndarray) -> bytes:
    """A cached image as PNG bytes (:func:`bench.imageio.encode_png`: the settings are measured there)."""
    from bench.imageio import encode_png

    return encode_png(img)


def score_checksum(key: str, value: float, status: str, message: str) -> str:
    """Short checksum of one score row (key, exact value, status, message)."""
    v = "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else float(value).hex()
    return hashlib.sha256(f"{key}|{v}|{status}|{message or ''}".encode()).hexdigest()[:16]


class ResultCache:
    """The cache folder (see module docstring); several processes may share it."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "index.sqlite"
        self._reported: set[str] = set()
        self.dropped = 0  # damaged entries dropped by this instance
        self._db = self._open()
        self._sweep_orphans()

    # index (opening, schema set-up and healing: bench.cacheindex) ---------------------------
    def _open(self) -> sqlite3.Connection:
        self._file = file_id(self.db_path)  # the file we are about to open (None: a new index)
        try:
            db = connect(self.db_path)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            db = move_aside(self.db_path, self._file, exc)
        self._file = file_id(self.db_path)
        return db

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """A query failed mid-run. Damage: move the index aside and go on with a fresh one. The index
        replaced under us by another process that healed it: reopen it. Anything else is raised."""
        damaged = is_damage(exc)
        if not damaged and file_id(self.db_path) == self._file:
            raise exc
        try:
            self._db.close()
        except sqlite3.Error:
            pass
        self._db = move_aside(self.db_path, self._file, exc) if damaged else connect(self.db_path)
        self._file = file_id(self.db_path)

    def _report(self, key: str, what: str) -> None:
        self.dropped += 1
        if key not in self._reported:
            self._reported.add(key)
            print(f"warning: result cache: {what}; entry {key[:12]} dropped, recomputing", file=sys.stderr)

    def _drop(self, table: str, key: str) -> None:
        try:
            with self._db:
                self._db.execute(f"DELETE FROM {table} WHERE key=?", (key,))
        except sqlite3.DatabaseError as exc:
            self._recover(exc)

    def _sweep_orphans(self) -> None:
        """Delete temporary files left by writers that were killed (their pid is gone)."""
        for tmp in (self.root / "fused").glob("*/.*.tmp"):
            parts = tmp.name.split(".")
            try:
                pid = int(parts[-3])
                os.kill(pid, 0)
            except (ValueError, IndexError):
                continue
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
            except PermissionError:
                continue

    def close(self) -> None:
        self._db.close()

    def _paths(self, key: str) -> tuple[Path, Path]:
        d = self.root / "fused" / key[:2]
        return d / f"{key}.png", d / f"{key}.dm.png"

    def _verify_png(self, path: Path, sha: str | None) -> str:
        """'' when ``path`` decodes to pixels with sha256 ``sha`` (any image if None), else why not."""
        if not path.is_file():
            return f"{path.name} is missing"
        try:
            a = read_png_u8(path)
        except Exception as exc:  # noqa: BLE001 - any decoding failure means a damaged file
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"{path.name} is unreadable ({why})"
        if a.dtype != np.uint8:
            return f"{path.name} is not an 8-bit image"
        if sha and array_sha256(a) != sha:
            return f"{path.name} does not match its stored sha256 (changed or replaced)"
        return ""

    # fused images -------------------------------------------------------------------------
    def get_fused(self, key: str) -> FusedEntry | None:
        """The verified entry for ``key``, or None (a miss; damaged entries are dropped first)."""
        try:
            row = self._db.execute(
                "SELECT sha256, has_dm, time_median, time_iqr, repeats, n_threads, device, status, message, "
                "created, dm_sha256 "
                "FROM fused WHERE key=?",
                (key,),
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return None
        if row is None:
            return None
        path, dm = self._paths(key)
        if row[7] != "ok":
            if is_environmental_message(row[8] or ""):  # from an older version; not an input property
                self._drop("fused", key)
                return None
            return FusedEntry(
                key,
                "",
                path,
                None,
                math.nan,
                math.nan,
                0,
                0,
                row[6] or "",
                row[7],
                row[8] or "",
                row[9] or "",
            )
        why = self._verify_png(path, row[0])
        if not why and row[1]:
            why = self._verify_png(dm, row[10])
        if why:
            self._report(key, why)
            self._drop("fused", key)
            return None
        return FusedEntry(
            key,
            row[0],
            path,
            dm if row[1] else None,
            _f(row[2]),
            _f(row[3]),
            int(row[4] or 0),
            int(row[5] or 0),
            row[6] or "",
            "ok",
            "",
            row[9] or "",
        )

    def put_fused(
        self,
        key: str,
        image_u8: np.ndarray,
        dm_u8: np.ndarray | None,
        *,
        time_median: float,
        time_iqr: float,
        repeats: int,
        n_threads: int,
        device: str,
        method: str,
        created: str,
    ) -> FusedEntry:
        """Store a fused image (and decision map) atomically, then commit its index row."""
        path, dm = self._paths(key)
        _atomic_write_bytes(path, _encode_png(image_u8))
        if dm_u8 is not None:
            _atomic_write_bytes(dm, _encode_png(dm_u8))
        sha = array_sha256(image_u8)
        dm_sha = array_sha256(np.ascontiguousarray(dm_u8)) if dm_u8 is not None else None
        row = (
            key,
            sha,
            "x".join(map(str, image_u8.shape)),
            int(dm_u8 is not None),
            time_median,
            time_iqr,
            repeats,
            n_threads,
            device,
            method,
            created,
            "ok",
            "",
            dm_sha,
        )
        self._write(
            "INSERT OR REPLACE INTO fused (key, sha256, shape, has_dm, time_median, time_iqr, repeats, "
            "n_threads, device, method, created, status, message, dm_sha256) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [row],
        )
        return FusedEntry(
            key,
            sha,
            path,
            dm if dm_u8 is not None else None,
            time_median,
            time_iqr,
            repeats,
            n_threads,
            device,
            "ok",
            "",
            created,
        )

    def _write(self, sql: str, rows: list) -> None:
        for attempt in range(2):
            try:
                with self._db:
                    self._db.executemany(sql, rows)
                return
            except sqlite3.DatabaseError as exc:
                if attempt:
                    raise
                self._recover(exc)

    def put_fused_error(self, key: str, message: str, *, device: str, method: str, created: str) -> bool:
        """Record that this fusion raised (reused only until ``--retry-errors``).

        Environmental errors (:func:`bench.errors.is_environmental_message`) are refused: returns
        False and stores nothing, so the next run retries them.
        """
        if is_environmental_message(message):
            return False
        self._write(
            "INSERT OR REPLACE INTO fused (key, sha256, shape, has_dm, time_median, time_iqr, repeats, "
            "n_threads, device, method, created, status, message) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(key, "", "", 0, None, None, 0, 0, device, method, created, "error", message)],
        )
        return True

    # scores -------------------------------------------------------------------------------
    def get_scores(self, keys: Iterable[str]) -> dict[str, tuple[float, str, str, float]]:
        """Look up many score keys at once; returns {key: (value, status, message, seconds)} for verified
        hits (rows failing their checksum, and environmental errors, are dropped and left out)."""
        keys = list(keys)
        out: dict[str, tuple[float, str, str, float]] = {}
        bad: list[str] = []
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = (
                    "SELECT key, value, status, message, seconds, checksum FROM scores "
                    f"WHERE key IN ({','.join('?' * len(chunk))})"
                )
                for k, v, s, m, sec, ck in self._db.execute(q, chunk):
                    if ck is not None and ck != score_checksum(k, _f(v), s, m or ""):
                        self._report(k, "a score row does not match its checksum")
                        bad.append(k)
                    elif s != "ok" and is_environmental_message(m or ""):
                        bad.append(k)
                    else:
                        out[k] = (_f(v), s, m or "", _f(sec))
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return {}
        if bad:
            try:
                with self._db:
                    self._db.executemany("DELETE FROM scores WHERE key=?", [(k,) for k in bad])
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
        return out

    def put_scores(self, items: Iterable[tuple[str, str, float, str, str, float]], created: str) -> None:
        """Commit (key, metric, value, status, message, seconds) rows in one transaction.

        Environmental error rows are left out (never cached)."""
        rows = [
            (k, m, v, s, msg, created, sec, score_checksum(k, _f(v), s, msg))
            for k, m, v, s, msg, sec in items
            if s == "ok" or not is_environmental_message(msg)
        ]
        if not rows:
            return
        self._write(
            "INSERT OR REPLACE INTO scores (key, metric, value, status, message, created, seconds, checksum) "
            "VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )


def _f(v) -> float:
    return math.nan if v is None else float(v)
