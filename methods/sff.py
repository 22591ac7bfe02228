"""SFF - dual-stream "semantic focus fusion" patch CNN (re-implementation from the paper).

Ismail, Ghazali, "Deep Learning-Based Semantic Focus Fusion for High-Quality Multifocus Image", 2025
(seed ``shared/seeds/001_19854139e7a5189b.txt``). No code was released; our own code from
``shared/docs/methods.md`` section 6 (network in :mod:`methods._sff_net`). Weights are ours
(``methods/weights/sff.pt``, ``python -m bench train sff``; see ``sff.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.training import TrainSpec, register_trainer
from bench.types import FusionResult, MethodInfo
from methods._defocus import blurred_patch_pair
from methods._reimpl import check_sources, get_model, gray

CONFIG = {"widths": [64, 128, 256], "hidden": 128, "patch": 32, "patches_per_image": 4, "min_std": 0.03}
MARGIN = 8

NOTES = (
    "re-implementation from the paper (no public code); weights trained by us. Choices where the paper "
    "is silent: shared stream weights, 32x32 gray patches (BT.601 luma), FC hidden 128, FC layers as "
    "convolutions for a dense stride-8 score map, per-pixel map = mean of the 16 overlapping window "
    "probabilities (symmetric padding 24 px), binary at 0.5 (ties to B), consistency verification = "
    "guided filter (guide: gray initial fusion in [0,1], r=4, eps=0.1), clipped to [0,1]. Training: "
    "synthetic patch pairs from train_ecssd (one Gaussian-blurred, sigma U[0.5,3]; patches with std "
    "< 0.03 re-drawn), BCE, Adam 1e-3, fixed epochs (no early stopping); weights stored as float16. "
    "N > 2: serial."
)


def _build(cfg: dict):
    from methods._sff_net import SFFNet

    return SFFNet(tuple(cfg["widths"]), cfg["hidden"], cfg["patch"])


def _sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: dict) -> dict:
    size = cfg["patch"] + 2 * MARGIN
    img = image.astype(np.float32) / np.float32(255.0)
    h, w = img.shape
    a, b, y = [], [], []
    for _ in range(cfg["patches_per_image"]):
        for _try in range(10):
            r, c = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            patch = img[r : r + size, c : c + size]
            if patch[MARGIN:-MARGIN, MARGIN:-MARGIN].std() >= cfg["min_std"]:
                break
        pa, pb, lab = blurred_patch_pair(patch, rng, margin=MARGIN)
        a.append(pa)
        b.append(pb)
        y.append(lab)
    return {"a": np.stack(a)[:, None], "b": np.stack(b)[:, None], "label": np.asarray(y, np.float32)}


def _loss(model, batch: dict, cfg: dict):
    import torch.nn.functional as F

    logits = model(batch["a"], batch["b"]).flatten()
    loss = F.binary_cross_entropy_with_logits(logits, batch["label"])
    acc = ((logits > 0).float() == batch["label"]).float().mean()
    return loss, {"accuracy": float(acc.detach())}


TRAIN_SPEC = register_trainer(
    TrainSpec(
        method_id="sff",
        build_model=_build,
        make_sample=_sample,
        loss=_loss,
        config=CONFIG,
        epochs=8,
        batch_size=8,
        lr=1e-3,
        export_dtype="float16",
        notes="BCE, Adam lr 1e-3 (paper 1e-4, batch 32 pairs, up to 100 epochs with early stopping).",
    )
)


def focus_probability(model, a: np.ndarray, b: np.ndarray, device: str) -> np.ndarray:
    """Per-pixel probability that ``a`` is in focus: mean of the 16 overlapping 32x32 window scores."""
    import torch
    import torch.nn.functional as F

    s = model.stride
    pad = model.patch - s  # 24: every pixel is covered by (patch/stride)^2 windows
    h, w = a.shape
    extra_h, extra_w = (-(h + 2 * pad)) % s, (-(w + 2 * pad)) % s
    width = ((pad, pad + extra_h), (pad, pad + extra_w))
    ta = torch.from_numpy(np.pad(a, width, mode="symmetric")[None, None].copy()).to(device)
    tb = torch.from_numpy(np.pad(b, width, mode="symmetric")[None, None].copy()).to(device)
    k = model.patch // s
    with torch.inference_mode():
        p = torch.sigmoid(model.forward_fast(ta, tb))
        p = F.avg_pool2d(p, k, stride=1)
        p = p.repeat_interleave(s, 2).repeat_interleave(s, 3)[0, 0, :h, :w]
    return p.float().cpu().numpy()


def sff(
    images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two images with the SFF patch classifier (N > 2: serially by the registry, ``extend``).

    Parameters
    ----------
    images : sequence of ndarray
        float32 images in [0, 1], all HxW or all HxWx3.
    device : str
        Torch device.
    weights : str, optional
        Path of other weights (default: the committed ``methods/weights/sff.pt``).

    Returns
    -------
    fused, decision : ndarray
        Fused float32 image in [0, 1] and the weight map of the first input (HxW).
    """
    from baselines._guided_filter import guided_filter

    imgs = check_sources(images, "sff")
    if len(imgs) != 2:
        raise ValueError(f"sff: expected 2 sources (the registry fuses N > 2 serially), got {len(imgs)}")
    model = get_model("sff", weights, device)
    fused, nxt = imgs
    ga, gb = gray(fused), gray(nxt)
    d = (focus_probability(model, ga, gb, device) > 0.5).astype(np.float64)
    guide = ga * d + gb * (1.0 - d)
    q = np.clip(guided_filter(guide, d, 4, 0.1), 0.0, 1.0)
    qq = q[:, :, None] if fused.ndim == 3 else q
    fused = (qq * fused + (1.0 - qq) * nxt).astype(np.float32)
    return fused, q.astype(np.float32)


@register_method(
    MethodInfo(
        id="sff",
        name="SFF (re-impl.)",
        family="learned",
        paper="Ismail, K. H. Ghazali, Deep learning-based semantic focus fusion for high-quality "
        "multifocus image (2025)",
        source="paper (re-implementation; no public code)",
        license="MIT (our code and weights)",
        n_image_rule="serial: fuse(fuse(1, 2), 3) ...",
        extend="serial",
        device_aware=True,
        version="2",  # 2: decision map = index of the chosen source (0 = A)
        notes=NOTES,
    )
)
def fuse(images: Sequence[np.ndarray], device: str = "cpu", weights: str | None = None) -> FusionResult:
    img, q = sff(images, device=device, weights=weights)
    # decision-map convention (FusionResult): 1 - weight of A
    return FusionResult(img, decision_map=(1.0 - q).astype(np.float32))
