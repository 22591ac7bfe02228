"""LP: Laplacian-pyramid fusion as in Yu Liu's MST toolbox (``lp_fuse(A, B, 4, 3, 3)``).

Port of ``lp_fuse.m`` (Oliver Rockinger 1999, distributed in Yu Liu's MST-SR-Fusion-Toolbox,
https://github.com/yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e; no licence
file in that repository). Re-implemented from ``shared/docs/methods.md`` section 7.1; reproduces the
toolbox's saved ``Results/fused_mst.tif`` bit-exactly (``tests/test_baselines_mst.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines import _mst
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec


def lp_fuse(sources: Sequence[np.ndarray], levels: int = 4, *, integer_valued: bool = False) -> np.ndarray:
    """Fuse N >= 2 images with the toolbox's Laplacian-pyramid rule (the functional core).

    Per level: odd sizes are made even (:func:`baselines._mst.adb`), the Gaussian ``G`` is
    ``[1 4 6 4 1]/16`` filtering with the toolbox border extension, the detail is ``M - expand(G[::2, ::2])``
    and the details are fused with the choose-max + consistency rule; the coarsest Gaussians are averaged.

    Parameters
    ----------
    sources : sequence of ndarray
        N >= 2 float64 arrays of one shape (H, W) or (H, W, K), any scale (the toolbox used 0..255).
        Each of the K channels is fused independently.
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
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE Trans. Commun. 31(4),
    532-540, 1983. doi:10.1109/TCOM.1983.1095851
    """
    _mst.check_pyramid_size(sources[0].shape[0], sources[0].shape[1], levels, "lp")
    # one C-contiguous (h, w, K) array per source: every pass is a flat loop (a channel-interleaved batch
    # of all sources made each per-source NumPy pass strided, which cost more than the filtering)
    keep32 = integer_valued and all(s.dtype == np.float32 for s in sources)
    dtype = np.float32 if keep32 else np.float64
    ms = [np.ascontiguousarray(s if s.ndim == 3 else s[:, :, None], dtype=dtype) for s in sources]
    sizes, details = [], []
    for _ in range(levels):
        sizes.append(ms[0].shape[:2])
        ms = [_mst.adb(m) for m in ms]
        reduced = _mst.pyramid_reduce_each(ms, integer_valued=keep32)
        keep32 = False
        diffs = []
        for m, r in zip(ms, reduced, strict=True):
            # the detail m - expand(r), computed in place in the expansion's buffer, whose one-sample
            # margin then receives the es2 border: the extended band without another full-size array
            ext = _mst.pyramid_expand(r, margin=1)
            np.subtract(m, ext[1:-1, 1:-1], out=ext[1:-1, 1:-1])
            diffs.append(_mst.es2_fill_border(ext, 1))
        details.append(_mst.choose_max_consistency_es2(diffs, overwrite=True))
        del diffs  # free the extended bands before the next level allocates
        ms = [np.asarray(r, dtype=np.float64) for r in reduced]  # coarser levels: float64 (not integers)
    fused = _mst.average_bands(ms)
    for (h, w), e in zip(reversed(sizes), reversed(details), strict=True):
        up = _mst.pyramid_expand(fused)  # a fresh array: add in place
        up += e
        fused = up[:h, :w]
    return fused if sources[0].ndim == 3 else fused[:, :, 0]


@register_method(
    MethodInfo(
        id="lp",
        name="LP",
        paper=(
            "Burt & Adelson, The Laplacian pyramid as a compact image code, IEEE Trans. Commun. 1983, "
            "doi:10.1109/TCOM.1983.1095851; fusion rules of Liu, Liu & Wang, A general framework for image "
            "fusion based on multi-scale transform and sparse representation, Inf. Fusion 24 (2015) 147-164, "
            "doi:10.1016/j.inffus.2014.09.004"
        ),
        source=(
            "yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, lp_fuse.m, "
            "selc.m, selb.m, es2.m, adb.m (Rockinger 1999)"
        ),
        license="unspecified (no licence file in the toolbox repository); our port is MIT",
        n_image_rule="native: max-abs activity and 3x3 majority vote over N sources, base = mean of N",
        version="1",
        notes=(
            "4 levels, selc mode 3 (3x3 max-abs + 3x3 majority), base averaged, per colour channel, toolbox "
            "border extension with zero corners, MATLAB uint8() rounding of the 0..255 result. Bit-exact to "
            "the toolbox's Results/fused_mst.tif. Switches: quantize='truncate' reproduces the SESF-Fuse "
            "(2020) runs; quantize='none' keeps the float result."
        ),
        params=(("levels", 4), ("quantize", "round")),
        param_specs=(
            ParamSpec("levels", "int", 1, 12),
            ParamSpec("quantize", "str", choices=("round", "truncate", "none")),
        ),
    )
)
def fuse(images: Sequence[np.ndarray], levels: int = 4, quantize: str = "round") -> FusionResult:
    """Fuse N >= 2 float [0, 1] images (HxW or HxWx3) with the toolbox LP; see :func:`lp_fuse`.

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
        lambda planes: lp_fuse(planes, levels, integer_valued=planes[0].dtype == np.float32),
        "lp",
        quantize=quantize,
    )
