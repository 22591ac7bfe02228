"""Maximum fusion: per pixel, the source with the largest luminance (all channels taken from it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.imageio import luminance
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo


def maximum(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return (fused, index map): each pixel copied from the source with the largest luminance.

    Ties go to the first source. For gray images this is the plain pixel-wise maximum. (Some papers'
    "max" is the per-channel maximum, which can create colours found in no source; this one cannot.)

    Raises
    ------
    ValueError
        Fewer than two sources or sources of different shapes.
    """
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")
    stack = np.stack(images, axis=0)
    lum = np.stack([luminance(im) for im in images], axis=0)
    idx = np.argmax(lum, axis=0)
    fused = np.take_along_axis(stack, idx[None, ..., None] if stack.ndim == 4 else idx[None], axis=0)[0]
    return fused.astype(np.float32), idx


@register_method(
    MethodInfo(
        id="max",
        name="Maximum",
        paper="Baseline: pixel-wise maximum (by luminance)",
        source="mfif-bench",
        license="MIT",
        n_image_rule="native: argmax over N sources",
    )
)
def fuse(images: Sequence[np.ndarray]) -> FusionResult:
    fused, idx = maximum(images)
    return FusionResult(fused, (idx / max(len(images) - 1, 1)).astype(np.float32))
