"""The speed unit of the benchmark scripts (shared; not a benchmark itself).

``unit`` = one ``scipy.ndimage.uniform_filter(img, size=(5, 5, 1))`` pass over both float32 colour
images of lytro-01 (520x520x3), exactly as ``benchmarks/methods_speed.py`` measures it. Every figure of
``metrics_speed.py`` and ``full_run_speed.py`` is printed as a ratio to this unit measured in the same
run: machines (and a shared machine from minute to minute) differ by 1.5-2x, ratios much less.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=1)
def unit_images() -> tuple[list[np.ndarray], str]:
    """lytro-01's A and B (float32 colour) from ``$MFIF_DATA``, else a seeded synthetic colour pair (read
    once per process: the paired measurements below take the unit many times)."""
    from bench.imageio import read_sources

    data = os.environ.get("MFIF_DATA")
    if data:
        scene = Path(data) / "lytro" / "lytro-01"
        paths = sorted(scene.glob("A.*")) + sorted(scene.glob("B.*"))
        if len(paths) == 2:
            return read_sources(paths), "lytro-01"
    rng = np.random.default_rng(2024)
    return [rng.random((520, 520, 3)).astype(np.float32) for _ in range(2)], "synthetic 520x520x3"


def measure_unit(repeats: int = 31) -> dict:
    """CPU and wall medians (seconds) of the unit pass, after two warm-up passes."""
    from scipy.ndimage import uniform_filter

    imgs, origin = unit_images()

    def unit() -> None:
        for im in imgs:
            uniform_filter(im, size=(5, 5, 1) if im.ndim == 3 else 5)

    unit()
    unit()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        unit()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall), "input": origin}


#: Repeats of a paired unit measurement (:func:`paired_unit`): ~50-70 ms at 10 ms per unit.
PAIRED_REPEATS = 5


def paired_unit() -> float:
    """A short CPU measurement of the unit (median of :data:`PAIRED_REPEATS` passes) to take right before
    a timed call: the ratio of the two cancels the machine's drift, which on a shared VM moves the unit by
    20-30 % within one benchmark run (measured: 9.3 ms before and 12.0 ms after a metrics_speed run)."""
    return measure_unit(PAIRED_REPEATS)["cpu_s"]
