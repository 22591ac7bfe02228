"""Training spec for GACN (``python -m bench train gacn``), the official recipe in our own code.

Keep-Passion/GACN @ 4994c883 ``train_net.py``, ``nets/ga_loss.py``, ``nets/coco_dataset.py``,
``nets/guided_filter.py`` (LGPL-2.1), as summarised in ``shared/docs/methods.md`` section 3.2:

* data: gray (OpenCV weights) / 255 resized to 256x256, random 156x156 crop, horizontal and
  vertical flips (p = 0.5 each), rotation by a random multiple of 30 degrees (nearest, corners 0,
  no expansion), mask re-binarised at 0.5; multi-focus pair synthesis of :mod:`methods._defocus`
  (GACN's zero-padded blur, shift, shared noise, swap);
* forward: encoder on A and on B in separate calls (BN statistics updated twice), per-channel SF,
  ``S = sigmoid(1000 (SF_A - SF_B))``, decision path, ``D0 = sigmoid(1000 last)``, boundary guided
  filter (9x9 Gaussian sigma 8 zero-padded blur, piecewise boundary weight, guided filter r = 3,
  eps = 0.1 with clipped windows);
* loss = Dice(D0, mask) + (1 - Qg_soft(A, B, D A + (1 - D) B)); Qg_soft = the evaluator's Qg with the
  hard test ``g_A > g_F`` replaced by ``sigmoid(1e5 (g_F - g_A))``, constants 1e-6, +1e-6 on the
  fused x-gradient (as coded);
* Adam 1e-4, ``lr * 0.8^floor(epoch / 2)``, 50 epochs, batch 16.

Deviations: data = train_ecssd instead of COCO; blur radius, noise level and shift drawn per sample
instead of per batch. The network is D1's port (:mod:`methods._gacn_net`); weights produced are ours.
"""

from __future__ import annotations

import math

import numpy as np

from bench.training import TrainSpec, register_trainer
from methods._defocus import DefocusConfig, synthesize_pair

CONFIG = {"size": 256, "crop": 156, "qg_sharpness": 1e5}


def _build(cfg: dict):
    from methods._gacn_net import GACNNet

    return GACNNet()


def _sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: dict) -> dict:
    import cv2

    size, crop = cfg["size"], cfg["crop"]
    im = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / np.float32(
        255.0
    )
    mk = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    y, x = int(rng.integers(0, size - crop + 1)), int(rng.integers(0, size - crop + 1))
    im, mk = im[y : y + crop, x : x + crop], mk[y : y + crop, x : x + crop]
    if rng.random() < 0.5:
        im, mk = im[:, ::-1], mk[:, ::-1]
    if rng.random() < 0.5:
        im, mk = im[::-1], mk[::-1]
    angle = 30.0 * int(rng.integers(0, 12))
    rot = cv2.getRotationMatrix2D(((crop - 1) / 2, (crop - 1) / 2), angle, 1.0)
    im = cv2.warpAffine(np.ascontiguousarray(im), rot, (crop, crop), flags=cv2.INTER_NEAREST, borderValue=0)
    mk = cv2.warpAffine(np.ascontiguousarray(mk), rot, (crop, crop), flags=cv2.INTER_NEAREST, borderValue=0)
    a, b, target = synthesize_pair(im, (mk > 0.5).astype(np.float32), rng, DefocusConfig())
    return {"a": a[None, None], "b": b[None, None], "mask": target[None, None]}


def _box_mean(x, r: int):
    import torch.nn.functional as F

    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def boundary_guided_filter(d0, ga, gb):
    """Differentiable BGF (methods.md 3.1): guided filter of D0 confined to its boundary band."""
    import torch
    import torch.nn.functional as F

    x = torch.arange(-4, 5, dtype=d0.dtype, device=d0.device)
    g = torch.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 8.0**2))
    blur = F.conv2d(d0, (g / g.sum())[None, None], padding=4)
    w = torch.where(
        blur > 0.8, 1 - blur * (2 * blur - 1), torch.where(blur < 0.1, 3 * blur - 2 * blur**2, 1.0)
    )
    guide = ga * d0 + gb * (1 - d0)
    r, eps = 3, 0.1
    mi, mp = _box_mean(guide, r), _box_mean(d0, r)
    a = (_box_mean(guide * d0, r) - mi * mp) / (_box_mean(guide * guide, r) - mi * mi + eps)
    b = mp - a * mi
    q = _box_mean(a, r) * guide + _box_mean(b, r)
    return q * w + d0 * (1 - w)


def _sobel(x):
    import torch
    import torch.nn.functional as F

    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device)
    return F.conv2d(x, kx[None, None], padding=1), F.conv2d(x, kx.t()[None, None], padding=1)


def qg_soft(a, b, f, k: float = 1e5):
    """Xydeas-Petrovic Qg (per-pixel normalised mean) with a sigmoid in place of ``g_A > g_F``."""
    import torch

    def grad(x, extra: float = 0.0):
        gx, gy = _sobel(x)
        gx = gx + extra
        mag = torch.sqrt(gx * gx + gy * gy + 1e-12)
        ang = torch.atan(gy / torch.where(gx == 0, torch.full_like(gx, 1e-5), gx))
        return mag, ang

    gf, af = grad(f, 1e-6)

    def q(x):
        gs, as_ = grad(x)
        s = torch.sigmoid(k * (gf - gs))
        g = s * gs / (gf + 1e-6) + (1 - s) * gf / (gs + 1e-6)
        orient = torch.abs(torch.abs(as_ - af) - math.pi / 2) * 2 / math.pi
        qq = torch.sigmoid(-10 * (0.5 - g)) * torch.sigmoid(-20 * (0.75 - orient))
        return qq, gs

    qa, wa = q(a)
    qb, wb = q(b)
    return ((qa * wa + qb * wb) / (wa + wb + 1e-6)).mean()


def _sf(model, x):
    """Per-channel SF of the features, differentiable (the inference version writes ``out=``)."""
    import torch.nn.functional as F

    f = model.encode(x)
    left = F.pad(f, (1, 0, 0, 0))[..., :, :-1]  # F(x, y-1), 0 outside
    top = F.pad(f, (0, 0, 1, 0))[..., :-1, :]  # F(x-1, y), 0 outside
    g = (left - f) ** 2 + (top - f) ** 2
    return F.avg_pool2d(g, 11, stride=1, padding=5, count_include_pad=True) * 121.0


def _loss(model, batch: dict, cfg: dict):
    import torch

    a, b, m = batch["a"], batch["b"], batch["mask"]
    s = torch.sigmoid(1000.0 * (_sf(model, a) - _sf(model, b)))
    d0 = torch.sigmoid(1000.0 * model.decide(s))
    d = boundary_guided_filter(d0, a, b)
    dice = 1 - (2 * (d0 * m).sum() + 1) / ((d0 * d0).sum() + (m * m).sum() + 1)
    qg = qg_soft(a, b, d * a + (1 - d) * b, cfg["qg_sharpness"])
    return dice + 1 - qg, {"dice": float(dice.detach()), "qg": float(qg.detach())}


register_trainer(
    TrainSpec(
        method_id="gacn",
        build_model=_build,
        make_sample=_sample,
        loss=_loss,
        config=CONFIG,
        epochs=50,
        batch_size=16,
        lr=1e-4,
        lr_schedule=lambda epoch: 0.8 ** (epoch // 2),
        notes="official GACN recipe (methods.md 3.2) on train_ecssd; per-sample blur/noise/shift.",
    )
)
