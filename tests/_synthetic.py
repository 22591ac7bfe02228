"""Synthetic metric inputs shared by the kernel tests (0..255 grey, float64; not a test module)."""

from __future__ import annotations

import numpy as np


def wavy_scene(seed: int, shape=(40, 46), n: int = 2) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` wavy noisy sources with a flat patch in the first (constant windows), and their rounded mean
    with the left third copied from the first source (exact copies); callers add their own features."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    srcs = [
        np.round(127 + 100 * np.sin(xx / (3.0 + k) + k) + rng.normal(0, 6, shape)).clip(0, 255)
        for k in range(n)
    ]
    srcs[0][5:15, 5:20] = 80.0  # a flat patch: constant windows
    fused = np.round(sum(srcs) / n)
    fused[:, : shape[1] // 3] = srcs[0][:, : shape[1] // 3]  # exact copies of source 1
    return srcs, fused
