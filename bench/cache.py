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
    process killed at any moment leaves either a complete entry or none. Errors are never cached:
    a failed fusion or metric is retried by the next run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.atomicio import atomic_write_bytes as _atomic_write_bytes
from bench.atomicio import atomic_write_text  # noqa: F401  (re-exported)
from bench.rundir import read_png_u8  # noqa: F401  (re-exported)

SCHEMA = """
CREATE TABLE IF NOT EXISTS fused (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    shape TEXT NOT NULL,
    has_dm INTEGER NOT NULL,
    time_median REAL,
    time_iqr REAL,
    repeats INTEGER,
    n_threads INTEGER,
    device TEXT,
    method TEXT,
    created TEXT,
    status TEXT NOT NULL DEFAULT 'ok',
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    metric TEXT NOT NULL,
    value REAL,
    status TEXT NOT NULL,
    message TEXT,
    created TEXT,
    seconds REAL
);
"""


def canonical_key(doc: Mapping) -> str:
    """sha256 of ``doc`` serialised as sorted, compact JSON (values must be JSON-able)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_default(obj):
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"Expected a JSON-able cache-key value, got {type(obj).__name__}")


def array_sha256(img: np.ndarray) -> str:
    """sha256 of an 8-bit image's shape and row-major bytes."""
    a = np.ascontiguousarray(img)
    if a.dtype != np.uint8:
        raise TypeError(f"Expected a uint8 image, got dtype {a.dtype}")
    h = hashlib.sha256(("x".join(map(str, a.shape)) + ":").encode())
    h.update(a.tobytes())
    return h.hexdigest()


def fused_key(
    method_id: str,
    version: str,
    weights_sha256: str,
    params: Mapping,
    device: str,
    input_sha256: Iterable[str],
) -> str:
    """Cache key of one fused image (see module docstring)."""
    return canonical_key(
        {
            "kind": "fused",
            "method": method_id,
            "version": str(version),
            "weights": weights_sha256 or "",
            "params": dict(params),
            "device": device,
            "inputs": list(input_sha256),
        }
    )


def score_key(
    metric_id: str, version: str, protocol: str, fused_sha256: str, reference_sha256: str = ""
) -> str:
    """Cache key of one score (see module docstring)."""
    return canonical_key(
        {
            "kind": "score",
            "metric": metric_id,
            "version": str(version),
            "protocol": protocol,
            "fused": fused_sha256,
            "reference": reference_sha256 or "",
        }
    )


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
    import cv2

    a = img if img.ndim == 2 else img[:, :, ::-1]  # RGB -> BGR for OpenCV
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(a), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - OpenCV failure
        raise OSError("PNG encoding failed")
    return buf.tobytes()


class ResultCache:
    """The cache folder. Only the process that owns it (the run's main process) writes to it."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=60)
        self._db.executescript(SCHEMA)
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(scores)")}
        if "seconds" not in cols:  # caches written before scores were timed
            self._db.execute("ALTER TABLE scores ADD COLUMN seconds REAL")
        self._db.commit()
        self._sweep_orphans()

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

    # fused images -------------------------------------------------------------------------
    def get_fused(self, key: str) -> FusedEntry | None:
        row = self._db.execute(
            "SELECT sha256, has_dm, time_median, time_iqr, repeats, n_threads, device, status, message, "
            "created "
            "FROM fused WHERE key=?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        path, dm = self._paths(key)
        if row[7] != "ok":
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
        if not path.exists() or (row[1] and not dm.exists()):
            return None  # files deleted by hand: treat as a miss
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
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO fused VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
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
                ),
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

    def put_fused_error(self, key: str, message: str, *, device: str, method: str, created: str) -> None:
        """Record that this fusion raised (reused only until ``--retry-errors``)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO fused VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (key, "", "", 0, None, None, 0, 0, device, method, created, "error", message),
            )

    # scores -------------------------------------------------------------------------------
    def get_scores(self, keys: Iterable[str]) -> dict[str, tuple[float, str, str, float]]:
        """Look up many score keys at once; returns {key: (value, status, message, seconds)} for hits."""
        keys = list(keys)
        out: dict[str, tuple[float, str, str, float]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = (
                "SELECT key, value, status, message, seconds FROM scores "
                f"WHERE key IN ({','.join('?' * len(chunk))})"
            )
            for k, v, s, m, sec in self._db.execute(q, chunk):
                out[k] = (_f(v), s, m or "", _f(sec))
        return out

    def put_scores(self, items: Iterable[tuple[str, str, float, str, str, float]], created: str) -> None:
        """Commit (key, metric, value, status, message, seconds) rows in one transaction."""
        rows = [(k, m, v, s, msg, created, sec) for k, m, v, s, msg, sec in items]
        if not rows:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores (key, metric, value, status, message, created, seconds) "
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )


def _f(v) -> float:
    return math.nan if v is None else float(v)
