"""Average fusion: the pixel-wise mean of N >= 2 sources.

Our own code (MIT). Spec: ``shared/docs/methods.md`` 7.11.

It is also what the SESF-Fuse paper's "SF" row actually ran (methods.md 7.9: their SF code cast the
[0, 1] gray image to int, so nearly every block was averaged). ``quantize="truncate"`` reproduces that
row (their experiment truncated float results to uint8): mean Qg on the 38 SESF pairs 0.5112 vs 0.5115
in the paper, 34/38 images within 1e-3 of the authors' records (``tests/test_baselines_sesf_table2.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

QUANTIZE_MODES = ("none", "round", "truncate")


def _check(images: Sequence[np.ndarray]) -> None:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")


def average(images: Sequence[np.ndarray], quantize: str = "none") -> np.ndarray:
    """Pixel-wise mean of the sources.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1] of one shape.
    quantize : {"none", "round", "truncate"}
        Keep the float mean, or put it on the 8-bit grid by rounding half up or by truncation
        (``np.uint8`` cast of the 0..255 value, the SESF-Fuse experiment's convention).

    Returns
    -------
    ndarray
        float32 image of the sources' shape.

    Raises
    ------
    ValueError
        Fewer than two sources, different shapes, or an unknown ``quantize`` mode.

    Examples
    --------
    >>> a, b = np.zeros((2, 2), np.float32), np.full((2, 2), 3 / 255, np.float32)
    >>> float(average([a, b], "truncate")[0, 0] * 255)
    1.0
    """
    _check(images)
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"Expected quantize in {QUANTIZE_MODES}, got {quantize!r}")
    mean = np.mean(np.stack(images, axis=0), axis=0, dtype=np.float64)
    if quantize == "none":
        return mean.astype(np.float32)
    # 0..255 scale; the 1e-4 guard absorbs float32 input error (<= 2e-5 here), so that values which are
    # exact in 8-bit arithmetic (k + 0.5, k) land on the side exact arithmetic puts them
    u = np.clip(mean * 255.0, 0.0, 255.0) + 1e-4
    u = np.floor(u + 0.5) if quantize == "round" else np.floor(u)
    return (u / 255.0).astype(np.float32)


@register_method(
    MethodInfo(
        id="average",
        name="Average",
        paper="Baseline: pixel-wise mean of the sources",
        source="mfif-bench",
        license="MIT",
        n_image_rule="native: mean over N sources",
        version="1",
        notes="quantize='truncate' regenerates the SESF-Fuse (2020) 'SF' row, which was plain averaging.",
        params=(("quantize", "none"),),
        param_specs=(ParamSpec("quantize", "str", choices=("none", "round", "truncate")),),
    )
)
def fuse(images: Sequence[np.ndarray], quantize: str = "none") -> FusionResult:
    """Registry entry: :func:`average` as a :class:`FusionResult` (no decision map)."""
    return FusionResult(average(images, quantize))
