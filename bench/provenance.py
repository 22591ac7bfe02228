"""Provenance of a result: code commit, package versions, CPU/GPU, host, time (one home).

Used by ``run.json`` (:mod:`bench.runner`), training model cards (:mod:`bench.training`) and the
benchmark scripts in ``benchmarks/``. Imports nothing heavy; torch only for a GPU name.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = (
    "mfif-bench",
    "numpy",
    "scipy",
    "opencv-contrib-python-headless",
    "scikit-image",
    "pywavelets",
    "pandas",
    "joblib",
    "torch",
    "dask",
    "distributed",
)


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_commit(repo: str | os.PathLike | None = None, default: str = "") -> str:
    """``git rev-parse HEAD`` of ``repo`` (default: this checkout); ``default`` outside a git checkout."""
    root = Path(repo) if repo else Path(__file__).resolve().parent.parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return default
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else default


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Python and installed package versions (absent packages left out)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else the platform's processor or architecture."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def gpu_name(device: str) -> str:
    """The GPU model of a CUDA device ("" for the CPU)."""
    if not str(device).startswith("cuda"):
        return ""
    from bench.device import device_name

    return device_name(device)


def machine() -> dict:
    """What a benchmark or run records about the machine."""
    return {
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
        "platform": platform.platform(),
    }
