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


#: ``tile="auto"`` tiles the full-resolution layers above this many pixels (untiled: ~1 GB per MP)
AUTO_TILE_PIXELS = 2_000_000
#: context of a tile (full-resolution pixels, a multiple of 4): the 1/4-scale encoder output reaches
#: 18 px (head 1 + res 2 + stride-2 conv 1 + res 4 + stride-2 conv 2 + res 8); the decoder path from
#: the 1/2- and 1/1-scale features adds 2 + 1 (bilinear) + 2 (up2) + 1 + 1 (up1) + 1 (out) = 8 to the
#: 8 px of the 1/2-scale encoder: 32 covers both.
TILE_HALO = 32


def _net_gray_tiled(model, a: np.ndarray, b: np.ndarray, device: str, size: int) -> np.ndarray:
    """:func:`_net_gray` with bounded memory: the exact network, the global part whole, the rest tiled.

    The mutual mapping is a global attention at 1/4 scale and cannot be tiled; it runs on the whole
    1/4-scale feature maps (64 ch, 1/16 of the pixels), which the encoders produce on overlapping
    tiles. The full- and half-resolution layers (encoders, weight maps, decoder) then run on
    overlapping tiles of core ``size`` (rounded up to a multiple of 4) with :data:`TILE_HALO`, given
    the 1/4-scale fused features and weight logits cut from the whole maps. Equal to the whole-image
    output up to float rounding. Time stays quadratic in the pixel count (the attention).
    """
    import torch
    import torch.nn.functional as F

    from methods._fmm_net import mutual_map
    from methods._tiling import plan, progress

    h, w = a.shape
    pad = ((0, (-h) % 4), (0, (-w) % 4))
    pa, pb = np.pad(a, pad, mode="symmetric"), np.pad(b, pad, mode="symmetric")
    hp, wp = pa.shape
    size = -(-size // 4) * 4
    tiles = plan(hp, wp, size, TILE_HALO)

    def crop(img: np.ndarray, t) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(img[t.outer])[None, None]).to(device)

    def quarter(sl: tuple[slice, slice]) -> tuple[slice, slice]:
        return tuple(slice(s.start // 4, s.stop // 4) for s in sl)

    with torch.inference_mode():
        c3 = model.weight3.in_channels // 2
        x3 = torch.empty((1, c3, hp // 4, wp // 4), device=device)
        y3 = torch.empty_like(x3)
        for t in progress(tiles, "fmm encoders 1/4"):
            iq = quarter(t.inner)
            x3[(..., *quarter(t.core))] = model.enc_x(crop(pa, t))[2][(..., *iq)]
            y3[(..., *quarter(t.core))] = model.enc_y(crop(pb, t))[2][(..., *iq)]
        gx, gy = mutual_map(x3, y3)
        logit3 = torch.cat([model.weight3(torch.cat([x3, gx], 1)), model.weight3(torch.cat([y3, gy], 1))], 1)
        del gx, gy
        m3 = torch.softmax(logit3, 1)
        f3 = m3[:, :1] * x3 + m3[:, 1:] * y3
        del x3, y3, m3
        out = np.empty((hp, wp), np.float32)
        for t in progress(tiles, "fmm network"):
            ta, tb = crop(pa, t), crop(pb, t)
            ex, ey = model.enc_x, model.enc_y
            x1 = ex.r1(F.relu(ex.head(ta)))
            y1 = ey.r1(F.relu(ey.head(tb)))
            x2, y2 = ex.r2(F.relu(ex.d1(x1))), ey.r2(F.relu(ey.d1(y1)))
            oq = quarter(t.outer)
            lg3, t3 = logit3[(..., *oq)], f3[(..., *oq)]
            up = F.interpolate(lg3, size=x2.shape[-2:], mode="bilinear", align_corners=False)
            logit2 = model.weight2(torch.cat([up, x2, y2], 1))
            m2 = torch.softmax(logit2, 1)
            up = F.interpolate(logit2, size=x1.shape[-2:], mode="bilinear", align_corners=False)
            m1 = torch.softmax(model.weight1(torch.cat([up, x1, y1], 1)), 1)
            f1, f2 = m1[:, :1] * x1 + m1[:, 1:] * y1, m2[:, :1] * x2 + m2[:, 1:] * y2
            d = F.interpolate(t3, size=f2.shape[-2:], mode="bilinear", align_corners=False)
            d = F.relu(model.up2(torch.cat([d, f2], 1)))
            d = F.interpolate(d, size=f1.shape[-2:], mode="bilinear", align_corners=False)
            d = F.relu(model.up1(torch.cat([d, f1], 1)))
            res = 0.5 * (ta + tb) + model.out(d)
            out[t.core] = res[(0, 0, *t.inner)].float().cpu().numpy()
            del x1, y1, x2, y2, d, res
    return np.clip(out[:h, :w], 0.0, 1.0)


def fmm(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
) -> np.ndarray:
    """Fuse two images with the FMM network (N > 2: the registry fuses serially, ``extend="serial"``).

    Parameters
    ----------
    images : sequence of ndarray
        float32 images in [0, 1], all HxW or all HxWx3.
    device : str
        Torch device (``"cpu"``, ``"cuda"``).
    weights : str, optional
        Path of other weights (default: the committed ``methods/weights/fmm.pt``).
    tile : "auto", 0 or int
        Bounded memory on big images (0 = off; ``auto``: 1024-pixel tiles above 2 MP): the global
        1/4-scale mutual mapping runs on the whole image, every other layer on exact overlapping
        tiles of this core size. Equal to the untiled result up to float rounding; the time stays
        quadratic in the pixel count.

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
    from methods._tiling import resolve_tile

    size = resolve_tile(tile, *imgs[0].shape[:2], AUTO_TILE_PIXELS)
    model = get_model("fmm", weights, device)

    def net(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _net_gray_tiled(model, a, b, device, size) if size else _net_gray(model, a, b, device)

    fused, nxt = imgs
    if fused.ndim == 2:
        fused = net(fused, nxt)
    else:
        ya, cba, cra = rgb_to_ycbcr(fused)
        yb, cbb, crb = rgb_to_ycbcr(nxt)
        y = net(ya.astype(np.float32), yb.astype(np.float32))
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
        notes=NOTES + " Big images (tile='auto' above 2 MP, 0 = off): the global 1/4-scale mutual mapping on "
        "the whole image, every other layer on exact overlapping 1024-pixel tiles; time stays quadratic.",
        params=(("tile", "auto"),),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    return FusionResult(fmm(images, device=device, weights=weights, tile=tile))
