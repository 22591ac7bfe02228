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


def msrsf(
    images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None
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

    Returns
    -------
    fused, decision : ndarray
        Fused float32 image in [0, 1] and the last pair's binary decision map (True = first input).
    """
    imgs = check_sources(images, "msrsf")
    if min(imgs[0].shape[:2]) < 10:
        raise ValueError(f"msrsf: expected images of at least 10 pixels a side, got {imgs[0].shape[:2]}")
    model = get_model("msrsf", weights, device)
    fused, d = imgs[0], None
    for nxt in imgs[1:]:
        fused, d = _pair(fused, nxt, model, device)
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
        notes=NOTES,
    )
)
def fuse(images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None) -> FusionResult:
    img, d = msrsf(images, device=device, weights=weights)
    # decision-map convention (FusionResult): index of the chosen source, d is True where A is taken
    return FusionResult(img, decision_map=(1.0 - d.astype(np.float32)) if len(images) == 2 else None)
