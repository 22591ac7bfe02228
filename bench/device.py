"""Compute devices for the torch methods, run metadata, and the timing helper.

``resolve_device("auto")`` takes CUDA when ``torch.cuda.is_available()``, else the CPU. Asking for
``cuda`` on a machine without it raises :class:`bench.errors.UserError` with what to do instead.
torch is imported lazily, so this module works (and reports "cpu") where torch is not installed.

Timing contract (``bench/README.md``, style principle 10): warm up, then time many repeats of the
call alone (model loading and file I/O outside); on CUDA, ``torch.cuda.synchronize()`` is called
inside the timed region, before the clock is read at both ends; report the median and IQR; record
device name and thread count with the numbers.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench.errors import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def _torch():
    try:
        import torch
    except ImportError:  # torch is an optional extra
        return None
    return torch


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device."""
    torch = _torch()
    return bool(torch is not None and torch.cuda.is_available())


def resolve_device(device: str | None = "auto") -> str:
    """Turn a user request (``auto``, ``cpu``, ``cuda``, ``cuda:N``) into a concrete device string.

    Parameters
    ----------
    device : str or None
        ``None`` and ``"auto"`` pick ``"cuda"`` when available, else ``"cpu"``.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    UserError
        CUDA was requested but is not available, or the device string is unknown.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None:
        device = "auto"
    if not isinstance(device, str):
        raise TypeError(f"Expected a device string, got {type(device).__name__}")
    dev = device.strip().lower()
    if dev == "auto":
        return "cuda" if cuda_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit()):
        if not cuda_available():
            why = "torch is not installed" if _torch() is None else "torch.cuda.is_available() is False"
            raise UserError(
                f"--device {device} requested but CUDA is not available here ({why}); "
                "use --device cpu or --device auto"
            )
        torch = _torch()
        if ":" in dev and int(dev[5:]) >= torch.cuda.device_count():
            n = torch.cuda.device_count()
            raise UserError(f"--device {device}: only {n} CUDA device(s) present; use --device cuda")
        return dev
    raise UserError(f"unknown device {device!r}; expected one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def device_name(device: str) -> str:
    """Human-readable name: the GPU model for CUDA, the CPU model (or architecture) otherwise."""
    if device.startswith("cuda"):
        torch = _torch()
        return str(torch.cuda.get_device_name(torch.device(device)))
    from bench.provenance import cpu_name

    return cpu_name()


def num_threads() -> int:
    """Threads torch uses for intra-op parallelism.

    torch is asked only when this process has already imported it (a method that uses torch has run):
    importing it just to ask costs ~1 s per worker process of a run of classical methods. Otherwise
    the answer is what torch would start with here: ``OMP_NUM_THREADS`` when set (run workers get it),
    else ``os.cpu_count()``.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else int(os.cpu_count() or 1)


@dataclass(frozen=True)
class DeviceInfo:
    """What a run records about where it ran."""

    device: str
    name: str
    threads: int
    torch_version: str
    cuda_version: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_info(device: str | None = "auto") -> DeviceInfo:
    """Resolve ``device`` and describe it for run metadata (device, name, threads, versions).

    Examples
    --------
    >>> device_info("cpu").device
    'cpu'
    """
    dev = resolve_device(device)
    torch = _torch()
    return DeviceInfo(
        device=dev,
        name=device_name(dev),
        threads=num_threads(),
        torch_version=str(torch.__version__) if torch is not None else "",
        cuda_version=str(torch.version.cuda or "") if torch is not None else "",
    )


@dataclass(frozen=True)
class Timing:
    """Summary of repeated timings, in seconds."""

    median: float
    iqr: float
    q1: float
    q3: float
    n: int
    warmup: int
    device: str
    threads: int
    samples: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("samples")
        return d


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        _torch().cuda.synchronize(device)


def time_call(fn: Callable[[], Any], *, device: str = "cpu", repeats: int = 5, warmup: int = 1) -> Timing:
    """Time ``fn()`` after ``warmup`` untimed calls; median and IQR over ``repeats`` calls.

    On CUDA, ``torch.cuda.synchronize()`` runs inside the timed region (after the call, before the
    clock stops) and before the clock starts, so queued kernels are neither missed nor charged.

    Parameters
    ----------
    fn : callable
        Zero-argument callable (close over the inputs; load models before timing).
    device : str
        A resolved device string (see :func:`resolve_device`).
    repeats : int
        Timed calls (>= 1).
    warmup : int
        Untimed calls first (>= 0).

    Returns
    -------
    Timing

    Examples
    --------
    >>> t = time_call(lambda: sum(range(1000)), repeats=3, warmup=1)
    >>> t.n
    3
    """
    if repeats < 1:
        raise ValueError(f"Expected repeats >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"Expected warmup >= 0, got {warmup}")
    for _ in range(warmup):
        fn()
    _sync(device)
    samples = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        samples.append(time.perf_counter() - t0)
    q1, med, q3 = (float(v) for v in np.percentile(samples, [25, 50, 75]))
    return Timing(
        median=med,
        iqr=q3 - q1,
        q1=q1,
        q3=q3,
        n=repeats,
        warmup=warmup,
        device=device,
        threads=num_threads(),
        samples=tuple(samples),
    )
