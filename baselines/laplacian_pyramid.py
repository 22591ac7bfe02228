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
from bench.types import FusionResult, MethodInfo


def lp_fuse(sources: Sequence[np.ndarray], levels: int = 4) -> np.ndarray:
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

    Returns
    -------
    ndarray
        Fused float64 array, same shape as one source (not rounded).

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE Trans. Commun. 31(4),
    532-540, 1983. doi:10.1109/TCOM.1983.1095851
    """
    n = len(sources)
    _mst.check_pyramid_size(sources[0].shape[0], sources[0].shape[1], levels, "lp")
    m = np.concatenate([s if s.ndim == 3 else s[:, :, None] for s in sources], axis=2)
    sizes, details = [], []
    for _ in range(levels):
        sizes.append(m.shape[:2])
        m = _mst.adb(m)
        reduced = _mst.pyramid_reduce(m)
        diff = m - _mst.pyramid_expand(reduced)
        details.append(_mst.choose_max_consistency(_mst.split_sources(diff, n)))
        m = reduced
    fused = _mst.average_bands(_mst.split_sources(m, n))
    for (h, w), e in zip(reversed(sizes), reversed(details), strict=True):
        fused = (_mst.pyramid_expand(fused) + e)[:h, :w]
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
    return _mst.run_toolbox_method(images, lambda planes: lp_fuse(planes, levels), "lp", quantize=quantize)
