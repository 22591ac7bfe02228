"""DWT: Haar wavelet fusion as in Yu Liu's MST toolbox (``dwt_fuse(A, B, 4)``).

Port of the toolbox's ``dwt_fuse.m`` (Yu Liu's MST-SR-Fusion-Toolbox,
https://github.com/yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e; no licence
file in that repository), re-implemented from ``shared/docs/methods.md`` section 7.3: 2-D DWT with ``db1``
(Haar) and MATLAB's periodic ``'per'`` extension, 4 levels, coarsest approximation averaged, every
detail band fused with the choose-max + consistency rule. The Haar steps are written out in NumPy (with
the periodic extension an odd-length signal gets its last sample duplicated, as in MATLAB ``'per'`` and
PyWavelets ``mode="periodization"``; ``tests/test_baselines_mst.py`` checks equality with PyWavelets).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines import _mst
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo

_S = np.sqrt(0.5)


def _haar_step(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One 2-D Haar analysis step (periodization) of an (H, B, W) array: ``(cA, (cH, cV, cD))``.

    Rows are axis 0, columns axis 2, axis 1 is a batch (this layout keeps NumPy's inner loops long).
    Arithmetic order as MATLAB ``dwt2`` (along the columns first, then the rows; each output the sum of
    the two products ``x0 * s`` and ``x1 * s``), so ties between sources' coefficients on integer images
    resolve as in MATLAB wherever the rounding is the same. Band naming follows PyWavelets: cH is the
    detail along the rows (axis 0), cV along the columns.
    """
    if x.shape[0] % 2:
        x = np.concatenate([x, x[-1:]], axis=0)
    if x.shape[2] % 2:
        x = np.concatenate([x, x[:, :, -1:]], axis=2)
    p0, p1 = x[:, :, 0::2] * _S, x[:, :, 1::2] * _S
    lo, hi = p0 + p1, p0 - p1
    q0, q1 = lo[0::2] * _S, lo[1::2] * _S
    ca, ch = q0 + q1, q0 - q1
    q0, q1 = hi[0::2] * _S, hi[1::2] * _S
    cv, cd = q0 + q1, q0 - q1
    return ca, (ch, cv, cd)


def _haar_inverse_step(
    ca: np.ndarray, details: tuple[np.ndarray, np.ndarray, np.ndarray], size: tuple[int, int]
) -> np.ndarray:
    """Inverse of :func:`_haar_step`, cropped to ``size`` (rows, columns) before any odd-size extension."""
    ch, cv, cd = details
    h2, b, w2 = ca.shape
    lo = np.empty((2 * h2, b, w2))
    hi = np.empty_like(lo)
    lo[0::2] = (ca + ch) * _S
    lo[1::2] = (ca - ch) * _S
    hi[0::2] = (cv + cd) * _S
    hi[1::2] = (cv - cd) * _S
    x = np.empty((2 * h2, b, 2 * w2))
    x[:, :, 0::2] = (lo + hi) * _S
    x[:, :, 1::2] = (lo - hi) * _S
    return x[: size[0], :, : size[1]]


def dwt_fuse(sources: Sequence[np.ndarray], levels: int = 4) -> np.ndarray:
    """Fuse N >= 2 images with the toolbox's Haar-DWT rule (the functional core).

    Parameters
    ----------
    sources : sequence of ndarray
        N >= 2 float64 arrays of one shape (H, W) or (H, W, K), any scale; channels are independent.
    levels : int
        Decomposition levels (toolbox demo: 4). Every detail band must be at least 2x2.

    Returns
    -------
    ndarray
        Fused float64 array, same shape as one source (not rounded).

    References
    ----------
    H. Li, B. S. Manjunath, S. K. Mitra, "Multisensor image fusion using the wavelet transform", Graph.
    Models Image Process. 57(3), 235-245, 1995. doi:10.1006/gmip.1995.1022
    """
    n = len(sources)
    h, w = sources[0].shape[:2]
    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"dwt: levels must be a positive integer, got {levels!r}")
    sh, sw = h, w
    for _ in range(levels):
        sh, sw = (sh + 1) // 2, (sw + 1) // 2
    if min(sh, sw) < 2:
        raise ValueError(
            f"dwt: a {h}x{w} image is too small for {levels} levels "
            f"(coarsest bands would be {sh}x{sw}, need 2x2)"
        )
    # (H, batch, W) layout, sources major, then channels
    x = np.concatenate([(s if s.ndim == 3 else s[:, :, None]).transpose(0, 2, 1) for s in sources], axis=1)
    x = np.ascontiguousarray(x, dtype=np.float64)
    k = x.shape[1] // n

    def parts(band: np.ndarray) -> list[np.ndarray]:
        return [band[:, i * k : (i + 1) * k] for i in range(n)]

    sizes, details = [], []
    for _ in range(levels):
        sizes.append((x.shape[0], x.shape[2]))
        x, bands = _haar_step(x)
        details.append(tuple(_mst.choose_max_consistency(parts(b), axes=(0, 2)) for b in bands))
    out = _mst.average_bands(parts(x))
    for size, bands in zip(reversed(sizes), reversed(details), strict=True):
        out = _haar_inverse_step(out, bands, size)
    out = out.transpose(0, 2, 1)
    return out if sources[0].ndim == 3 else out[:, :, 0]


@register_method(
    MethodInfo(
        id="dwt",
        name="DWT",
        paper=(
            "Li, Manjunath & Mitra, Multisensor image fusion using the wavelet transform, Graph. Models "
            "Image Process. 57 (1995) 235-245, doi:10.1006/gmip.1995.1022; fusion rules of Liu, Liu & Wang, "
            "Inf. Fusion 24 (2015) 147-164, doi:10.1016/j.inffus.2014.09.004"
        ),
        source=(
            "yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, dwt_fuse.m "
            "(db1, dwtmode 'per'), selc.m, es2.m"
        ),
        license="unspecified (no licence file in the toolbox repository); our port is MIT",
        n_image_rule="native: max-abs activity and 3x3 majority vote over N sources, approximation = mean",
        version="1",
        notes=(
            "Haar, periodization, 4 levels, selc mode 3 on every detail band, approximation averaged, per "
            "colour channel, MATLAB uint8() rounding. Odd sizes: PyWavelets' own periodization handling "
            "(last sample duplicated, as MATLAB 'per'), result cropped. Switches: quantize='truncate', "
            "resize_to_even=True and levels=1 emulate the SESF-Fuse (2020) call (its level helper returns 1 "
            "for even sizes); the SESF DWT row is nevertheless not regenerable (methods.md 7.3)."
        ),
        params=(("levels", 4), ("quantize", "round"), ("resize_to_even", False)),
    )
)
def fuse(
    images: Sequence[np.ndarray], levels: int = 4, quantize: str = "round", resize_to_even: bool = False
) -> FusionResult:
    """Fuse N >= 2 float [0, 1] images (HxW or HxWx3) with the toolbox DWT; see :func:`dwt_fuse`.

    Parameters
    ----------
    images : sequence of ndarray
        Sources, float in [0, 1], all of one shape.
    levels : int
        Decomposition levels (default 4).
    quantize : {"round", "truncate", "none"}
        Output quantisation on the 0..255 scale (see :func:`baselines._mst.run_toolbox_method`).
    resize_to_even : bool
        SESF-Fuse emulation: INTER_AREA resize of odd-sized sources to even size and back.

    Returns
    -------
    FusionResult
        ``image`` float32 in [0, 1]; ``decision_map`` None.
    """
    return _mst.run_toolbox_method(
        images,
        lambda planes: dwt_fuse(planes, levels),
        "dwt",
        quantize=quantize,
        resize_to_even=resize_to_even,
    )
