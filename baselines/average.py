"""Average fusion: the pixel-wise mean of N >= 2 sources (the SESF paper's "SF" row is this)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo


def average(images: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise mean of the sources, float32 in [0, 1]."""
    return np.mean(np.stack(images, axis=0), axis=0, dtype=np.float64).astype(np.float32)


@register_method(
    MethodInfo(
        id="average",
        name="Average",
        paper="Baseline: pixel-wise mean of the sources",
        source="mfif-bench",
        license="MIT",
        n_image_rule="native: mean over N sources",
    )
)
def fuse(images: Sequence[np.ndarray]) -> FusionResult:
    return FusionResult(average(images))
