"""MSR-SF - multi-scale residual encoder + spatial-frequency decision (re-implementation from the paper).

Tian, Chen, Xu, Wang, "Multi-focus image fusion network model combining multi-scale residual
characteristics and spatial frequency" (seed ``shared/seeds/000_e1ceeace1107a152.txt``). No code was
released; our own code from ``shared/docs/methods.md`` section 5 (network in :mod:`methods._msrsf_net`).
Inference is SESF-Fuse's pipeline (methods.md 2.3) with our encoder: the SF, consistency check and
guided-filter blend come from the shared pipeline :mod:`methods._sesf_pipeline` and
:mod:`methods._sesf_net`, not copied.
Weights are ours (``methods/weights/msrsf.pt``, ``python -m bench train msrsf``; see ``msrsf.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.training import TrainSpec, random_crop, register_trainer
from bench.types import FusionResult, MethodInfo
from methods._reimpl import check_sources, get_model
from methods._sesf_pipeline import method_version

#: torch runs a float32 CPU conv with a 3x3 or 1x1 kernel on oneDNN for batch 1 only when the input
#: has more than this many elements (ATen ``use_mkldnn``; batch 2 always), hence the per-image path above it
MKLDNN_MIN_NUMEL = 20480

CONFIG = {"channels": 16, "blocks": 4, "crop": 48, "ssim_weight": 3.0}

NOTES = (
    "re-implementation from the paper (no public code); weights trained by us. Choices where the paper "
    "is silent: head Conv3x3 1->16 without activation, 4 MSRBs (C=16), deep feature = concat of the 4 "
    "block outputs (64 ch), decoder Conv-ReLU-BN blocks 64-64-32-16 + Conv3x3 (training only), no input "
    "normalisation, L2 term = per-image RMSE averaged over the batch, SSIM with an 11x11 Gaussian window. "
    "Trained as an autoencoder on 48x48 gray crops of train_ecssd (paper: MS-COCO 256x256), Adam 1e-3, "
    "batch 8. Inference = SESF-Fuse's official pipeline (skimage gray, SF r=5 without sqrt, strict "
    "decision, disk(5) open/close + small-region removal, guided filter r=4 eps=0.1 on the 0..255 "
    "initial fusion, no clamp, truncation to 8-bit levels). N > 2: serial."
)


def _build(cfg: dict):
    from methods._msrsf_net import MSRSFNet

    return MSRSFNet(cfg["channels"], cfg["blocks"])


def _sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: dict) -> dict:
    im, _ = random_crop(image, mask, cfg["crop"], rng)
    return {"x": im[None, None]}


def _loss(model, batch: dict, cfg: dict):
    import torch

    from methods._losses import ssim

    x = batch["x"]
    out = model(x)
    s = ssim(out, x)
    rmse = torch.sqrt(((out - x) ** 2).flatten(1).mean(1) + 1e-12).mean()
    return cfg["ssim_weight"] * (1.0 - s) + rmse, {"ssim": float(s.detach()), "rmse": float(rmse.detach())}


TRAIN_SPEC = register_trainer(
    TrainSpec(
        method_id="msrsf",
        build_model=_build,
        make_sample=_sample,
        loss=_loss,
        config=CONFIG,
        epochs=3,
        batch_size=8,
        lr=1e-3,
        notes="L = 3 (1 - SSIM) + RMSE; Adam lr 1e-3 (paper 1e-4, batch 16, 30 epochs on MS-COCO).",
    )
)


def _pair(a: np.ndarray, b: np.ndarray, model, device: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    from methods._sesf_net import spatial_frequency, window_sum_f64
    from methods._sesf_pipeline import SF_RADIUS, decide_and_blend, network_gray, sf_decision, to_levels

    la, lb = to_levels(a), to_levels(b)
    if torch.device(device).type == "cpu" and la.shape[0] * la.shape[1] > MKLDNN_MIN_NUMEL:
        # one image at a time through the inference-only encoder: bit-identical SF, less CPU and memory
        # (below the size limit torch would run some batch-1 convolutions on another backend)
        with torch.inference_mode():
            sf = [
                window_sum_f64(model.feature_energy(torch.from_numpy(network_gray(lv)[None, None]))[0, 0]
                               .double().numpy(), SF_RADIUS)
                for lv in (la, lb)
            ]  # fmt: skip
        return decide_and_blend(la, lb, sf_decision(sf[0], sf[1]))
    x = torch.from_numpy(np.stack([network_gray(la), network_gray(lb)])[:, None]).to(device)
    with torch.inference_mode():
        sf = spatial_frequency(model.encode(x), SF_RADIUS)
        d0 = sf_decision(sf[0, 0], sf[1, 0]).cpu().numpy()
    return decide_and_blend(la, lb, d0)


#: ``tile="auto"`` runs the encoder on tiles above this many pixels (untiled: ~1.9 GB per megapixel)
AUTO_TILE_PIXELS = 2_000_000


def sf_tiled(gray: np.ndarray, model, device: str, size: int) -> np.ndarray:
    """The encoder's SF map (HxW float64) of one gray image on overlapping tiles of core ``size``.

    Each tile carries the exact receptive field of what it computes: the encoder's
    (:func:`methods._msrsf_net.encoder_halo`), the gradient's (1) and the SF window's (``SF_RADIUS``);
    the core of a tile is then the whole-image value up to float rounding.
    """
    import torch

    from methods._msrsf_net import encoder_halo
    from methods._sesf_net import spatial_frequency
    from methods._sesf_pipeline import SF_RADIUS
    from methods._tiling import plan, progress

    h, w = gray.shape
    x = torch.from_numpy(gray[None, None]).to(device)
    out = np.empty((h, w), np.float64)
    halo = encoder_halo(model) + 1 + SF_RADIUS
    with torch.inference_mode():
        for t in progress(plan(h, w, size, halo), "msrsf network"):
            sf = spatial_frequency(model.encode(x[..., t.outer[0], t.outer[1]]), SF_RADIUS)
            out[t.core] = sf[0, 0, t.inner[0], t.inner[1]].cpu().numpy()
            del sf
    return out


def _pair_tiled(a: np.ndarray, b: np.ndarray, model, device: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pair` with the encoder + SF on tiles of core ``size``; above ``sesf.STRIP_PIXELS`` the
    guided-filter blend runs by strips of ``size`` rows (the consistency check sees the whole map)."""
    from methods._sesf_pipeline import decide_and_blend, network_gray, sf_decision, to_levels
    from methods.sesf import STRIP_PIXELS

    la, lb = to_levels(a), to_levels(b)
    d0 = sf_decision(
        sf_tiled(network_gray(la), model, device, size), sf_tiled(network_gray(lb), model, device, size)
    )
    h, w = d0.shape
    return decide_and_blend(la, lb, d0, strip_rows=size if h * w > STRIP_PIXELS else 0)


def msrsf(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse N >= 2 images with MSR-SF (serially for N > 2).

    Parameters
    ----------
    images : sequence of ndarray
        float32 images in [0, 1], all HxW or all HxWx3 (at least 10 pixels a side).
    device : str
        Torch device.
    weights : str, optional
        Path of other weights (default: the committed ``methods/weights/msrsf.pt``).
    tile : "auto", 0 or int
        Run the encoder and the SF on exact overlapping tiles of this core size (0 = whole image;
        ``auto``: 1024-pixel tiles above 2 MP); above 8 MP the guided-filter blend also runs by strips.
        Equal to the untiled result up to float rounding (SF near-ties).

    Returns
    -------
    fused, decision : ndarray
        Fused float32 image in [0, 1] and the last pair's binary decision map (True = first input).
    """
    imgs = check_sources(images, "msrsf")
    if min(imgs[0].shape[:2]) < 10:
        raise ValueError(f"msrsf: expected images of at least 10 pixels a side, got {imgs[0].shape[:2]}")
    from methods._tiling import resolve_tile

    size = resolve_tile(tile, *imgs[0].shape[:2], AUTO_TILE_PIXELS)
    model = get_model("msrsf", weights, device)
    fused, d = imgs[0], None
    for nxt in imgs[1:]:
        fused, d = _pair_tiled(fused, nxt, model, device, size) if size else _pair(fused, nxt, model, device)
    return fused, d


@register_method(
    MethodInfo(
        id="msrsf",
        name="MSR-SF (re-impl.)",
        family="learned",
        paper="Tian, Chen, Xu, Wang, Multi-focus image fusion network model combining multi-scale residual "
        "characteristics and spatial frequency",
        source="paper (re-implementation; no public code); inference pipeline from Keep-Passion/SESF-Fuse",
        license="MIT (our code and weights)",
        n_image_rule="serial: fuse(fuse(1, 2), 3) ...",
        device_aware=True,
        version=method_version("2"),  # 2: decision map = index of the chosen source (0 = A)
        notes=NOTES + " Big images: encoder + SF on exact overlapping tiles (tile='auto': 1024-pixel "
        "tiles above 2 MP, 0 = off; halo = receptive field 17 + gradient 1 + SF window 5), guided-filter "
        "blend by strips above 8 MP.",
        params=(("tile", "auto"),),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    img, d = msrsf(images, device=device, weights=weights, tile=tile)
    # decision-map convention (FusionResult): index of the chosen source, d is True where A is taken
    return FusionResult(img, decision_map=(1.0 - d.astype(np.float32)) if len(images) == 2 else None)
