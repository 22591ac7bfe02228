"""Maximum fusion: the per-pixel, per-channel maximum of the sources (``shared/docs/methods.md`` 7.11).

This is the plain ``max(A, B)`` baseline. It is *not* "select the pixel with the larger absolute
high-pass response", which some papers also call "max" and which is a different method. On colour
input the per-channel maximum can produce colours found in no single source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo


def maximum(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return (fused, index map): per pixel and channel, the largest source value.

    The index map (HxW, or HxWxC for colour) says which source each value came from; ties go to the
    first source.

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
    idx = np.argmax(stack, axis=0)
    return stack.max(axis=0).astype(np.float32), idx


@register_method(
    MethodInfo(
        id="max",
        name="Maximum",
        paper="Baseline: per-pixel, per-channel maximum of intensities (methods.md 7.11)",
        source="mfif-bench",
        license="MIT",
        version="2",
        n_image_rule="native: maximum over N sources",
        notes=(
            "Decision map only for gray input (the source index / (N-1)); colour picks per channel, so none."
        ),
    )
)
def fuse(images: Sequence[np.ndarray]) -> FusionResult:
    fused, idx = maximum(images)
    dm = (idx / max(len(images) - 1, 1)).astype(np.float32) if idx.ndim == 2 else None
    return FusionResult(fused, dm)
