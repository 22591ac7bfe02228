"""Tiled inference of the SESF/GACN dense encoder (and of what follows it) on big images.

The encoder (:mod:`methods._sesf_net`) is local except for its channel attention (cSE), whose weights
come from the **whole-image** mean of each block's output. Running it on tiles with each tile's own
means would change the network. So the global statistics are computed first, tile by tile, one block at
a time (block k's mean needs blocks 0..k-1 with their attention already fixed): four cheap-to-deep passes,
then the final pass runs the full encoder with the frozen attention weights on overlapping tiles and
hands each tile's features to a local head (SF, GACN's decision path) whose output core is kept.
Memory is bounded by the tile size, not by the image size. Results equal the whole-image ones up to
float rounding (means accumulated in float64 over tiles instead of torch's float32 reduction).

Private: imports torch at module level; import lazily.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from methods._sesf_net import CSE, SCSE, SSE
from methods._tiling import Tile, plan, progress

#: receptive-field radius of the 4-block encoder (four 3x3 convolutions; sSE here is 1x1)
ENCODER_HALO = 4


def _bn(block, y: torch.Tensor) -> torch.Tensor:
    """ReLU(conv(x)) -> eval BatchNorm as ``y * alpha + beta``, in place."""
    bn = block[2]
    alpha = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    beta = bn.bias - bn.running_mean * alpha
    return y.mul_(alpha.view(1, -1, 1, 1)).add_(beta.view(1, -1, 1, 1))


def _pre_attention(block, x: torch.Tensor) -> torch.Tensor:
    return _bn(block, F.conv2d(x, block[0].weight, block[0].bias, padding=1).relu_())


def _attend(att, y: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """Attention with the cSE weights ``scale`` (1xC) fixed from the whole image."""
    if isinstance(att, CSE):
        return y.mul_(scale.view(1, -1, 1, 1))
    if isinstance(att, SSE):
        return att(y)
    if isinstance(att, SCSE):
        return att.SSE(y) + y * scale.view(1, -1, 1, 1)
    raise TypeError(f"Unsupported attention module {type(att).__name__}")


def _scale_from_mean(att, mean: torch.Tensor) -> torch.Tensor | None:
    if isinstance(att, CSE):
        return att.fc(mean)
    if isinstance(att, SCSE):
        return att.CSE.fc(mean)
    return None


def _encode_upto(blocks, atts, scales, x: torch.Tensor, k: int) -> torch.Tensor:
    """Blocks 0..k-1 with attention (fixed ``scales``), then block k *before* its attention.

    Returns block k's pre-attention output when ``k < len(blocks)``, else the 64-ch features.
    """
    feats = []
    inp = x
    for j, (blk, att) in enumerate(zip(blocks, atts, strict=True)):
        y = _pre_attention(blk, inp)
        if j == k:
            return y
        feats.append(_attend(att, y, scales[j]))
        inp = torch.cat(feats, 1) if len(feats) > 1 else feats[0]
    return inp


def attention_scales(blocks, atts, x: torch.Tensor, size: int, desc: str = "") -> list:
    """Whole-image cSE weights of every block, computed on tiles (1xHxW input ``x`` on its device)."""
    h, w = x.shape[-2:]
    scales: list = []
    for k, att in enumerate(atts):
        if isinstance(att, SSE):
            scales.append(None)
            continue
        total = None
        for t in progress(plan(h, w, size, k + 1), f"{desc} attention {k + 1}/{len(atts)}"):
            y = _encode_upto(blocks, atts, scales, x[..., t.outer[0], t.outer[1]], k)
            s = y[..., t.inner[0], t.inner[1]].sum(dim=(2, 3), dtype=torch.float64)
            total = s if total is None else total + s
        scales.append(_scale_from_mean(att, (total / (h * w)).to(x.dtype)))
    return scales


def encode_tiles(
    blocks,
    atts,
    scales: list,
    xs: list[torch.Tensor],
    size: int,
    halo: int,
    head: Callable[[list[torch.Tensor]], torch.Tensor],
    out: np.ndarray,
    desc: str = "",
) -> np.ndarray:
    """Final pass: encoder features of every input on each overlapping tile -> ``head`` -> core.

    ``xs``: one 1x1xHxW input per image (same size); ``scales``: their per-image attention weights.
    ``head(features)`` maps the list of 1x64xhxw tile features to a 1x1xhxw map, local with radius
    ``halo - ENCODER_HALO``; its core is written into ``out`` (HxW).
    """
    h, w = xs[0].shape[-2:]
    t: Tile
    for t in progress(plan(h, w, size, halo), f"{desc} network"):
        feats = [
            _encode_upto(blocks, atts, sc, x[..., t.outer[0], t.outer[1]], len(blocks))
            for x, sc in zip(xs, scales, strict=True)
        ]
        res = head(feats)
        out[t.core] = res[0, 0, t.inner[0], t.inner[1]].cpu().numpy()
        del feats, res
    return out
