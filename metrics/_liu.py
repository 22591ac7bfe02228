"""Private MATLAB-parity helpers for the gradient / multiscale / perceptual metrics (Qg, Qabf, Nabf, Qm,
Qsf, Qp, Qcb).

Each helper names the MATLAB behaviour it reproduces. Everything works on float64 2-D arrays.

* :func:`check_inputs` -- shared validation: N >= 2 sources of one 2-D shape, fused of the same shape,
  any real dtype converted to float64 (so a uint8 array and its float64 copy give identical values).
* :func:`matlab_round` -- MATLAB ``round``: half away from zero (NumPy rounds half to even).
* :func:`normalize1` -- Liu toolbox ``normalize1.m``: min-max stretch to 0..255, then ``round``; an
  all-zero image is returned unchanged; any other constant image gives 0/0 = NaN everywhere (as MATLAB).
* :func:`filter2_same` -- ``filter2(h, X, 'same')`` for odd-sized ``h``: 2-D correlation, zero padding,
  output the size of ``X``, kernel centred on its middle element.
* :func:`conv2_same` -- ``conv2(X, h, 'same')`` for odd-sized ``h``: true convolution (kernel rotated by
  180 degrees), zero padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metrics._structural import correlate


def check_inputs(
    sources: Sequence[np.ndarray], fused: np.ndarray, *, name: str, max_sources: int | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Validate and convert metric inputs.

    Parameters
    ----------
    sources : sequence of numpy.ndarray
        N >= 2 source images, 2-D (luminance as produced by ``bench.protocols.prepare``).
    fused : numpy.ndarray
        Fused image, same shape.
    name : str
        Metric name for error messages.
    max_sources : int, optional
        Largest N the definition supports (``None``: any).

    Returns
    -------
    (list of numpy.ndarray, numpy.ndarray)
        Sources and fused image as float64 arrays.

    Raises
    ------
    ValueError
        Fewer than two sources, more than ``max_sources``, a non-2-D array, or shapes that differ.
    TypeError
        A non-numeric array.
    """
    srcs = [np.asarray(s) for s in sources]
    fus = np.asarray(fused)
    if len(srcs) < 2:
        raise ValueError(f"{name}: expected at least 2 source images, got {len(srcs)}")
    if max_sources is not None and len(srcs) > max_sources:
        raise ValueError(f"{name} is defined for {max_sources} sources, got {len(srcs)}")
    for i, a in enumerate([*srcs, fus]):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
            raise TypeError(f"{name}: expected real numeric images, got dtype {a.dtype}")
        if a.ndim != 2:
            what = "fused image" if i == len(srcs) else f"source {i + 1}"
            raise ValueError(
                f"{name}: expected 2-D luminance arrays (see bench.protocols.prepare), "
                f"got shape {a.shape} for the {what}"
            )
    for i, a in enumerate(srcs[1:], start=2):
        if a.shape != srcs[0].shape:
            raise ValueError(
                f"{name}: expected sources of equal shape, got {srcs[0].shape} and {a.shape} (source {i})"
            )
    if fus.shape != srcs[0].shape:
        raise ValueError(
            f"{name}: expected the fused image to have the sources' shape {srcs[0].shape}, got {fus.shape}"
        )
    return [a.astype(np.float64, copy=False) for a in srcs], fus.astype(np.float64, copy=False)


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: to nearest integer, halves away from zero (exact, no ``floor(x + 0.5)`` error)."""
    x = np.asarray(x, dtype=np.float64)
    r = np.round(x)
    t = np.trunc(x)
    half = np.abs(x - t) == 0.5
    return np.where(half, t + np.sign(x), r)


def normalize1(data: np.ndarray) -> np.ndarray:
    """Liu toolbox ``normalize1``: ``round((x - min) / (max - min) * 255)``.

    If both max and min are 0 the data is returned unchanged; a constant non-zero image divides 0 by 0
    and gives NaN, exactly as the MATLAB code does.
    """
    data = np.asarray(data, dtype=np.float64)
    da, xiao = data.max(), data.min()
    if da == 0 and xiao == 0:
        return data.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        new = (data - xiao) / (da - xiao)
    return matlab_round(new * 255)


def filter2_same(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(h, x, 'same')`` for an odd-sized kernel: correlation with zero padding."""
    h = np.asarray(h, dtype=np.float64)
    if h.shape[0] % 2 == 0 or h.shape[1] % 2 == 0:
        raise ValueError(f"filter2_same supports odd kernel sizes only, got {h.shape}")
    return correlate(x, h, "constant")


def conv2_same(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """MATLAB ``conv2(x, h, 'same')`` for an odd-sized kernel: convolution (kernel flipped), zero padding."""
    return filter2_same(np.asarray(h, dtype=np.float64)[::-1, ::-1], x)
