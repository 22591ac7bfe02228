"""RP: ratio-of-low-pass-pyramid fusion as in Yu Liu's MST toolbox (``rp_fuse(A, B, 4, 3, 3)``).

Port of ``rp_fuse.m`` (Oliver Rockinger 1999, distributed in Yu Liu's MST-SR-Fusion-Toolbox,
https://github.com/yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e; no licence
file in that repository). Re-implemented from ``shared/docs/methods.md`` section 7.2: the same Gaussian
pyramid as LP (:mod:`baselines.laplacian_pyramid`), but each level stores the ratio ``M / (expand(G) + eps)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines import _mst
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

EPS = 1e-6  # the toolbox's ``eps = 1e-6`` (on the 0..255 scale)


def rp_fuse(sources: Sequence[np.ndarray], levels: int = 4, *, integer_valued: bool = False) -> np.ndarray:
    """Fuse N >= 2 images with the toolbox's ratio-pyramid rule (the functional core).

    Per level the coefficient is the ratio ``R = M / (T + 1e-6)`` with ``T = expand(reduce(M))`` (not
    minus 1, as in the toolbox), fused with the choose-max + consistency rule on ``|R|``; the coarsest
    Gaussians are averaged; reconstruction is ``M = (expand(M) + 1e-6) * R``.

    Parameters
    ----------
    sources : sequence of ndarray
        N >= 2 float64 arrays of one shape (H, W) or (H, W, K) on the 0..255 scale (the ratio and its
        ``eps`` are scale dependent; the toolbox expects non-negative images). Channels are independent.
    levels : int
        Number of pyramid levels (toolbox demo: 4).
    integer_valued : bool
        Promise that float32 sources hold integers in 0..255 (8-bit data, as
        :func:`baselines._mst.run_toolbox_method` passes them). They are then reduced in float32 at the
        finest level, which is exact for such values (every partial sum of OpenCV's ``pyrDown`` is a
        float32 integer, then scaled by 1/256); the result is identical to the float64 computation.

    Returns
    -------
    ndarray
        Fused float64 array, same shape as one source (not rounded).

    References
    ----------
    A. Toet, "Image fusion by a ratio of low-pass pyramid", Pattern Recognit. Lett. 9(4), 245-253, 1989.
    doi:10.1016/0167-8655(89)90003-2
    """
    _mst.check_pyramid_size(sources[0].shape[0], sources[0].shape[1], levels, "rp")
    # one C-contiguous (h, w, K) array per source (see laplacian_pyramid.lp_fuse)
    keep32 = integer_valued and all(s.dtype == np.float32 for s in sources)
    dtype = np.float32 if keep32 else np.float64
    ms = [np.ascontiguousarray(s if s.ndim == 3 else s[:, :, None], dtype=dtype) for s in sources]
    sizes, ratios = [], []
    for _ in range(levels):
        sizes.append(ms[0].shape[:2])
        ms = [_mst.adb(m) for m in ms]
        reduced = _mst.pyramid_reduce_each(ms, integer_valued=keep32)
        keep32 = False
        ratio = []
        for m, r in zip(ms, reduced, strict=True):
            # the ratio m / (expand(r) + eps), computed in place in the expansion's buffer, whose
            # one-sample margin then receives the es2 border (see laplacian_pyramid.lp_fuse)
            ext = _mst.pyramid_expand(r, margin=1)
            t = ext[1:-1, 1:-1]
            t += EPS
            np.divide(m, t, out=t)
            ratio.append(_mst.es2_fill_border(ext, 1))
        ratios.append(_mst.choose_max_consistency_es2(ratio, overwrite=True))
        del ratio  # free the extended bands before the next level allocates
        ms = [np.asarray(r, dtype=np.float64) for r in reduced]  # coarser levels: float64 (not integers)
    fused = _mst.average_bands(ms)
    for (h, w), r in zip(reversed(sizes), reversed(ratios), strict=True):
        up = _mst.pyramid_expand(fused)  # a fresh array: operate in place
        up += EPS
        up *= r
        fused = up[:h, :w]
    return fused if sources[0].ndim == 3 else fused[:, :, 0]


@register_method(
    MethodInfo(
        id="rp",
        name="RP",
        paper=(
            "Toet, Image fusion by a ratio of low-pass pyramid, Pattern Recognit. Lett. 9 (1989) 245-253, "
            "doi:10.1016/0167-8655(89)90003-2; fusion rules of Liu, Liu & Wang, Inf. Fusion 24 (2015) "
            "147-164, doi:10.1016/j.inffus.2014.09.004"
        ),
        source=(
            "yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, rp_fuse.m, "
            "selc.m, selb.m, es2.m, adb.m (Rockinger 1999)"
        ),
        license="unspecified (no licence file in the toolbox repository); our port is MIT",
        n_image_rule="native: max-abs activity and 3x3 majority vote over N sources, base = mean of N",
        version="1",
        notes=(
            "4 levels, ratio M/(T+1e-6) on the 0..255 scale, selc mode 3 on |ratio|, base averaged, per "
            "colour channel, toolbox border extension with zero corners, MATLAB uint8() rounding. Switches: "
            "quantize='truncate' reproduces the SESF-Fuse (2020) RP row; quantize='none' keeps the float "
            "result."
        ),
        params=(("levels", 4), ("quantize", "round")),
        param_specs=(
            ParamSpec("levels", "int", 1, 12),
            ParamSpec("quantize", "str", choices=("round", "truncate", "none")),
        ),
    )
)
def fuse(images: Sequence[np.ndarray], levels: int = 4, quantize: str = "round") -> FusionResult:
    """Fuse N >= 2 float [0, 1] images (HxW or HxWx3) with the toolbox RP; see :func:`rp_fuse`.

    Parameters
    ----------
    images : sequence of ndarray
        Sources, float in [0, 1], all of one shape.
    levels : int
        Pyramid levels (default 4, as the toolbox demo).
    quantize : {"round", "truncate", "none"}
        Output quantisation on the 0..255 scale (see :func:`baselines._mst.run_toolbox_method`).

    Returns
    -------
    FusionResult
        ``image`` float32 in [0, 1]; ``decision_map`` None.
    """
    return _mst.run_toolbox_method(
        images,
        lambda planes: rp_fuse(planes, levels, integer_valued=planes[0].dtype == np.float32),
        "rp",
        quantize=quantize,
    )
