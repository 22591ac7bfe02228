"""Gaussian pyramid steps shared by the LP and RP baselines (toolbox ``lp_fuse.m`` / ``rp_fuse.m``).

Written from Yu Liu's MST-SR fusion toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e (files ``selc.m``, ``selb.m``, ``es2.m``, ``adb.m``, which go back
to Oliver Rockinger's 1999 Image Fusion Toolbox). The repository has no licence file; nothing is copied,
the behaviour is re-implemented from ``shared/docs/methods.md`` sections 1.3-1.5 and checked against the
toolbox's saved output (``tests/test_baselines_mst.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from baselines._mst_rules import _CV_MAX_CHANNELS, _cv_channels, es2


def pyramid_reduce(x: np.ndarray, *, integer_valued: bool = False) -> np.ndarray:
    """Toolbox Gaussian step, decimated: ``dec2(conv2(conv2(es2(x, 2), w, 'valid'), w', 'valid'))``.

    ``w = [1 4 6 4 1] / 16``; ``x`` has even height and width. OpenCV's ``pyrDown`` filters with the same
    kernel and keeps the even samples; run on the es2-extended array, its interior outputs are exactly the
    toolbox's (the extension by 2 keeps the sample parity).

    Fast path (float64, or float32 holding integers 0..255 with ``integer_valued``; 2 to 128 channels;
    at least 8x8): ``pyrDown``'s own default border, reflect-101, *is* es2 except for es2's zero corner
    blocks, which only the four corner outputs see; so ``pyrDown`` runs on ``x`` itself (no extended copy)
    and the four corner outputs are recomputed from 6x6 corner patches. The result is bit-identical to the
    extended path: the multi-channel float64 ``pyrDown`` uses one summation order at the borders and
    inside (the single-channel one does not, hence no fast path for one channel; nor does the float32 one,
    except on small integers, where every partial sum is exact).
    """
    h, w = x.shape[:2]
    exact = x.dtype == np.float64 or (integer_valued and x.dtype == np.float32)
    if x.ndim == 3 and 2 <= x.shape[2] <= _CV_MAX_CHANNELS and min(h, w) >= 8 and exact:
        down = cv2.pyrDown(np.ascontiguousarray(x)).reshape(h // 2, w // 2, x.shape[2])
        for rows, r in ((slice(0, 6), 0), (slice(h - 6, h), -1)):
            for cols, c in ((slice(0, 6), 0), (slice(w - 6, w), -1)):
                down[r, c] = _pyramid_reduce_es2(x[rows, cols])[r, c]
        return down
    return _pyramid_reduce_es2(x)


def _pyramid_reduce_es2(x: np.ndarray) -> np.ndarray:
    """:func:`pyramid_reduce` the direct way: ``pyrDown`` of ``es2(x, 2)``, cropped (a strided view)."""
    h, w = x.shape[:2]
    down = _cv_channels(cv2.pyrDown, es2(x, 2))
    return down[1 : 1 + h // 2, 1 : 1 + w // 2]


def pyramid_reduce_each(planes: Sequence[np.ndarray], *, integer_valued: bool = False) -> list[np.ndarray]:
    """:func:`pyramid_reduce` of each of N (h, w, K) arrays, returned C-contiguous.

    OpenCV's single-channel ``pyrDown`` sums in another order than its multi-channel one (results differ
    by ~1 ulp), so K = 1 planes are reduced as one N-channel batch: every value is then exactly what the
    channel-batched implementation (all sources' channels in one array) gave. ``integer_valued``: see
    :func:`pyramid_reduce`.
    """
    if planes[0].shape[2] == 1 and len(planes) > 1:
        both = pyramid_reduce(np.concatenate(planes, axis=2), integer_valued=integer_valued)
        return [np.ascontiguousarray(both[:, :, i : i + 1]) for i in range(len(planes))]
    return [np.ascontiguousarray(pyramid_reduce(p, integer_valued=integer_valued)) for p in planes]


def pyramid_expand(x: np.ndarray, margin: int = 0) -> np.ndarray:
    """Toolbox interpolation: ``conv2(conv2(es2(undec2(x), 2), 2w, 'valid'), 2w', 'valid')``.

    ``undec2`` inserts zeros (sample at even positions, size doubled). Seen from ``x``, es2 of the
    zero-inserted array mirrors without edge repeat on the top/left (virtual ``x[-1] = x[1]``), repeats the
    edge on the bottom/right (virtual ``x[h] = x[h-1]``) and leaves the corners at zero. We build that
    one-sample extension of ``x`` and let OpenCV's ``pyrUp`` (zero insertion + the same ``2w`` kernel) do the
    rest; the outputs that would touch pyrUp's own border are cropped away.

    ``margin`` (0 or 1): return a view ``margin`` samples larger on every side (a fresh array's scratch
    border, not part of the expansion), so a caller can build an es2-extended band in the same memory.
    """
    if margin not in (0, 1):
        raise ValueError(f"Expected a margin of 0 or 1, got {margin!r}")
    h, w = x.shape[:2]
    q = np.zeros((h + 2, w + 2) + x.shape[2:], dtype=np.float64)
    q[1:-1, 1:-1] = x
    q[0, 1:-1] = x[1]
    q[-1, 1:-1] = x[-1]
    q[1:-1, 0] = x[:, 1]
    q[1:-1, -1] = x[:, -1]
    up = _cv_channels(cv2.pyrUp, q)
    return up[2 - margin : 2 + 2 * h + margin, 2 - margin : 2 + 2 * w + margin]


def check_pyramid_size(h: int, w: int, levels: int, method: str) -> None:
    """Raise ValueError if an HxW image is too small for ``levels`` toolbox pyramid levels."""
    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"{method}: levels must be a positive integer, got {levels!r}")
    sh, sw = h, w
    for lev in range(levels):
        sh, sw = sh + sh % 2, sw + sw % 2
        if min(sh, sw) < 4:
            raise ValueError(
                f"{method}: a {h}x{w} image is too small for {levels} pyramid levels "
                f"(level {lev + 1} would be {sh}x{sw}; each level needs at least 3x3)"
            )
        sh, sw = sh // 2, sw // 2
