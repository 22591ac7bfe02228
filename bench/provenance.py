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
    "numba",  # compiles the metric kernels: its LLVM picks the vector width of the host CPU
    "llvmlite",
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


#: The widest vector instruction set named by a /proc/cpuinfo flag, widest first (x86, then Arm).
_VECTOR_ISAS = (
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
    ("avx", "AVX"),
    ("sse4_2", "SSE4.2"),
    ("sve", "SVE"),
    ("asimd", "NEON"),
)


def cpu_features(cpuinfo: str | None = None) -> str:
    r"""The CPU's widest vector instruction set and, on x86, its family and model numbers.

    Speed is stated as a ratio to a unit pass (``benchmarks/_unit.py``), but the compiled kernels
    (numba targets the host CPU) gain more from wider vectors than the unit does, so ratios move
    between CPU generations (measured on one machine: FMI's window stage takes 2.1-2.3x the units
    with SSE2 code as with AVX2 code); benchmark headers and ``run.json`` name it. ``cpuinfo``: the
    text of ``/proc/cpuinfo`` (read when None).

    >>> cpu_features("cpu family\t: 25\nmodel\t\t: 1\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    'AVX2, family 25 model 1'
    >>> cpu_features("")
    ''
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as fh:
                cpuinfo = fh.read(1 << 16)  # the first processor's block is enough
        except OSError:
            return ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # end of the first processor's block
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    parts = [next((name for flag, name in _VECTOR_ISAS if flag in flags), "")]
    if "cpu family" in fields and "model" in fields:
        parts.append(f"family {fields['cpu family']} model {fields['model']}")
    return ", ".join(p for p in parts if p)


def cpu_label() -> str:
    """:func:`cpu_name` with :func:`cpu_features` in brackets, for the header line of a benchmark."""
    features = cpu_features()
    return f"{cpu_name()} ({features})" if features else cpu_name()


def machine() -> dict:
    """What a benchmark or run records about the machine."""
    return {
        "cpu": cpu_name(),
        "cpu_features": cpu_features(),
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
        "platform": platform.platform(),
    }
