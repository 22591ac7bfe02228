"""DTCWT: dual-tree complex wavelet fusion as in Yu Liu's MST toolbox (``dtcwt_fuse(A, B, 4)``).

Port of the toolbox's ``dtcwt_fuse.m`` (Yu Liu's MST-SR-Fusion-Toolbox,
https://github.com/yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e; no licence
file in that repository), re-implemented from ``shared/docs/methods.md`` section 7.4: Kingsbury's DT-CWT
with level-1 'legall' and q-shift 'qshift_06' filters (our own transform, :mod:`baselines._dtcwt_transform`),
4 levels, lowpass averaged, each of the 6 complex subbands per level fused with the choose-max + consistency
rule on the complex modulus.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baselines import _mst
from baselines._dtcwt_transform import forward_hbw, inverse_hbw
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

CHANNEL_LOOP_PIXELS = 2_000_000  # above this, colour channels are transformed one at a time (memory)

#: reproduction presets: level-1 filters and output quantisation
PRESETS = {"toolbox": ("legall", None), "liu2020": ("near_sym_a", None)}


def dtcwt_fuse(sources: Sequence[np.ndarray], levels: int = 4, biort: str = "legall") -> np.ndarray:
    """Fuse N >= 2 images with the toolbox's DT-CWT rule (the functional core).

    Parameters
    ----------
    sources : sequence of ndarray
        N >= 2 float64 arrays of one shape (H, W) or (H, W, K), any scale; channels are independent.
    levels : int
        Decomposition levels (toolbox demo: 4). Every subband must be at least 2x2.
    biort : {"legall", "near_sym_a"}
        Level-1 filters (the toolbox: ``legall``; the Liu 2020 survey's images: ``near_sym_a``).

    Returns
    -------
    ndarray
        Fused float64 array, same shape as one source (not rounded). Odd sizes are handled like the
        DT-CWT toolbox (last row/column duplicated) and the result is cropped.

    References
    ----------
    J. J. Lewis, R. J. O'Callaghan, S. G. Nikolov, D. R. Bull, N. Canagarajah, "Pixel- and region-based image
    fusion with complex wavelets", Inf. Fusion 8(2), 119-130, 2007. doi:10.1016/j.inffus.2005.09.006
    """
    n = len(sources)
    h, w = sources[0].shape[:2]
    if sources[0].ndim == 3 and sources[0].shape[2] > 1 and h * w > CHANNEL_LOOP_PIXELS:
        # big colour images one channel at a time: channels are independent, so the result is bit-identical
        # (tests/test_big_images.py) and the peak memory is about a third (24 MP within 6 GB)
        planes = range(sources[0].shape[2])
        return np.stack([dtcwt_fuse([s[:, :, c] for s in sources], levels, biort) for c in planes], axis=2)
    # internal (H, batch, W) layout of the transform: sources major, then channels (filled in place:
    # np.concatenate of transposed views keeps their memory order, and making that contiguous copied twice)
    srcs = [s if s.ndim == 3 else s[:, :, None] for s in sources]
    k = srcs[0].shape[2]
    x = np.empty((h, n * k, w), dtype=np.float64)
    for i, s in enumerate(srcs):
        x[:, i * k : (i + 1) * k] = s.transpose(0, 2, 1)
    del srcs

    def parts(band: np.ndarray) -> list[np.ndarray]:
        return [band[:, i * k : (i + 1) * k] for i in range(n)]

    def fuse_band(band: np.ndarray) -> np.ndarray:
        if min(band.shape[0], band.shape[2]) < 2:
            raise ValueError(
                f"dtcwt: a {h}x{w} image is too small for {levels} levels "
                f"(a level's subbands are {band.shape[0]}x{band.shape[2]}, need 2x2)"
            )
        return _mst.choose_max_consistency(parts(band), axes=(0, 2))

    # each subband is fused as soon as the transform produces it (see forward_hbw)
    lowpass, fused_high = forward_hbw(x, levels, fuse_band, biort=biort)
    del x
    fused_low = _mst.average_bands(parts(lowpass))
    out = inverse_hbw(fused_low, fused_high, biort=biort)[:h, :, :w].transpose(0, 2, 1)
    return out if sources[0].ndim == 3 else out[:, :, 0]


@register_method(
    MethodInfo(
        id="dtcwt",
        name="DTCWT",
        paper=(
            "Lewis, O'Callaghan, Nikolov, Bull & Canagarajah, Pixel- and region-based image fusion with "
            "complex wavelets, Inf. Fusion 8 (2007) 119-130, doi:10.1016/j.inffus.2005.09.006; fusion rules "
            "of Liu, Liu & Wang, Inf. Fusion 24 (2015) 147-164, doi:10.1016/j.inffus.2014.09.004"
        ),
        source=(
            "yuliu316316/MST-SR-Fusion-Toolbox @ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, dtcwt_fuse.m with "
            "dtwavexfm2(.., 'legall', 'qshift_06'), selc.m, es2.m; transform re-implemented in "
            "baselines/_dtcwt_transform.py (checked against rjw57/dtcwt 0.14.0, BSD-2)"
        ),
        license="unspecified (no licence file in the toolbox repository); our port is MIT",
        n_image_rule="native: max-|coef| activity and 3x3 majority vote over N sources, lowpass = mean of N",
        version="1",
        notes=(
            "4 levels, legall + qshift_06, selc mode 3 on the complex modulus of each of the 6 subbands, "
            "lowpass averaged, per colour channel, MATLAB uint8() rounding. Odd sizes: last row/column "
            "duplicated (DT-CWT toolbox behaviour), result cropped. Switches: quantize='truncate' with "
            "resize_to_even=True reproduces the SESF-Fuse (2020) DTCWT row (INTER_AREA resize of odd-sized "
            "sources to even size and back). preset='liu2020' reproduces the Liu et al. (2020) survey's "
            "DTCWT images (level-1 filters near_sym_a instead of legall, MATLAB rounding): measured "
            "equal to the survey's images on lytro-01 and classic_gray g_06, g_09, g_10 and on all but one "
            "pixel (off by 1 grey level of 47,168) of g_05, i.e. 100.00 % within 1 grey level "
            "(the toolbox default: 82.3-99.7 % within 1 grey level), "
            "tests/test_baselines_liu2020_mst.py"
        ),
        params=(("levels", 4), ("quantize", "round"), ("resize_to_even", False), ("preset", "toolbox")),
        param_specs=(
            ParamSpec("levels", "int", 1, 12),
            ParamSpec("quantize", "str", choices=("round", "truncate", "none")),
            ParamSpec("resize_to_even", "bool"),
            ParamSpec("preset", "str", choices=tuple(PRESETS)),
        ),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    levels: int = 4,
    quantize: str = "round",
    resize_to_even: bool = False,
    preset: str = "toolbox",
) -> FusionResult:
    """Fuse N >= 2 float [0, 1] images (HxW or HxWx3) with the toolbox DT-CWT; see :func:`dtcwt_fuse`.

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
    preset : {"toolbox", "liu2020"}
        ``toolbox``: the MST toolbox (level-1 ``legall``). ``liu2020``: the Liu et al. (2020) survey's
        published DTCWT images: level-1 ``near_sym_a`` filters (everything else as the toolbox).

    Returns
    -------
    FusionResult
        ``image`` float32 in [0, 1]; ``decision_map`` None.
    """
    if preset not in PRESETS:
        raise ValueError(f"dtcwt: preset must be one of {sorted(PRESETS)}, got {preset!r}")
    biort, preset_quantize = PRESETS[preset]
    if preset_quantize is not None and quantize == "round":
        quantize = preset_quantize
    return _mst.run_toolbox_method(
        images,
        lambda planes: dtcwt_fuse(planes, levels, biort),
        "dtcwt",
        quantize=quantize,
        resize_to_even=resize_to_even,
    )
