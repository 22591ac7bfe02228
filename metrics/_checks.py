"""Input validation shared by the metric functions of this package (private).

Every public metric calls :func:`as_gray_stack` (or :func:`as_gray`) once at its boundary, so that the
numerical core always receives float64 2-D arrays of one common shape. Validation raises
``TypeError``/``ValueError`` with expected-versus-actual messages (never ``assert``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_gray(img: object, what: str = "image") -> np.ndarray:
    """Return ``img`` as a float64 2-D array (a copy only when needed).

    Raises
    ------
    TypeError
        If ``img`` is not numeric.
    ValueError
        If ``img`` is not 2-D (metrics work on one grey-level channel; the protocol converts colour).
    """
    arr = np.asarray(img)
    numeric = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == bool or not numeric:
        raise TypeError(f"Expected a numeric {what}, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"Expected a 2-D grey-level {what} (protocol-converted), got shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def as_gray_stack(
    sources: Sequence[np.ndarray],
    fused: np.ndarray,
    *,
    n_sources: int | None = None,
    min_sources: int = 1,
    metric: str = "metric",
) -> tuple[list[np.ndarray], np.ndarray]:
    """Validate ``sources`` and ``fused`` and return them as float64 2-D arrays.

    Parameters
    ----------
    sources : sequence of ndarray
        Source images (already converted by the protocol).
    fused : ndarray
        Fused image.
    n_sources : int, optional
        Exact number of sources the metric's definition needs (``None``: any number >= ``min_sources``).
    min_sources : int
        Minimum number of sources.
    metric : str
        Metric name used in error messages.

    Raises
    ------
    ValueError
        Wrong number of sources, non 2-D images or shape mismatch.
    """
    if isinstance(sources, np.ndarray) and sources.ndim == 2:
        raise TypeError(f"{metric}: expected a sequence of source images, got one 2-D array")
    srcs = [as_gray(s, "source image") for s in sources]
    if n_sources is not None and len(srcs) != n_sources:
        raise ValueError(f"{metric} is defined for {n_sources} sources, got {len(srcs)}")
    if len(srcs) < min_sources:
        raise ValueError(f"{metric} needs at least {min_sources} source image(s), got {len(srcs)}")
    fus = as_gray(fused, "fused image")
    for i, s in enumerate(srcs):
        if s.shape != fus.shape:
            raise ValueError(
                f"{metric}: expected sources of the fused image's shape {fus.shape}, "
                f"got {s.shape} for source {i}"
            )
    return srcs, fus


def as_reference(reference: object, fused: np.ndarray, metric: str = "metric") -> np.ndarray:
    """Validate the ground-truth ``reference`` of a full-reference metric against ``fused``."""
    if reference is None:
        raise ValueError(f"{metric} needs a ground-truth image: pass reference=...")
    ref = as_gray(reference, "reference image")
    if ref.shape != fused.shape:
        raise ValueError(f"{metric}: expected a reference of shape {fused.shape}, got {ref.shape}")
    return ref
