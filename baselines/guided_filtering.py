"""GF: image fusion with guided filtering (Li, Kang, Hu 2013), N >= 2 sources natively.

Re-implementation (our own code) of Xudong Kang's ``GFF.m`` (read from the mirror
ziyuzhaodui/guided-filter @ 94eb6cb9f2c92b78fed72452c9b1b1b00b6f36a2, ``GFF.m``; the file carries no
licence beyond "for research purposes only"; nothing is copied). Spec: ``shared/docs/methods.md`` 7.8.

Pipeline, for sources ``I_n`` in [0, 1]:

1. gray ``G_n`` (MATLAB ``rgb2gray`` weights for colour);
2. saliency ``S_n`` = 11x11 Gaussian (sigma 5) of ``|Laplacian(G_n)|`` (3x3 kernel), both with
   replicate borders; ``S_n += 1e-12``, normalised to sum 1 over the sources;
3. ``P_n = 1`` where ``S_n`` is largest (ties: first source);
4. ``W_B,n`` = guided filter of ``P_n`` with guide ``G_n`` (r1, eps1), ``W_D,n`` likewise (r2, eps2);
   each quantised like MATLAB ``uint8(W*255)/255`` (this also clips to [0, 1]), ``+1e-12``, normalised
   to sum 1 over the sources;
5. base ``B_n`` = 31x31 mean (replicate border) of each channel, detail ``D_n = I_n - B_n``;
   ``F = sum_n W_B,n B_n + W_D,n D_n``.

The guided filter is He's with windows clipped at the border (methods.md 1.2), computed by
:func:`baselines._guided_filter.guided_filter_stack` (same values as
:func:`baselines._guided_filter.guided_filter`, faster). OpenCV's ``ximgproc.guidedFilter`` differs in a
45-pixel border band and is not used.

Reproduction switch ``sesf2020_call``: the SESF-Fuse experiment called ``GFF.m`` with *double* images in
0..255. MATLAB ``rgb2gray`` on double input clamps to [0, 1], so the gray images used for saliency and
guidance are nearly binary and the weights collapse to almost "take the first source"; the six gray
pairs were fed as 3-channel copies (they match the record only that way) and the output was
``uint8(F*255)``. That switch regenerates the paper's GF row (SESF Table 2: Qg 0.5631); the correct
GFF scores about 0.70 on the same pairs (methods.md 7.13).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from baselines._guided_filter import guided_filter_stack
from bench.luminance import MATLAB
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec

_RGB2GRAY = np.array(MATLAB)
_LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _gaussian_kernel_1d(size: int = 11, sigma: float = 5.0) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (the 2-D kernel is its outer product).

    Applied separably (``cv2.sepFilter2D``), never through ``cv2.filter2D``: OpenCV switches to a DFT for
    kernels of 11x11 and more, which turns exact zeros into 1e-17 noise and breaks the saliency ties
    that ``GFF.m`` resolves in favour of the first source.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _matlab_u8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)`` on doubles: round half away from zero, saturate to 0..255 (as float64)."""
    # floor(x + 0.5) equals round-half-away for x >= 0, and every x < 0 saturates to 0 either way
    return np.clip(np.floor(x + 0.5), 0.0, 255.0)


def _check(images: Sequence[np.ndarray], dtype: type) -> np.ndarray:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"Expected sources of equal shape, got {sorted(shapes)}")
    stack = np.stack([np.asarray(im, dtype=dtype) for im in images], axis=0)
    if stack.ndim not in (3, 4) or (stack.ndim == 4 and stack.shape[3] != 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {stack.shape[1:]}")
    return stack


def gff(
    images: Sequence[np.ndarray],
    r1: int = 45,
    eps1: float = 0.3,
    r2: int = 7,
    eps2: float = 1e-6,
    *,
    sesf2020_call: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 registered sources with guided-filtering fusion.

    Parameters
    ----------
    images : sequence of ndarray
        N >= 2 float images in [0, 1] of one shape, HxW or HxWx3.
    r1, eps1 : int, float
        Guided-filter radius and regularisation of the base-layer weights (Kang: 45, 0.3).
    r2, eps2 : int, float
        Same for the detail-layer weights (Kang: 7, 1e-6).
    sesf2020_call : bool
        Emulate the SESF-Fuse experiment's call of ``GFF.m`` (see module docstring); output rounded
        to 8 bits like MATLAB ``uint8``. Only for regenerating that paper's table.

    Returns
    -------
    fused : ndarray
        Image of the sources' shape, in [0, 1] up to rounding; float32 (float64 with
        ``sesf2020_call``).
    decision : ndarray
        HxW initial-choice label map ``argmax_n S_n`` (int).

    Raises
    ------
    ValueError
        Fewer than two sources, different shapes, or not HxW / HxWx3.

    References
    ----------
    S. Li, X. Kang, J. Hu, "Image fusion with guided filtering", IEEE TIP 22(7):2864-2875, 2013.
    doi:10.1109/TIP.2013.2244222
    """
    # weights always in float64; the final weighted sum in float32 for the clean output (it is returned
    # as float32 anyway) and in float64 when emulating MATLAB up to its uint8 rounding
    stack = _check(images, np.float64 if sesf2020_call else np.float32)  # N x H x W (x 3)
    if sesf2020_call:
        # GFF.m got doubles in 0..255 (gray pairs as 3 equal channels): rgb2gray clamps to [0, 1],
        # and LapFilter / GuidOptimize divide by 255 once more.
        lum = stack @ _RGB2GRAY * 255.0 if stack.ndim == 4 else stack * 255.0 * _RGB2GRAY.sum()
        gray = np.clip(lum, 0.0, 1.0) / 255.0
    else:
        gray = stack @ _RGB2GRAY if stack.ndim == 4 else stack.astype(np.float64)
    gray = np.ascontiguousarray(gray)  # N x H x W
    n = stack.shape[0]
    gk = _gaussian_kernel_1d()
    sal = np.stack(
        [
            cv2.sepFilter2D(
                np.abs(cv2.filter2D(g, cv2.CV_64F, _LAPLACIAN, borderType=cv2.BORDER_REPLICATE)),
                cv2.CV_64F,
                gk,
                gk,
                borderType=cv2.BORDER_REPLICATE,
            )
            for g in gray
        ],
        axis=0,
    )  # N x H x W
    sal += 1e-12
    sal /= sal.sum(axis=0)
    labels = np.argmax(sal, axis=0)  # ties -> first source, like MATLAB max
    del sal  # big images: every N x H x W float64 array is 16 bytes per pixel and source
    p = (labels == np.arange(n)[:, None, None]).astype(np.float64)

    def weights(r: int, eps: float) -> np.ndarray:
        # _matlab_u8(gf * 255) / 255 + 1e-12, normalised over N: the same operations, done in place
        w = guided_filter_stack(gray, p, r, eps)
        w *= 255.0
        w += 0.5
        np.floor(w, out=w)
        np.clip(w, 0.0, 255.0, out=w)
        w /= 255.0
        w += 1e-12
        w /= w.sum(axis=0)
        return w

    w_b = weights(r1, eps1).astype(stack.dtype, copy=False)  # N x H x W
    w_d = weights(r2, eps2).astype(stack.dtype, copy=False)
    fused = np.zeros(stack.shape[1:], dtype=stack.dtype)
    for k in range(n):
        src = stack[k]
        base = cv2.blur(src, (31, 31), borderType=cv2.BORDER_REPLICATE).reshape(src.shape)
        wb, wd = (w_b[k], w_d[k]) if src.ndim == 2 else (w_b[k][:, :, None], w_d[k][:, :, None])
        fused += wb * base
        fused += wd * (src - base)
    if sesf2020_call:
        fused = _matlab_u8(fused * 255.0) / 255.0
    return fused, labels


@register_method(
    MethodInfo(
        id="gf",
        name="GF (guided filtering)",
        paper="S. Li, X. Kang, J. Hu, Image fusion with guided filtering, IEEE TIP 22(7) 2013. "
        "doi:10.1109/TIP.2013.2244222",
        source="Xudong Kang's GFF.m, mirrored in ziyuzhaodui/guided-filter @ 94eb6cb9 (re-implemented)",
        license="research use only (Kang's GFF.m header); our code MIT",
        n_image_rule="native: saliency argmax and weight normalisation over N sources",
        version="1",
        notes="Kang's defaults r1=45, eps1=0.3, r2=7, eps2=1e-6; weights quantised to 8 bits as in GFF.m; "
        "output kept float (GFF.m rounds to uint8). Reproduction switch sesf2020_call=True emulates the "
        "SESF-Fuse experiment's broken call (0..255 doubles, clamped gray) behind its GF row.",
        params=(("r1", 45), ("eps1", 0.3), ("r2", 7), ("eps2", 1e-6), ("sesf2020_call", False)),
        param_specs=(
            ParamSpec("r1", "int", 1, 1000),
            ParamSpec("eps1", "float", 0.0),
            ParamSpec("r2", "int", 1, 1000),
            ParamSpec("eps2", "float", 0.0),
        ),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    r1: int = 45,
    eps1: float = 0.3,
    r2: int = 7,
    eps2: float = 1e-6,
    *,
    sesf2020_call: bool = False,
) -> FusionResult:
    """Registry entry: :func:`gff` as a :class:`FusionResult` (decision map = initial labels / (N-1))."""
    fused, labels = gff(images, r1, eps1, r2, eps2, sesf2020_call=sesf2020_call)
    out = np.clip(fused, 0.0, 1.0).astype(np.float32)
    return FusionResult(out, (labels / (len(images) - 1)).astype(np.float32))
