"""SESF-Fuse (Ma et al. 2020) on the authors' weights, reproducing the official inference code.

Port of Keep-Passion/SESF-Fuse ``nets/sesf_net.py`` (``SESF_Fuse.fuse``, ``guided_filter``) and
``main.py`` @ master 23e60b8c710919f5b2957b64c96e3c204443c6d7, licence **LGPL-2.1**
(https://github.com/Keep-Passion/SESF-Fuse). Our own code, written from ``shared/docs/methods.md``
section 2 and a reading of the official files; as a derivative work of LGPL-2.1 code this file is
distributed under LGPL-2.1.

Departures of the official code from the paper, all reproduced here:

* network input = skimage ``rgb2gray`` (0.2125/0.7154/0.0721) in [0, 1], then normalised with the
  training mean/std (0.45005, 0.26465);
* SF on the 64-ch features = 11x11 window *sum* of squared left/top differences (zero padding),
  summed over channels, **no square root**, no normalisation; decision ``SF_A > SF_B`` (ties -> B);
* consistency check: opening with ``disk(5)``, removal of 1-regions with area ``< 0.01 H W``
  (4-connected, the *old strict* skimage rule), closing with ``disk(5)``, removal of 0-regions
  ``< 0.01 H W`` (skimage's default border modes: outside = True for erosion, False for dilation);
* guided filter r=4, eps=0.1 with the initial fused image in **0..255** as guidance; for colour the
  per-channel variant of :func:`baselines._guided_filter.guided_filter_sesf_color`; the weight map is
  **not clamped**; the fused image is clipped to [0, 255] and **truncated** to uint8.

More than two sources: fused serially (``F12 = fuse(A1, A2)``, ``F123 = fuse(F12, A3)`` ...), as the
paper describes (no code in the repository).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec
from bench.weights import WeightsFile

# the decision pipeline (conversion, SF decision, consistency check, guided-filter blend) lives in
# methods._sesf_pipeline, shared with gacn and msrsf; its names are re-exported here for callers
from methods._sesf_pipeline import (
    AREA_RATIO,  # noqa: F401
    DISK_RADIUS,  # noqa: F401
    GF_EPS,  # noqa: F401
    GF_RADIUS,
    SF_RADIUS,
    SKIMAGE_GRAY,  # noqa: F401
    blend_with_guided_map,  # noqa: F401
    consistency_check,  # noqa: F401
    decide_and_blend,
    method_version,
    network_gray,
    sf_decision,
    to_levels,
)

SOURCE_REPO = "https://github.com/Keep-Passion/SESF-Fuse"
SOURCE_COMMIT = "23e60b8c710919f5b2957b64c96e3c204443c6d7"
PAPER = (
    "Ma B., Zhu Y., Yin X., Ban X., Huang H., Mukeshimana M., SESF-Fuse: an unsupervised deep model for "
    "multi-focus image fusion, Neural Computing and Applications (2020). doi:10.1007/s00521-020-05358-9"
)
_HISTORY = "e165c5ccb39618aba1dbca769b1e35d8576bac58"

WEIGHTS = {
    "cse": WeightsFile(
        "sesf_fuse/lp+lssim_se_sf_net_times30.pkl",
        f"{SOURCE_REPO}/raw/{SOURCE_COMMIT}/nets/parameters/lp%2Blssim_se_sf_net_times30.pkl",
        "8758fcab88f19f673e31c9a8d1dc60e67f5b655572462ea099c49248b36fdaa3",
    ),
    "sse": WeightsFile(
        "sesf_fuse/lp+lssim_se_sf_net_sse_times30.pkl",
        f"{SOURCE_REPO}/raw/{_HISTORY}/nets/parameters/lp%2Blssim_se_sf_net_sse_times30.pkl",
        "689377e8138285d3b9e6d3a7b7882d5a103eb7cdc84c66ddd3192902b251efd6",
    ),
    "scse": WeightsFile(
        "sesf_fuse/lp+lssim_se_sf_net_scse_times30.pkl",
        f"{SOURCE_REPO}/raw/{_HISTORY}/nets/parameters/lp%2Blssim_se_sf_net_scse_times30.pkl",
        "bed5c7e23caaa202d18bddf2dc4d85f89318bd5dd575f4f1837cad5b2f02d67a",
    ),
}


# ------------------------------------------------------------------------------------------ the model
def load_checkpoint(path: str | os.PathLike) -> tuple[dict, dict]:
    """(state_dict, config) of a weights file: the authors' raw state_dict or our training export.

    ``python -m bench train sesf|sesf_sse|sesf_scse|gacn`` writes ``{"state_dict", "config"}``
    (:func:`bench.training.export_weights`, possibly float16); the authors' files are a bare state_dict
    (``nn.DataParallel``'s ``module.`` prefix stripped). Floating tensors come back as float32; the
    config is ``{}`` for a bare state_dict. Loaded with ``weights_only=True``.

    Raises
    ------
    UserError
        The file is missing or is not a state_dict of either form.
    """
    from bench.errors import UserError
    from bench.weights import load_state_dict

    if not Path(path).is_file():
        raise UserError(f"weights file {path} not found")
    blob = load_state_dict(path, device="cpu", strip_prefix="")
    config: dict = {}
    if set(blob) == {"state_dict", "config"} and isinstance(blob["state_dict"], dict):
        config = dict(blob["config"]) if isinstance(blob["config"], dict) else {}
        blob = blob["state_dict"]
    if not all(hasattr(v, "is_floating_point") for v in blob.values()):
        raise UserError(
            f"{path}: expected a state_dict of tensors or a {{'state_dict', 'config'}} checkpoint"
        )
    state = {k.removeprefix("module."): (v.float() if v.is_floating_point() else v) for k, v in blob.items()}
    return state, config


def load_into(model, path: str | os.PathLike, what: str, expect: dict | None = None) -> dict:
    """``model.load_state_dict(strict=True)`` from :func:`load_checkpoint`; returns the config.

    ``expect``: config entries a training export must match (e.g. ``{"attention": "cse"}``); a bare
    state_dict has no config and is only checked by the strict load. A checkpoint that does not fit
    is a :class:`~bench.errors.UserError` naming ``what``.
    """
    from bench.errors import UserError

    state, config = load_checkpoint(path)
    for key, want in (expect or {}).items():
        if key in config and config[key] != want:
            raise UserError(
                f"{path}: {what} needs {key}={want!r}, the checkpoint was trained with {config[key]!r}"
            )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a {what} checkpoint ({first})") from None
    return config


@functools.lru_cache(maxsize=8)
def _load_model(path: str, device: str, attention: str, sha256: str = ""):
    """Model from ``path`` (``sha256`` only keys the cache, so a rewritten file is reloaded)."""
    import torch

    from methods._sesf_net import SESFNet

    model = SESFNet(attention)
    load_into(
        model, path, f"SESF-Fuse {attention!r} network ({_METHOD_OF[attention]})", {"attention": attention}
    )
    model = model.to(torch.device(device)).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model


_METHOD_OF = {"cse": "sesf", "sse": "sesf_sse", "scse": "sesf_scse"}


def resolve_weights(weights: str | os.PathLike | None, default: WeightsFile) -> tuple[str, str]:
    """(path, sha256) of the weights to use: ``default`` resolved and verified when ``weights`` is None,
    else the user's file (its sha256 computed)."""
    from bench.errors import UserError
    from bench.integrity import sha256_file
    from bench.weights import resolve

    if weights is None:
        return str(resolve(default)), default.sha256
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(f"weights file {weights} not found")
    return str(path), sha256_file(path)


def get_model(attention: str = "cse", device: str = "cpu", weights: str | os.PathLike | None = None):
    """SESF model for ``attention`` on ``device`` (cached).

    ``weights``: a checkpoint path (the authors' raw state_dict or ``bench train``'s
    ``{"state_dict", "config"}``); None = the authors' weights, resolved and verified.
    """
    path, sha = resolve_weights(weights, WEIGHTS[attention])
    return _load_model(path, device, attention, sha)


def decision_sf(gray_a: np.ndarray, gray_b: np.ndarray, model, device: str) -> np.ndarray:
    """Initial decision ``SF_A > SF_B`` on the network's features (HxW bool)."""
    import torch

    from methods._sesf_net import MEAN, STD, gradient_energy, spatial_frequency, window_sum_f64

    x = torch.from_numpy(np.stack([gray_a, gray_b])[:, None]).to(device)
    # torchvision Normalize in float32: (x - mean) / std
    x = (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)
    with torch.inference_mode():
        if x.device.type != "cpu":
            sf = spatial_frequency(model.encode_fast(x), SF_RADIUS)
            return sf_decision(sf[0, 0], sf[1, 0]).cpu().numpy()
        # CPU: one image at a time into one reused feature buffer (the same per-image operations as
        # the batch: bit-identical), the float64 window sum in NumPy (the same sums in the same order)
        feat = torch.empty((1, 64, *x.shape[-2:]), dtype=x.dtype)
        sf = []
        for i in range(2):
            g = gradient_energy(model.encode_fast(x[i : i + 1], out=feat), sum_channels=True)
            sf.append(window_sum_f64(g[0, 0].double().numpy(), SF_RADIUS))
        return sf_decision(sf[0], sf[1])


#: ``tile="auto"`` runs the network on tiles above this many pixels (untiled: ~0.9 GB per megapixel)
AUTO_TILE_PIXELS = 4_000_000
#: with tiling on, the guided-filter blend runs by strips above this many pixels (whole-image blend
#: temporaries: ~0.25 GB per megapixel for colour); strips change float rounding, hence not below
STRIP_PIXELS = 8_000_000


def decision_sf_tiled(gray_a: np.ndarray, gray_b: np.ndarray, model, device: str, size: int) -> np.ndarray:
    """:func:`decision_sf` on overlapping tiles of core ``size`` (bounded memory on big images).

    The cSE weights are the whole-image ones (:func:`methods._tiled_net.attention_scales`); each tile
    carries the encoder's, the gradient's and the SF window's reach (4 + 1 + SF_RADIUS pixels).
    """
    import torch

    from methods._sesf_net import MEAN, STD, spatial_frequency
    from methods._tiled_net import ENCODER_HALO, attention_scales, encode_tiles

    blocks = [model.features, model.conv_encode_1, model.conv_encode_2, model.conv_encode_3]
    atts = [model.se_f, model.se_1, model.se_2, model.se_3]
    sfs = []
    with torch.inference_mode():
        for g in (gray_a, gray_b):
            x = torch.from_numpy(g[None, None]).to(device)
            x = (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)
            scales = attention_scales(blocks, atts, x, size, "sesf")
            out = np.empty(g.shape, np.float64)
            encode_tiles(
                blocks,
                atts,
                [scales],
                [x],
                size,
                ENCODER_HALO + 1 + SF_RADIUS,
                lambda f: spatial_frequency(f[0], SF_RADIUS),
                out,
                "sesf",
            )
            sfs.append(out)
    return sf_decision(sfs[0], sfs[1])


def sesf_pair(
    a: np.ndarray,
    b: np.ndarray,
    *,
    attention: str = "cse",
    device: str = "cpu",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two images with SESF-Fuse.

    Parameters
    ----------
    a, b : ndarray
        float [0, 1], both HxW or both HxWx3.
    attention : {"cse", "sse", "scse"}
        Which of the authors' checkpoints (released model = ``cse``; the others are the ablations).
    device : str
        Resolved torch device for the network.
    official_rounding : bool
        Truncate to uint8 levels like the official code (default); else keep the clipped float result.
    weights : path or None
        A checkpoint of the same network (e.g. from ``python -m bench train sesf``); None = the
        authors' weights.
    tile : "auto", 0 or int
        Run the network on overlapping tiles of this core size (0 = whole image; ``auto``: 1024-pixel
        tiles above 4 MP), with the whole-image cSE weights; above 8 MP the guided-filter blend also
        runs by strips. The consistency check always runs on the whole map. Equal to the untiled
        result up to float rounding (SF near-ties; with strips, truncation of exact integers).

    Returns
    -------
    fused : ndarray
        float32 [0, 1], shape of ``a``.
    d1 : ndarray of bool
        The decision map after the consistency check (True = take A).
    """
    if a.shape != b.shape:
        raise ValueError(f"Expected sources of equal shape, got {a.shape} and {b.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {a.shape}")
    h, w = a.shape[:2]
    if min(h, w) < 2 * GF_RADIUS + 2:
        raise ValueError(f"Expected images of at least {2 * GF_RADIUS + 2} pixels a side, got {h}x{w}")
    from methods._tiling import resolve_tile

    size = resolve_tile(tile, h, w, AUTO_TILE_PIXELS)
    la, lb = to_levels(a), to_levels(b)
    model = get_model(attention, device, weights)
    if size:
        d0 = decision_sf_tiled(network_gray(la), network_gray(lb), model, device, size)
    else:
        d0 = decision_sf(network_gray(la), network_gray(lb), model, device)
    strips = size if h * w > STRIP_PIXELS else 0
    return decide_and_blend(la, lb, d0, official_rounding, strip_rows=strips)


def sesf_fuse(
    images: Sequence[np.ndarray],
    *,
    attention: str = "cse",
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """SESF-Fuse for N >= 2 sources (serial for N > 2); the pure core behind ``sesf*`` entries.

    ``weights``: checkpoint path (authors' raw state_dict or ``bench train``'s export); None = the
    authors' weights for ``attention``. ``tile``: see :func:`sesf_pair`.
    """
    from bench.device import resolve_device

    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    dev = resolve_device(device)
    kw = dict(
        attention=attention, device=dev, official_rounding=official_rounding, weights=weights, tile=tile
    )
    fused, dm = sesf_pair(images[0], images[1], **kw)
    for img in images[2:]:
        fused, _ = sesf_pair(fused, img, **kw)
        dm = None  # a pairwise map no longer describes the N-image result
    # decision-map convention (FusionResult): index of the chosen source, dm is True where A is taken
    return FusionResult(fused, None if dm is None else (~dm).astype(np.float32))


def method_info(attention: str, ident: str, name: str, version: str = "2") -> MethodInfo:
    """Registry metadata shared by ``sesf``, ``sesf_sse`` and ``sesf_scse``; the version includes the
    shared pipeline's (:func:`methods._sesf_pipeline.method_version`). 2: decision map = chosen index."""
    wf = WEIGHTS[attention]
    return MethodInfo(
        id=ident,
        name=name,
        family="learned",
        paper=PAPER,
        source=f"{SOURCE_REPO} nets/sesf_net.py @ {SOURCE_COMMIT}",
        license="LGPL-2.1",
        n_image_rule="serial: F12 = fuse(A1, A2), F123 = fuse(F12, A3), ... (paper)",
        device_aware=True,
        deterministic=True,
        version=method_version(version),
        weights_url=wf.url,
        weights_sha256=wf.sha256,
        notes=(
            f"authors' {attention} checkpoint; official-code departures reproduced: mean/std input "
            "normalisation, SF without square root, strict ties to B, old strict small-region rule, "
            "per-channel colour guided filter in 0..255 without clamping, uint8 truncation "
            "(official_rounding=False keeps floats); weights=PATH runs a retrained checkpoint "
            "(python -m bench train); big images: network on exact overlapping tiles with whole-image "
            "cSE weights (tile='auto' above 4 MP, 0 = off)"
        ),
        params=(("official_rounding", True), ("tile", "auto")),
        param_specs=(ParamSpec("official_rounding", "bool"), ParamSpec("weights", "path")),
    )


@register_method(method_info("cse", "sesf", "SESF-Fuse"))
def fuse(
    images: Sequence[np.ndarray],
    *,
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """SESF-Fuse with the released cSE model, or a retrained one (``weights``; see :func:`sesf_fuse`)."""
    return sesf_fuse(
        images,
        attention="cse",
        device=device,
        official_rounding=official_rounding,
        weights=weights,
        tile=tile,
    )
