"""FMM - unsupervised fusion by feature mutual mapping (re-implementation from the paper).

Rao, Wu, Xu, Chen, "Unsupervised Image Fusion Method based on Feature Mutual Mapping",
arXiv:2201.10152 (seed ``shared/seeds/004_c3d5f9f507403807.txt``). No code was released; this is our
own code from ``shared/docs/methods.md`` section 4 (network in :mod:`methods._fmm_net`). Weights are
ours (``methods/weights/fmm.pt``, trained by ``python -m bench train fmm``; see ``fmm.md``); the
paper's numbers are not claimed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.training import TrainSpec, random_crop, register_trainer
from bench.types import FusionResult, MethodInfo
from methods._defocus import DefocusConfig, synthesize_pair
from methods._reimpl import check_sources, fuse_chroma, get_model, rgb_to_ycbcr, ycbcr_to_rgb

CONFIG = {"channels": [16, 32, 64], "crop": 96}
_DEFOCUS = DefocusConfig(padding="reflect")

NOTES = (
    "re-implementation from the paper (no public code); weights trained by us. Choices where the paper "
    "is silent: channels 16/32/64, stride-2 conv downsampling, one shared 1x1 weight conv, deep weight "
    "logits upsampled into the 1/2 and 1/1 weight convs, decoder output added to the mean of the inputs, "
    "Gaussian (sigma 1.5) 11x11 windows in the VarSSIM loss. Trained on multi-focus pairs synthesised "
    "from train_ecssd (methods.md 3.2), not on KAIST IR/VIS as in the paper; 96x96 crops, batch 8, "
    "Adam 1e-3, 3 epochs. "
    "Colour: Y fused by the net, Cb/Cr by the |C-0.5| weighted rule. Affinity via "
    "scaled_dot_product_attention (never materialised). N > 2: serial."
)


def _build(cfg: dict):
    from methods._fmm_net import FMMNet

    return FMMNet(tuple(cfg["channels"]))


def _sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: dict) -> dict:
    im, mk = random_crop(image, mask, cfg["crop"], rng)
    a, b, _ = synthesize_pair(im, mk, rng, _DEFOCUS)
    return {"a": a[None, None], "b": b[None, None]}


def _loss(model, batch: dict, cfg: dict):
    from methods._losses import var_ssim_loss

    fused = model(batch["a"], batch["b"])
    return var_ssim_loss(batch["a"], batch["b"], fused), {}


TRAIN_SPEC = register_trainer(
    TrainSpec(
        method_id="fmm",
        build_model=_build,
        make_sample=_sample,
        loss=_loss,
        config=CONFIG,
        epochs=3,
        batch_size=8,
        lr=1e-3,
        notes="Adam lr 1e-3 constant (paper 1e-4, 4 epochs on 40k KAIST pairs); synthetic multi-focus pairs.",
    )
)


def _net_gray(model, a: np.ndarray, b: np.ndarray, device: str) -> np.ndarray:
    import torch

    h, w = a.shape
    ph, pw = (-h) % 4, (-w) % 4
    pad = ((0, ph), (0, pw))
    ta = torch.from_numpy(np.pad(a, pad, mode="symmetric")[None, None].copy()).to(device)
    tb = torch.from_numpy(np.pad(b, pad, mode="symmetric")[None, None].copy()).to(device)
    with torch.inference_mode():
        out = model(ta, tb)[0, 0, :h, :w]
    return np.clip(out.float().cpu().numpy(), 0.0, 1.0)


def fmm(images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None) -> np.ndarray:
    """Fuse two images with the FMM network (N > 2: the registry fuses serially, ``extend="serial"``).

    Parameters
    ----------
    images : sequence of ndarray
        float32 images in [0, 1], all HxW or all HxWx3.
    device : str
        Torch device (``"cpu"``, ``"cuda"``).
    weights : str, optional
        Path of other weights (default: the committed ``methods/weights/fmm.pt``).

    Returns
    -------
    ndarray
        Fused float32 image in [0, 1], shaped like the sources.

    Raises
    ------
    ValueError
        Not two sources, or different shapes.
    """
    imgs = check_sources(images, "fmm")
    if len(imgs) != 2:
        raise ValueError(f"fmm: expected 2 sources (the registry fuses N > 2 serially), got {len(imgs)}")
    model = get_model("fmm", weights, device)
    fused, nxt = imgs
    if fused.ndim == 2:
        fused = _net_gray(model, fused, nxt, device)
    else:
        ya, cba, cra = rgb_to_ycbcr(fused)
        yb, cbb, crb = rgb_to_ycbcr(nxt)
        y = _net_gray(model, ya.astype(np.float32), yb.astype(np.float32), device)
        fused = ycbcr_to_rgb(y, fuse_chroma(cba, cbb), fuse_chroma(cra, crb))
    return fused.astype(np.float32)


@register_method(
    MethodInfo(
        id="fmm",
        name="FMM (re-impl.)",
        family="learned",
        paper="Rao, Wu, Xu, Chen, Unsupervised image fusion method based on feature mutual mapping, "
        "arXiv:2201.10152 (2022)",
        source="paper (re-implementation; no public code)",
        license="MIT (our code and weights)",
        n_image_rule="serial: fuse(fuse(1, 2), 3) ...",
        extend="serial",
        device_aware=True,
        version="1",
        notes=NOTES,
    )
)
def fuse(images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None) -> FusionResult:
    return FusionResult(fmm(images, device=device, weights=weights))
