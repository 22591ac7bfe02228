"""Private MATLAB-parity helpers for the histogram-based metrics (EN, MI, NMI, Qncie, Qte, CE).

Each helper names the MATLAB behaviour it reproduces; all work on float64 arrays. Rounding and
``normalize1`` are in :mod:`metrics._matlab`.

* :func:`grey_levels` -- image values used as histogram bin indices (``X(i,j)+1`` in MATLAB), checked.
* :func:`joint_histogram` -- the ``h(im1+1, im2+1) += 1`` double loop of Liu's ``mutual_info.m`` /
  ``NCC.m`` / ``tsallis.m`` and VIFB's ``mutinf``, as one ``bincount``.
* :func:`entropy_bits` / :func:`plogp_sum` -- ``-sum(p.*log(p + (p==0)))``: empty bins contribute 0.
"""

from __future__ import annotations

import numpy as np

from metrics._memo import _frozen_owner, memoize_images


def grey_levels(img: np.ndarray, bins: int = 256) -> np.ndarray | None:
    """Integer bin indices ``0..bins-1`` of an image holding integer grey levels.

    Returns ``None`` when the image holds NaN (e.g. ``normalize1`` of a constant image), so that the
    caller can return NaN. Non-integer or out-of-range values raise ``ValueError`` (MATLAB would fail
    with "Index exceeds matrix dimensions" / "Subscript indices must be real positive integers").
    For a frozen input (an input of a scoring pass, or a memoised ``normalize1`` result) the indices are
    memoised (read-only): CE, NMI, Qncie and Qte index the same images.
    """
    if bins == 256 and _frozen_owner(img):
        return _grey_levels_memo(img)
    return _grey_levels(img, bins)


def _grey_levels_frozen(img: np.ndarray) -> np.ndarray | None:
    out = _grey_levels(img, 256)
    if out is not None:
        out.setflags(write=False)
    return out


def _grey_levels(img: np.ndarray, bins: int) -> np.ndarray | None:
    img = np.asarray(img, dtype=np.float64)
    if np.isnan(img).any():
        return None
    if img.size and (img.min() < 0 or img.max() > bins - 1 or not np.array_equal(img, np.floor(img))):
        raise ValueError(
            f"Expected integer grey levels in 0..{bins - 1}, got values in [{img.min()}, {img.max()}]"
            " (non-integer or out of range)"
        )
    return img.astype(np.intp).ravel(order="F")


_grey_levels_memo = memoize_images(_grey_levels_frozen, maxsize=8)


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
