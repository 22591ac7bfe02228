"""Private MATLAB-parity helpers for the histogram-based metrics (EN, MI, NMI, Qncie, Qte, CE).

Each helper names the MATLAB behaviour it reproduces; all work on float64 arrays.

* :func:`matlab_round` -- MATLAB ``round`` / ``int16(x)`` / ``uint8(x)`` rounding: half away from zero
  (NumPy's ``round`` is half to even).
* :func:`normalize1` -- Liu toolbox ``normalize1.m``: min-max stretch to 0..255 then ``round``; an
  all-zero image is returned unchanged; any other constant image is 0/0 = NaN everywhere (as MATLAB).
* :func:`grey_levels` -- image values used as histogram bin indices (``X(i,j)+1`` in MATLAB), checked.
* :func:`joint_histogram` -- the ``h(im1+1, im2+1) += 1`` double loop of Liu's ``mutual_info.m`` /
  ``NCC.m`` / ``tsallis.m`` and VIFB's ``mutinf``, as one ``bincount``.
* :func:`entropy_bits` / :func:`plogp_sum` -- ``-sum(p.*log(p + (p==0)))``: empty bins contribute 0.
"""

from __future__ import annotations

import numpy as np


def matlab_round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (MATLAB ``round``), exactly, for float64 arrays."""
    x = np.asarray(x, dtype=np.float64)
    t = np.trunc(x)
    frac = x - t  # exact for binary floating point
    return t + np.where(np.abs(frac) >= 0.5, np.sign(x), 0.0)


def normalize1(data: np.ndarray) -> np.ndarray:
    """Liu toolbox ``normalize1``: ``round((x - min) / (max - min) * 255)``.

    An all-zero image is returned unchanged (MATLAB ``if (da==0 & xiao==0)``); any other constant image
    gives NaN everywhere (0/0), as in MATLAB, so that the calling metric returns NaN.
    """
    data = np.asarray(data, dtype=np.float64)
    da, xiao = data.max(), data.min()
    if da == 0 and xiao == 0:
        return data.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return matlab_round((data - xiao) / (da - xiao) * 255.0)


def grey_levels(img: np.ndarray, bins: int = 256) -> np.ndarray | None:
    """Integer bin indices ``0..bins-1`` of an image holding integer grey levels.

    Returns ``None`` when the image holds NaN (e.g. ``normalize1`` of a constant image), so that the
    caller can return NaN. Non-integer or out-of-range values raise ``ValueError`` (MATLAB would fail
    with "Index exceeds matrix dimensions" / "Subscript indices must be real positive integers").
    """
    img = np.asarray(img, dtype=np.float64)
    if np.isnan(img).any():
        return None
    if img.size and (img.min() < 0 or img.max() > bins - 1 or not np.array_equal(img, np.floor(img))):
        raise ValueError(
            f"Expected integer grey levels in 0..{bins - 1}, got values in [{img.min()}, {img.max()}]"
            " (non-integer or out of range)"
        )
    return img.astype(np.intp).ravel(order="F")


def joint_histogram(i1: np.ndarray, i2: np.ndarray, bins: int = 256) -> np.ndarray:
    """Joint count matrix ``h[i1, i2]`` (rows: first image's level, columns: second image's)."""
    return np.bincount(i1 * bins + i2, minlength=bins * bins).reshape(bins, bins).astype(np.float64)


def plogp_sum(p: np.ndarray, log=np.log2) -> float:
    """``-sum(p .* log(p + (p == 0)))`` over all entries: empty bins contribute exactly 0."""
    p = np.asarray(p, dtype=np.float64)
    nz = p[p != 0]
    return float(-np.sum(nz * log(nz)))


def entropy_bits(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability vector (zero entries ignored)."""
    return plogp_sum(p, np.log2)


def hist_entropies(h: np.ndarray, log=np.log2) -> tuple[float, float, float]:
    """``(H(row variable), H(column variable), H(joint))`` of a joint count matrix ``h``.

    Mirrors Liu's ``mutual_info.m``: ``h = h/sum(h(:))``, marginals by summing, ``-sum(p log p)``.
    """
    p = h / h.sum()
    return plogp_sum(p.sum(axis=1), log), plogp_sum(p.sum(axis=0), log), plogp_sum(p, log)
