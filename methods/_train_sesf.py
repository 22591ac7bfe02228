"""Training specs for SESF-Fuse and its sSE / scSE ablations (``python -m bench train sesf``).

Recipe of the official code, Keep-Passion/SESF-Fuse @ 23e60b8c ``train_nets.py`` /
``nets/lp_lssim_loss.py`` / ``nets/coco_dataset.py`` (LGPL-2.1), as summarised in
``shared/docs/methods.md`` section 2.2 and written in our own code: gray (OpenCV weights) / 255,
resized to 256x256 (bilinear), normalised with the official mean/std, autoencoder target = input,
``L = ||O - I||_2 (whole batch) + 1000 (1 - SSIM)`` with a 5x5 Gaussian window (sigma 1.5),
zero-padded 'same' windows, C1 = 0.01^2, C2 = 0.03^2; Adam 1e-4 with ``lr * 0.8^floor(epoch / 2)``;
30 epochs. Deviations: data = train_ecssd instead of MS-COCO 2014, batch 8 instead of 48 (CPU).
The network is D1's port (:mod:`methods._sesf_net`); the weights it produces are ours, not the
authors'.
"""

from __future__ import annotations

import numpy as np

from bench.training import TrainSpec, register_trainer


def _build(cfg: dict):
    from methods._sesf_net import SESFNet

    return SESFNet(cfg["attention"])


def _sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: dict) -> dict:
    import cv2

    from methods._sesf_net import MEAN, STD

    size = cfg["size"]
    x = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return {"x": x[None, None]}


def _loss(model, batch: dict, cfg: dict):
    import torch

    from methods._losses import ssim

    x = batch["x"]
    out = model(x)
    s = ssim(out, x, window=5, sigma=1.5, same=True)
    l2 = torch.sqrt(((out - x) ** 2).sum())
    return l2 + cfg["ssim_weight"] * (1.0 - s), {"ssim": float(s.detach()), "l2": float(l2.detach())}


def _decay(epoch: int) -> float:
    return 0.8 ** (epoch // 2)


for _id, _att in (("sesf", "cse"), ("sesf_sse", "sse"), ("sesf_scse", "scse")):
    register_trainer(
        TrainSpec(
            method_id=_id,
            build_model=_build,
            make_sample=_sample,
            loss=_loss,
            config={"attention": _att, "size": 256, "ssim_weight": 1000.0},
            epochs=30,
            batch_size=8,
            lr=1e-4,
            lr_schedule=_decay,
            notes="official SESF-Fuse recipe (methods.md 2.2) on train_ecssd; batch 8 instead of 48.",
        )
    )
