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


#: ``tile="auto"`` runs the network on tiles above this many pixels (untiled: ~0.7 GB per megapixel)
AUTO_TILE_PIXELS = 2_000_000
#: with tiling on, the guided filter and the blend run by strips above this many pixels
STRIP_PIXELS = 8_000_000


def tile_geometry(model) -> tuple[int, int, int]:
    """(stride, lead, tail) of the score grid: what a tile of output cells needs around it, in cells.

    One stride-``s`` cell of the streams depends on its ``s`` x ``s`` input block and on the reach of
    the 3x3 convolutions beyond it (``sum r * 2**level`` pixels: 1 + 2 + 4 = 7), i.e. ``lead`` =
    ceil(reach / s) cells each side; a score needs ``k = patch / s`` cells (the FC-as-convolution
    kernel) and a pixel's probability averages ``k`` scores: ``tail = lead + 2 (k - 1)`` cells after.
    """
    from torch import nn

    reach, scale = 0, 1
    for layer in model.stream:
        if isinstance(layer, nn.Conv2d):
            if list(layer.stride) != [1, 1]:
                raise ValueError(f"Expected stride-1 stream convolutions, got {layer}")
            reach += scale * max(
                d * (k - 1) // 2 for k, d in zip(layer.kernel_size, layer.dilation, strict=True)
            )
        elif isinstance(layer, nn.MaxPool2d):
            scale *= layer.stride
    s = model.stride
    if scale != s:
        raise ValueError(f"Expected the streams to downsample by {s}, got {scale}")
    lead = -(-reach // s)
    k = model.patch // s
    return s, lead, lead + 2 * (k - 1)


def focus_probability_tiled(model, a: np.ndarray, b: np.ndarray, device: str, size: int) -> np.ndarray:
    """:func:`focus_probability` on overlapping tiles of core ``size`` (rounded up to the stride).

    Tiles are cut from the symmetric-padded image on the stride grid, with the cells that
    :func:`tile_geometry` gives around each core (the padded image's own borders stay borders), so a
    tile's core equals the whole-image map up to float rounding.
    """
    import torch
    import torch.nn.functional as F

    from methods._tiling import plan, progress

    s, lead, tail = tile_geometry(model)
    pad = model.patch - s
    k = model.patch // s
    h, w = a.shape
    extra_h, extra_w = (-(h + 2 * pad)) % s, (-(w + 2 * pad)) % s
    width = ((pad, pad + extra_h), (pad, pad + extra_w))
    pa, pb = np.pad(a, width, mode="symmetric"), np.pad(b, width, mode="symmetric")
    hp, wp = pa.shape
    size = -(-size // s) * s
    out = np.empty((h, w), np.float32)

    def window(sl: slice, n: int) -> tuple[int, int, int]:
        c0, c1 = sl.start // s, -(-sl.stop // s)  # output cells of the core
        i0, i1 = max(0, (c0 - lead) * s), min(n, (c1 + tail) * s)  # padded-input pixels
        return i0, i1, c0 - i0 // s

    with torch.inference_mode():
        for t in progress(plan(h, w, size, 0), "sff network"):
            y0, y1, oy = window(t.core[0], hp)
            x0, x1, ox = window(t.core[1], wp)
            ta = torch.from_numpy(np.ascontiguousarray(pa[y0:y1, x0:x1])[None, None]).to(device)
            tb = torch.from_numpy(np.ascontiguousarray(pb[y0:y1, x0:x1])[None, None]).to(device)
            p = F.avg_pool2d(torch.sigmoid(model(ta, tb)), k, stride=1)
            ch, cw = t.core[0].stop - t.core[0].start, t.core[1].stop - t.core[1].start
            p = p[0, 0, oy : oy + -(-ch // s), ox : ox + -(-cw // s)]
            p = p.repeat_interleave(s, 0).repeat_interleave(s, 1)[:ch, :cw]
            out[t.core] = p.float().cpu().numpy()
            del ta, tb, p
    return out


def _blend(fused: np.ndarray, nxt: np.ndarray, ga: np.ndarray, gb: np.ndarray, prob: np.ndarray):
    """Binary map, guided filter (gray initial fusion as guide, r=4, eps=0.1), clip, blend."""
    from baselines._guided_filter import guided_filter

    d = (prob > 0.5).astype(np.float64)
    guide = ga * d + gb * (1.0 - d)
    q = np.clip(guided_filter(guide, d, 4, 0.1), 0.0, 1.0)
    qq = q[:, :, None] if fused.ndim == 3 else q
    return (qq * fused + (1.0 - qq) * nxt).astype(np.float32), q.astype(np.float32)


def _blend_strips(fused, nxt, ga, gb, prob, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_blend` by strips of ``rows`` rows, each with the guided filter's reach (2 r = 8 rows) on
    its inner sides; equal to the whole-image blend up to the float rounding of the box sums."""
    h = prob.shape[0]
    img, q = np.empty(fused.shape, np.float32), np.empty(prob.shape, np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        o0, o1 = max(0, r0 - 8), min(h, r1 + 8)
        f, qs = _blend(fused[o0:o1], nxt[o0:o1], ga[o0:o1], gb[o0:o1], prob[o0:o1])
        img[r0:r1], q[r0:r1] = f[r0 - o0 : r1 - o0], qs[r0 - o0 : r1 - o0]
    return img, q


def sff_tiled(a: np.ndarray, b: np.ndarray, model, device: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sff` for two checked sources with the network on tiles of core ``size``; above
    :data:`STRIP_PIXELS` the guided filter and the blend run by strips of ``size`` rows."""
    ga, gb = gray(a), gray(b)
    prob = focus_probability_tiled(model, ga, gb, device, size)
    h, w = prob.shape
    if h * w > STRIP_PIXELS:
        return _blend_strips(a, b, ga, gb, prob, size)
    return _blend(a, b, ga, gb, prob)


def sff(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
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
    tile : "auto", 0 or int
        Run the network on exact overlapping tiles of this core size (0 = whole image; ``auto``:
        1024-pixel tiles above 2 MP); above 8 MP the guided filter and the blend also run by strips.
        Equal to the untiled result up to float rounding.

    Returns
    -------
    fused, decision : ndarray
        Fused float32 image in [0, 1] and the weight map of the first input (HxW).
    """
    from baselines._guided_filter import guided_filter

    imgs = check_sources(images, "sff")
    if len(imgs) != 2:
        raise ValueError(f"sff: expected 2 sources (the registry fuses N > 2 serially), got {len(imgs)}")
    from methods._tiling import resolve_tile

    size = resolve_tile(tile, *imgs[0].shape[:2], AUTO_TILE_PIXELS)
    model = get_model("sff", weights, device)
    fused, nxt = imgs
    if size:
        return sff_tiled(fused, nxt, model, device, size)
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
        notes=NOTES
        + " Big images: network on exact overlapping tiles cut on the stride-8 grid (tile='auto': "
        "1024-pixel tiles above 2 MP, 0 = off), guided filter and blend by strips above 8 MP.",
        params=(("tile", "auto"),),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    device: str = "cpu",
    weights: str | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    img, q = sff(images, device=device, weights=weights, tile=tile)
    # decision-map convention (FusionResult): 1 - weight of A
    return FusionResult(img, decision_map=(1.0 - q).astype(np.float32))
