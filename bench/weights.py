"""Pretrained weights: find, verify, download, load.

Resolution order for a weights file declared as ``(relpath, url, sha256)``:

1. ``$MFIF_WEIGHTS/<relpath>`` (an offline folder such as ``../shared/weights``);
2. the user cache ``<cache_root>/weights/<relpath>`` (``bench.datasets.cache_root()``);
3. download ``url`` into the cache: to a temporary file next to the target, sha256 checked, then an
   atomic ``os.replace``. A failed or mismatching download leaves nothing behind.

Every file found or fetched is checked against its sha256 (cached by size and mtime in
``bench.integrity``). Weights are never committed to the repository. Loading always uses
``torch.load(..., map_location=..., weights_only=True)``.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import WeightsUnavailable
from bench.integrity import sha256_file, verify_files


@dataclass(frozen=True)
class WeightsFile:
    """A declared weights file.

    Attributes
    ----------
    relpath : str
        Path below ``$MFIF_WEIGHTS`` and below the cache's ``weights/`` folder.
    url : str
        Official download URL.
    sha256 : str
        Expected checksum of the file.
    """

    relpath: str
    url: str
    sha256: str


def cache_dir() -> Path:
    """``<cache_root>/weights``."""
    from bench.datasets import cache_root

    return cache_root() / "weights"


def _env_dir() -> Path | None:
    v = os.environ.get("MFIF_WEIGHTS")
    return Path(v).expanduser() if v else None


def _download(url: str, target: Path, sha256: str, timeout: float = 60.0) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
            while block := resp.read(1 << 20):
                out.write(block)
        got = sha256_file(tmp)
        if got != sha256:
            raise WeightsUnavailable(
                f"{url}: downloaded file has sha256 {got[:12]}..., expected {sha256[:12]}...; not kept"
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WeightsUnavailable(
            f"cannot download weights {target.name} from {url} ({exc}); put the file in "
            f"$MFIF_WEIGHTS/{target.parent.name}/ or {target}"
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def resolve(spec: WeightsFile, *, download: bool = True) -> Path:
    """Path to a verified copy of ``spec`` (``$MFIF_WEIGHTS``, then the cache, then a download).

    Parameters
    ----------
    spec : WeightsFile
        The declared file.
    download : bool
        Allow step 3 (network).

    Returns
    -------
    Path

    Raises
    ------
    UserError
        Not found and not downloadable, or a found file fails its checksum.
    """
    env = _env_dir()
    candidates = ([env / spec.relpath] if env is not None else []) + [cache_dir() / spec.relpath]
    for path in candidates:
        if path.is_file():
            verify_files([(path, spec.sha256)])
            return path
    target = cache_dir() / spec.relpath
    if not download:
        where = " or ".join(str(c) for c in candidates)
        raise WeightsUnavailable(f"weights {spec.relpath} not found ({where}); download them from {spec.url}")
    _download(spec.url, target, spec.sha256)
    return target


def load_state_dict(
    path: str | os.PathLike, device: str = "cpu", strip_prefix: str = "module."
) -> dict[str, Any]:
    """``torch.load`` a state_dict safely (``weights_only=True``) onto ``device``.

    Keys starting with ``strip_prefix`` (``nn.DataParallel`` checkpoints) lose it.

    Raises
    ------
    UserError
        The file is not a loadable state_dict.
    """
    import pickle

    import torch

    try:
        sd = torch.load(str(path), map_location=torch.device(device), weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsUnavailable(f"{path}: cannot load weights ({msg})") from None
    if not isinstance(sd, dict):
        raise WeightsUnavailable(f"{path}: expected a state_dict (dict), got {type(sd).__name__}")
    if strip_prefix:
        sd = {k.removeprefix(strip_prefix): v for k, v in sd.items()}
    return sd
