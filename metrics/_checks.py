"""The one input validator of the metric functions (private).

Every public metric calls :func:`check_inputs` once at its boundary (full-reference metrics also
:func:`as_reference`), so that the numerical core always receives float64 2-D arrays of one common shape.
Validation raises ``TypeError``/``ValueError`` with expected-versus-actual messages (never ``assert``).

* :func:`check_inputs` -- ``(sources, fused) -> (list of float64 2-D arrays, float64 2-D array)``;
  the source count is checked with ``n`` (exact), ``min_n`` and ``max_n``;
* :func:`as_gray` -- one image: real numeric (integer or floating, not bool/complex), 2-D, as float64
  (a copy only when needed, so a read-only float64 input stays the same object and keeps its memo key);
* :func:`as_reference` -- the ground truth of a full-reference metric, same shape as the fused image.

New metric modules (e.g. survey variants) use these three names; there is no other validator in
``metrics/``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_gray(img: object, what: str = "image") -> np.ndarray:
    """Return ``img`` as a float64 2-D array (a copy only when needed).

    Raises
    ------
    TypeError
        If ``img`` is not real numeric (bool and complex are refused).
    ValueError
        If ``img`` is not 2-D (metrics work on one grey-level channel; the protocol converts colour).
    """
    arr = np.asarray(img)
    numeric = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == bool or not numeric:
        raise TypeError(f"{what}: expected a real numeric image, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(
            f"{what}: expected a 2-D grey-level array (see bench.protocols.prepare), got shape {arr.shape}"
        )
    return arr.astype(np.float64, copy=False)


def check_inputs(
    sources: Sequence[np.ndarray],
    fused: np.ndarray,
    *,
    metric: str = "metric",
    n: int | None = None,
    min_n: int = 1,
    max_n: int | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Validate ``sources`` and ``fused`` and return them as float64 2-D arrays.

    Parameters
    ----------
    sources : sequence of ndarray
        Source images (already converted by the protocol); a 3-D array is read as a stack along axis 0.
    fused : ndarray
        Fused image.
    metric : str
        Metric name used in error messages.
    n : int, optional
        Exact number of sources the metric's definition needs (``None``: any number in
        ``min_n..max_n``).
    min_n, max_n : int
        Smallest and largest number of sources (``max_n=None``: no limit).

    Returns
    -------
    (list of numpy.ndarray, numpy.ndarray)
        Sources and fused image as float64 arrays (no copy for float64 input).

    Raises
    ------
    TypeError
        One 2-D array given as ``sources``, or a non-numeric image.
    ValueError
        Wrong number of sources, non 2-D images or shape mismatch.
    """
    if isinstance(sources, np.ndarray) and sources.ndim != 3:
        raise TypeError(
            f"{metric}: expected a sequence of 2-D source images, got one array of shape {sources.shape}"
        )
    srcs = [as_gray(s, f"{metric} source {i + 1}") for i, s in enumerate(sources)]
    if n is not None and len(srcs) != n:
        raise ValueError(f"{metric} is defined for {n} sources, got {len(srcs)}")
    if len(srcs) < min_n:
        raise ValueError(f"{metric}: expected at least {min_n} source image(s), got {len(srcs)}")
    if max_n is not None and len(srcs) > max_n:
        at_most = "" if max_n == min_n else "at most "
        raise ValueError(f"{metric} is defined for {at_most}{max_n} sources, got {len(srcs)}")
    fus = as_gray(fused, f"{metric} fused image")
    for i, s in enumerate(srcs):
        if s.shape != fus.shape:
            raise ValueError(
                f"{metric}: expected sources of the fused image's shape {fus.shape}, "
                f"got {s.shape} for source {i + 1}"
            )
    return srcs, fus


def as_reference(reference: object, fused: np.ndarray, metric: str = "metric") -> np.ndarray:
    """Validate the ground-truth ``reference`` of a full-reference metric against ``fused``."""
    if reference is None:
        raise ValueError(f"{metric} needs a ground-truth image: pass reference=...")
    ref = as_gray(reference, f"{metric} reference image")
    if ref.shape != fused.shape:
        raise ValueError(f"{metric}: expected a reference of shape {fused.shape}, got {ref.shape}")
    return ref
