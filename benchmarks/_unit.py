"""The speed unit of the benchmark scripts (shared; not a benchmark itself).

``unit`` = one ``scipy.ndimage.uniform_filter(img, size=(5, 5, 1))`` pass over both float32 colour
images of lytro-01 (520x520x3), exactly as ``benchmarks/methods_speed.py`` measures it. Every figure of
``metrics_speed.py`` and ``full_run_speed.py`` is printed as a ratio to this unit measured in the same
run: machines (and a shared machine from minute to minute) differ by 1.5-2x, ratios much less.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np


def unit_images() -> tuple[list[np.ndarray], str]:
    """lytro-01's A and B (float32 colour) from ``$MFIF_DATA``, else a seeded synthetic colour pair."""
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
