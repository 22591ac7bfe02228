"""Where the user's cache lives (datasets, weights, results, the registry index). Imports nothing heavy."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The user cache for datasets and weights (``$MFIF_CACHE`` or ``~/.cache/mfif-bench``)."""
    env = os.environ.get("MFIF_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mfif-bench"
