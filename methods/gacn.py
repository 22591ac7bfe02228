"""GACN (Ma et al. 2022) on the authors' weights: two images, and N-image stacks (serial / calibration).

Port of Keep-Passion/GACN ``nets/gacn_net.py`` (``GACN_Fuse.fuse``, ``multi_fuse_origin``,
``multi_fuse_calibration``), ``nets/guided_filter.py``, ``nets/box_filter.py``, ``nets/nets_utility.py``
(``GaussBlur``) and ``main.py`` @ master 4994c883f0896f4029cd517739d8e16f4572b938, licence **LGPL-2.1**
(https://github.com/Keep-Passion/GACN). Our own code, written from ``shared/docs/methods.md`` section 3
and a reading of the official files; distributed under LGPL-2.1 as a derivative work.

What the official code does, reproduced here:

* network input: gray in [0, 1] (skimage ``rgb2gray`` for colour, ``u/255`` for gray), **no** mean/std
  normalisation (the Normalize line is commented out);
* per-channel SF (11x11 window sums of squared left/top differences, zero padding) and the soft
  decision ``sigmoid(1000 (SF_A - SF_B))`` per channel, decision path, ``D0 = sigmoid(1000 x)``;
* boundary guided filter: 9x9 Gaussian (sigma 8, zero padding) blur of D0, the piecewise boundary
  weight ``w`` (``1 - b(2b - 1)`` above 0.8, ``3b - 2b^2`` below 0.1, else 1), gray guided filter
  r=3, eps=0.1 of D0 guided by ``gray_A D0 + gray_B (1 - D0)``, ``D = q w + D0 (1 - w)``;
* ``F = D A + (1 - D) B`` on RGB in [0, 1]; saved as imageio does for floats: ``floor(255 x + 0.499999999)``,
  after a whole-image min-max stretch when any value leaves [0, 1] (``official_rounding=True``).

N > 2 sources, ``stack="serial"`` (official ``multi_fuse_origin``): ``F = I1``; for k = 2..N run the net
on (gray(F), gray(Ik)) and set ``F = D F + (1 - D) Ik``; gray(F) recomputed with 0.2125/0.7154/0.0721.
``stack="calibration"`` (the paper's decision calibration, ``multi_fuse_calibration``): features and SF
of I1 once; for each k >= 2 the map ``m_k`` (I1 vs Ik); decision volume ``v_1 = m_2``,
``v_2 = 1 - m_2``, ``v_k = m_2 / (m_k + 1e-4) * (1 - m_k)``; per pixel the image with the largest ``v``
(first on ties) is copied. Computed streaming (running maximum), so memory does not grow with N.
Difference from the official script: it hard-codes the chip stack's two reference frames
(``V017``/``V047``) and resizes every frame to 2400x1800; we take the sources in the order given and
at their own size.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np

from baselines._guided_filter import guided_filter
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec
from bench.weights import WeightsFile
from methods._sesf_pipeline import SKIMAGE_GRAY, gray01, levels01, method_version  # noqa: F401

SOURCE_REPO = "https://github.com/Keep-Passion/GACN"
SOURCE_COMMIT = "4994c883f0896f4029cd517739d8e16f4572b938"
PAPER = (
    "Ma B., Yin X., Wu D., Ban X., et al., End-to-end learning for simultaneously generating decision "
    "map and multi-focus image fusion result, Neurocomputing 470 (2022) 204-216. "
    "doi:10.1016/j.neucom.2021.10.115 (arXiv:2010.08751)"
)
WEIGHTS = WeightsFile(
    "gacn/GACN.pkl",
    f"{SOURCE_REPO}/raw/{SOURCE_COMMIT}/nets/parameters/GACN.pkl",
    "08c4c30ebb3fc9050ab9423e2d8c6c70a8c2e95141426f263814ed45727ac352",
)
GF_RADIUS = 3
GF_EPS = 0.1
BLUR_RADIUS = 4
BLUR_SIGMA = 8.0
STACK_MODES = ("serial", "calibration")


# ------------------------------------------------------------------------------------------ the model
@functools.lru_cache(maxsize=4)
def _load_model(path: str, device: str, sha256: str = ""):
    """Model from ``path`` (``sha256`` only keys the cache, so a rewritten file is reloaded)."""
    import torch

    from methods._gacn_net import GACNNet
    from methods.sesf import load_into

    model = GACNNet()
    load_into(model, path, "GACN")
    model = model.to(torch.device(device)).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model


def get_model(device: str = "cpu", weights: str | os.PathLike | None = None):
    """GACN model on ``device`` (cached): the authors' (resolved and verified) when ``weights`` is
    None, else the checkpoint at ``weights`` (authors' raw state_dict or ``bench train gacn``'s
    ``{"state_dict", "config"}``)."""
    from methods.sesf import resolve_weights

    path, sha = resolve_weights(weights, WEIGHTS)
    return _load_model(path, device, sha)


# -------------------------------------------------------------------------------------- numpy helpers
def _gauss_kernel_1d(radius: int = BLUR_RADIUS, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """1-D factor of GaussBlur's normalised 2-D kernel ``exp(-(x^2 + y^2) / (2 sigma^2)) / sum``."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x**2) / (2.0 * sigma * sigma))
    return k / k.sum()


def gauss_blur(img: np.ndarray) -> np.ndarray:
    """9x9 Gaussian (sigma 8), zero padding (``F.conv2d(..., padding=4)`` in the official code).

    The normalised 2-D kernel is the outer product of the normalised 1-D one, so the filter is
    applied separably (OpenCV, float64).
    """
    import cv2

    k = _gauss_kernel_1d()
    return cv2.sepFilter2D(
        np.ascontiguousarray(img, dtype=np.float64), cv2.CV_64F, k, k, borderType=cv2.BORDER_CONSTANT
    )


def boundary_weight(blur: np.ndarray) -> np.ndarray:
    """GACN's boundary weight from the blurred D0 (piecewise, discontinuous at 0.1 and 0.8 as coded)."""
    # the same per-element expressions as the masked assignments of the official code, on whole arrays
    hi_w = 1.0 - blur * (2.0 * blur - 1.0)
    lo_w = 3.0 * blur - 2.0 * blur**2
    return np.where(blur > 0.8, hi_w, np.where(blur < 0.1, lo_w, 1.0))


def boundary_guided_filter(d0: np.ndarray, gray_a: np.ndarray, gray_b: np.ndarray) -> np.ndarray:
    """Boundary guided filter: smooth D0 with a guided filter only in a band around its edges.

    Parameters
    ----------
    d0 : ndarray
        HxW nearly binary map ``sigmoid(1000 x)`` (1 = take A).
    gray_a, gray_b : ndarray
        HxW network inputs in [0, 1].

    Returns
    -------
    ndarray
        HxW float64 weight map ``D`` (may leave [0, 1] slightly, as in the official code).
    """
    blur = gauss_blur(d0)
    w = boundary_weight(blur)
    guide = gray_a * d0 + gray_b * (1.0 - d0)
    q = guided_filter(guide, d0, GF_RADIUS, GF_EPS)
    return q * w + d0 * (1.0 - w)


# input conversion of the shared SESF/GACN pipeline (methods._sesf_pipeline), under GACN's names
_levels01 = levels01
network_gray = gray01


def imageio_uint8_levels(x: np.ndarray) -> np.ndarray:
    """imageio's float -> uint8 rule (``image_as_uint``) as float levels 0..255.

    In [0, 1]: ``floor(255 x + 0.499999999)``; otherwise the whole image is min-max stretched first.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo < 0.0 or hi > 1.0:
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.floor(x * 255.0 + 0.499999999)


# ----------------------------------------------------------------------------------------- inference
def _features_sf(model, gray: np.ndarray, device: str):
    """Encoder + per-channel SF of one gray image -> 1x64xHxW tensor on ``device``."""
    import torch

    from methods._gacn_net import channel_sf

    x = torch.from_numpy(gray[None, None]).to(device)
    return channel_sf(model.encode_fast(x))


def _decision(model, sf_a, sf_b, gray_a: np.ndarray, gray_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D0, D): decision path on two SF maps, then the boundary guided filter (CPU, float64)."""
    import torch

    from methods._gacn_net import SHARPNESS, soft_decision

    last = model.decide_fast(soft_decision(sf_a, sf_b))
    d0 = torch.sigmoid(SHARPNESS * last)[0, 0].double().cpu().numpy()
    return d0, boundary_guided_filter(d0, gray_a, gray_b)


class _Workspace:
    """Reusable CPU buffers for the inference of many same-size pairs (bit-identical results).

    Three 1x64xHxW float32 tensors: ``feat`` (encoder output, then, viewed channels-last as
    ``bimap``, the decision-path input, which it consumes) and two SF maps. Reusing them avoids
    allocating (and page-faulting) ~0.5 GB per tensor per image at 1600x1200, which is a large part of
    the run time on CPU. On other devices, or for other dtypes, the plain functions above are used.
    """

    def __init__(self, model, shape: tuple[int, int]):
        import torch

        h, w = shape
        self.model = model
        self.feat = torch.empty((1, 64, h, w), dtype=torch.float32)
        # the same memory, NHWC order, seen as a 1x64xHxW channels-last tensor
        self.bimap = self.feat.view(1, h, w, 64).permute(0, 3, 1, 2)
        self.sf = [torch.empty_like(self.feat), torch.empty_like(self.feat)]

    def features_sf(self, gray: np.ndarray, slot: int):
        """Encoder + per-channel SF of one HxW float32 gray image into ``self.sf[slot]``."""
        import torch

        from methods._gacn_net import channel_sf_into

        self.model.encode_into(torch.from_numpy(gray[None, None]), self.feat)
        return channel_sf_into(self.feat, self.sf[slot])

    def decision(
        self, keep: int, gray_keep: np.ndarray, gray_other: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(D0, D) for the pair (``sf[keep]``, ``sf[1 - keep]``); overwrites ``sf[1 - keep]``."""
        import torch

        from methods._gacn_net import SHARPNESS

        sf_a, sf_b = self.sf[keep], self.sf[1 - keep]
        # soft_decision(sf_a, sf_b), computed in sf_b's memory, then copied to channels-last
        torch.sub(sf_a, sf_b, out=sf_b).mul_(SHARPNESS).sigmoid_()
        self.bimap.copy_(sf_b)
        last = self.model.decide_fast(self.bimap)
        d0 = torch.sigmoid(SHARPNESS * last)[0, 0].double().numpy()
        return d0, boundary_guided_filter(d0, gray_keep, gray_other)


def _workspace(model, device: str, shape: tuple[int, int]) -> _Workspace | None:
    return _Workspace(model, shape) if device == "cpu" else None


def decision_pair(
    model, gray_a: np.ndarray, gray_b: np.ndarray, device: str, ws: _Workspace | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(D0, D) for two gray network inputs (float32 [0, 1]); ``ws``: reusable CPU buffers."""
    import torch

    if ws is None and device == "cpu":
        ws = _Workspace(model, gray_a.shape)
    with torch.inference_mode():
        if ws is not None:
            ws.features_sf(gray_a, 0)
            ws.features_sf(gray_b, 1)
            return ws.decision(0, gray_a.astype(np.float64), gray_b.astype(np.float64))
        # one image at a time: features and energies of both never coexist (memory on large images)
        sf_a = _features_sf(model, gray_a, device)
        sf_b = _features_sf(model, gray_b, device)
        return _decision(model, sf_a, sf_b, gray_a.astype(np.float64), gray_b.astype(np.float64))


def _blend(d: np.ndarray, a: np.ndarray, b: np.ndarray, rows: int = 256) -> np.ndarray:
    """``D A + (1 - D) B`` computed by strips of ``rows`` rows (the same operations, so the same
    values; full-size temporaries avoided on big images)."""
    dd = d[:, :, None] if a.ndim == 3 else d
    out = np.empty(np.broadcast_shapes(dd.shape, a.shape), dtype=np.result_type(dd, a, b))
    for r0 in range(0, out.shape[0], rows):
        r = slice(r0, r0 + rows)
        out[r] = dd[r] * a[r] + (1.0 - dd[r]) * b[r]
    return out


#: ``tile="auto"`` runs the network on tiles above this many pixels (untiled: ~1.2 GB per megapixel)
AUTO_TILE_PIXELS = 4_000_000
#: reach of the network part of one output pixel: encoder 4, gradient 1, SF window 5, decision path
#: 4 (3x3 convs) + 5 x 3 (7x7 sSE)
TILE_HALO = 4 + 1 + 5 + 4 + 15


def decision_pair_tiled(
    model, gray_a: np.ndarray, gray_b: np.ndarray, device: str, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decision_pair` with the network on overlapping tiles of core ``size``.

    Each image's cSE weights are its whole-image ones (:func:`methods._tiled_net.attention_scales`);
    D0 is assembled from the tiles' cores and the boundary guided filter runs on the whole map.
    """
    import torch

    from methods._gacn_net import SHARPNESS, channel_sf, soft_decision
    from methods._tiled_net import attention_scales, encode_tiles

    blocks, atts = model._blocks(), model._atts()

    def head(feats):
        sf_a, sf_b = channel_sf(feats[0].contiguous()), channel_sf(feats[1].contiguous())
        return torch.sigmoid(SHARPNESS * model.decide_fast(soft_decision(sf_a, sf_b)))

    with torch.inference_mode():
        xs = [torch.from_numpy(g[None, None]).to(device) for g in (gray_a, gray_b)]
        scales = [attention_scales(blocks, atts, x, size, "gacn") for x in xs]
        d0 = np.empty(gray_a.shape, np.float64)
        encode_tiles(blocks, atts, scales, xs, size, TILE_HALO, head, d0, "gacn")
    return d0, boundary_guided_filter(d0, gray_a.astype(np.float64), gray_b.astype(np.float64))


def _finish(fused: np.ndarray, official_rounding: bool) -> np.ndarray:
    if official_rounding:
        return (imageio_uint8_levels(fused) / 255.0).astype(np.float32)
    return np.clip(fused, 0.0, 1.0).astype(np.float32)


def _check(images: Sequence[np.ndarray]) -> None:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shape = np.shape(images[0])
    if len(shape) not in (2, 3) or min(shape[:2]) < 2 * GF_RADIUS + 2:
        raise ValueError(f"Expected HxW or HxWx3 sources at least {2 * GF_RADIUS + 2} px a side, got {shape}")


def gacn_pair(
    a: np.ndarray, b: np.ndarray, model, device: str, size: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two-image GACN: (unrounded float64 fused image, weight map D); ``size`` > 0: tiled network."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"Expected sources of equal shape, got {np.shape(a)} and {np.shape(b)}")
    a01, b01 = _levels01(a), _levels01(b)
    if size:
        _, d = decision_pair_tiled(model, network_gray(a01), network_gray(b01), device, size)
    else:
        _, d = decision_pair(model, network_gray(a01), network_gray(b01), device)
    return _blend(d, a01, b01), d


def gacn_serial(images: Sequence[np.ndarray], model, device: str, size: int = 0) -> np.ndarray:
    """Official serial ("origin") N-image fusion; returns the unrounded float64 result."""
    fused = _levels01(images[0])
    ws = None if size else _workspace(model, device, fused.shape[:2])
    for k in range(1, len(images)):
        img = _levels01(images[k])
        if img.shape != fused.shape:
            raise ValueError(
                f"Expected sources of equal shape, got {fused.shape} and {img.shape} (source {k + 1})"
            )
        if size:
            _, d = decision_pair_tiled(model, network_gray(fused), network_gray(img), device, size)
        else:
            _, d = decision_pair(model, network_gray(fused), network_gray(img), device, ws)
        fused = _blend(d, fused, img)
    return fused


def gacn_calibration(
    images: Sequence[np.ndarray], model, device: str, size: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Decision calibration (paper section 3.3): returns (fused float64, index map int).

    Streaming: features/SF of the first source once, then per source only its own encoder pass, the
    decision path and the boundary guided filter; the decision volume is reduced to a running maximum
    and the fused image updated in place, so memory does not grow with N.
    """
    import torch

    first = _levels01(images[0])
    g1 = network_gray(first)
    g1d = g1.astype(np.float64)
    fused = first
    ws = None if size else _workspace(model, device, first.shape[:2])
    one, tiny = np.float32(1.0), np.float32(1e-4)
    with torch.inference_mode():
        if size:
            sf1 = None  # tiled: the first source's features are recomputed per tile
        else:
            sf1 = ws.features_sf(g1, 0) if ws is not None else _features_sf(model, g1, device)
        best = index = m2 = None
        for k in range(1, len(images)):
            img = _levels01(images[k])
            if img.shape != first.shape:
                raise ValueError(
                    f"Expected sources of equal shape, got {first.shape} and {img.shape} (source {k + 1})"
                )
            gk = network_gray(img)
            if size:
                _, m = decision_pair_tiled(model, g1, gk, device, size)
            elif ws is not None:
                ws.features_sf(gk, 1)
                _, m = ws.decision(0, g1d, gk.astype(np.float64))
            else:
                _, m = _decision(model, sf1, _features_sf(model, gk, device), g1d, gk.astype(np.float64))
            m = m.astype(np.float32)  # the official decision volume is float32
            if k == 1:
                m2 = m
                v = one - m
                sel = v > m2  # torch.max: first index wins ties
                best = np.where(sel, v, m2)
                index = sel.astype(np.int32)
            else:
                v = np.add(m, tiny)  # v_k = m2 / (m_k + 1e-4) * (1 - m_k), in float32
                np.divide(m2, v, out=v)
                np.multiply(v, np.subtract(one, m, out=m), out=v)
                sel = np.greater(v, best)
                np.copyto(best, v, where=sel)
                index[sel] = k
            np.copyto(fused, img, where=sel[:, :, None] if fused.ndim == 3 else sel)
    return fused, index


def gacn_fuse(
    images: Sequence[np.ndarray],
    *,
    stack: str = "calibration",
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """GACN for N >= 2 sources.

    Parameters
    ----------
    images : sequence of ndarray
        float [0, 1], all HxW or all HxWx3. Accessed one at a time, so a lazy sequence works for
        long stacks.
    stack : {"calibration", "serial"}
        Strategy for N > 2 (ignored for two sources, where both reduce to the pair network).
    device : str or None
        ``auto``, ``cpu``, ``cuda``.
    official_rounding : bool
        Quantise like the official saving step (imageio rule) instead of returning clipped floats.
    weights : path or None
        A GACN checkpoint (e.g. from ``python -m bench train gacn``, or the authors' file); None = the
        authors' weights.
    tile : "auto", 0 or int
        Run the network on overlapping tiles of this core size (0 = whole image; ``auto``: 1024-pixel
        tiles above 4 MP) with whole-image cSE weights; the boundary guided filter and the blend run
        on the whole image. Equal to the untiled result up to float rounding.

    Returns
    -------
    FusionResult
        ``decision_map`` (FusionResult's convention): ``1 - D`` for two sources (D = weight of A);
        the selected index / (N-1) for calibration; None for serial.
    """
    from bench.device import resolve_device

    if stack not in STACK_MODES:
        raise ValueError(f"Expected stack in {STACK_MODES}, got {stack!r}")
    _check(images)
    dev = resolve_device(device)
    from methods._tiling import resolve_tile

    h, w = np.shape(images[0])[:2]
    size = resolve_tile(tile, h, w, AUTO_TILE_PIXELS)
    model = get_model(dev, weights)
    n = len(images)
    if n == 2:
        fused, d = gacn_pair(images[0], images[1], model, dev, size)
        # decision-map convention (FusionResult): 1 - weight of A
        dmap = (1.0 - np.clip(d, 0.0, 1.0)).astype(np.float32)
        return FusionResult(_finish(fused, official_rounding), dmap)
    if stack == "serial":
        return FusionResult(_finish(gacn_serial(images, model, dev, size), official_rounding), None)
    fused, index = gacn_calibration(images, model, dev, size)
    # the calibration output is a copy of source pixels: already on the 8-bit grid for 8-bit sources
    return FusionResult(_finish(fused, official_rounding), (index / (n - 1)).astype(np.float32))


@register_method(
    MethodInfo(
        id="gacn",
        name="GACN",
        family="learned",
        paper=PAPER,
        source=f"{SOURCE_REPO} nets/gacn_net.py @ {SOURCE_COMMIT}",
        license="LGPL-2.1",
        n_image_rule="stack='calibration' (decision calibration, default) or 'serial' (one by one)",
        device_aware=True,
        deterministic=True,
        version=method_version("2"),  # 2: decision map = index of the chosen source (0 = A)
        weights_url=WEIGHTS.url,
        weights_sha256=WEIGHTS.sha256,
        notes=(
            "authors' GACN.pkl; official-code details reproduced: no input normalisation, per-channel "
            "SF + sigmoid(1000 x), boundary guided filter (9x9 sigma-8 blur, piecewise weight, GF r=3 "
            "eps=0.1), imageio float->uint8 rule (official_rounding=False keeps floats); calibration "
            "takes the sources in the given order at native size (official script: fixed frames, 2400x1800); "
            "weights=PATH runs a retrained checkpoint (python -m bench train gacn); big images: network on "
            "exact overlapping tiles with whole-image cSE weights (tile='auto' above 4 MP, 0 = off)"
        ),
        params=(("stack", "calibration"), ("official_rounding", True), ("tile", "auto")),
        param_specs=(ParamSpec("stack", "str", choices=STACK_MODES), ParamSpec("weights", "path")),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    *,
    stack: str = "calibration",
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """GACN on the authors' weights, or a retrained checkpoint (``weights``; see :func:`gacn_fuse`)."""
    return gacn_fuse(
        images, stack=stack, device=device, official_rounding=official_rounding, weights=weights, tile=tile
    )
