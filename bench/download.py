"""Fetch declared files over HTTP(S) into the cache: temp file, sha256 check, atomic move.

- A partial download is kept as ``<file>.part``; the next call resumes it with an HTTP Range
  request, or restarts from zero when the server ignores ranges.
- A hash mismatch deletes the partial file and raises :class:`UserError`: nothing is left behind.
- ``mirror`` (or ``$MFIF_MIRROR``) replaces each file's official URL by ``<mirror>/<dataset>/<path>``,
  for institutional mirrors and for tests (a local ``http.server``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from bench.errors import UserError
from bench.integrity import sha256_file

CHUNK = 1 << 16


def fetch(url: str, dest: Path, sha256: str, *, timeout: float = 60.0) -> bool:
    """Download ``url`` to ``dest`` unless it is already there with the right hash.

    Returns True when bytes were transferred. Raises UserError on network errors or a mismatch.
    """
    if dest.exists() and sha256_file(dest) == sha256:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "mfif-bench"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resumed = have > 0 and resp.status == 206
            h = hashlib.sha256()
            if resumed:
                with open(part, "rb") as fh:
                    while block := fh.read(CHUNK):
                        h.update(block)
            with open(part, "ab" if resumed else "wb") as out:
                while block := resp.read(CHUNK):
                    h.update(block)
                    out.write(block)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"{url}: download failed ({reason}); run the same command again to resume") from None
    got = h.hexdigest()
    if got != sha256:
        part.unlink(missing_ok=True)
        raise UserError(
            f"{url}: sha256 mismatch (expected {sha256[:12]}..., got {got[:12]}...); nothing was kept"
        )
    os.replace(part, dest)
    return True


def download_dataset(
    ds, dest_root: Path, *, mirror: str | None = None, progress: bool = True
) -> tuple[int, int]:
    """Download every declared file of ``ds`` into ``dest_root/<id>/``; returns (fetched, already_present)."""
    mirror = mirror or os.environ.get("MFIF_MIRROR") or None
    files: Iterable = ds.files
    if progress:
        from tqdm import tqdm

        files = tqdm(list(files), desc=f"download {ds.info.id}", unit="file", file=__import__("sys").stderr)
    fetched = present = 0
    for f in files:
        url = f"{mirror.rstrip('/')}/{ds.info.id}/{f.path}" if mirror else f.url
        if fetch(url, dest_root / ds.info.id / f.path, f.sha256):
            fetched += 1
        else:
            present += 1
    return fetched, present


def disk_free_ok(path: Path, need_bytes: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free > need_bytes
