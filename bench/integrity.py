"""sha256 verification of dataset and weight files, cached by (path, size, mtime).

The cache lives in ``<cache_root>/verified.json``; a file whose size or mtime changed is hashed
again. A mismatch raises :class:`UserError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from bench.errors import DataUnavailable

_LOCK = threading.Lock()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _cache_file() -> Path:
    from bench.datasets import cache_root

    return cache_root() / "verified.json"


def _load() -> dict:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _save(data: dict) -> None:
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs re-hashing next time


def verify_files(items: Iterable[tuple[Path, str]]) -> None:
    """Check each (path, expected sha256); raise UserError on a missing file or a mismatch."""
    with _LOCK:
        cache = _load()
        dirty = False
        for path, expected in items:
            try:
                st = path.stat()
            except FileNotFoundError:
                raise DataUnavailable(
                    f"{path}: file not found (declared in the dataset; re-download it)"
                ) from None
            key = str(path.resolve())
            stamp = [st.st_size, st.st_mtime_ns, expected]
            if cache.get(key) == stamp:
                continue
            got = sha256_file(path)
            if got != expected:
                raise DataUnavailable(
                    f"{path}: sha256 mismatch (expected {expected[:12]}..., got {got[:12]}...)"
                )
            cache[key] = stamp
            dirty = True
        if dirty:
            _save(cache)
