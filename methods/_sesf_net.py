"""SESF-Fuse network (encoder with cSE / sSE / scSE attention, training decoder) and its SF rule.

Port of Keep-Passion/SESF-Fuse, ``nets/sesf_net.py`` (``SESFuseNet``, ``CSELayer``, ``SSELayer``,
``SCSELayer``, ``fusion_channel_sf``) @ master 23e60b8c710919f5b2957b64c96e3c204443c6d7,
licence LGPL-2.1 (https://github.com/Keep-Passion/SESF-Fuse). Rewritten in our own code from
``shared/docs/methods.md`` section 2 and a reading of that file; module and parameter names follow the
official state_dict so the authors' checkpoints load with ``strict=True``. This file is therefore a
derivative of LGPL-2.1 code and is distributed under LGPL-2.1.

Private: torch is imported at module level here, so only import this module lazily (inside
functions) from ``methods.sesf`` and friends; ``import methods`` must not need torch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Normalisation of the network input (training-set gray mean / std, the official constants).
MEAN = 0.4500517361627943
STD = 0.26465333914691797


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """Conv3x3 (padding 1, bias) -> ReLU -> BatchNorm (BN last, as in the official code)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(cout))


class CSE(nn.Module):
    """Channel squeeze-and-excitation: global mean -> Linear(c, c/r) -> ReLU -> Linear -> sigmoid."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        y = self.fc(x.mean(dim=(2, 3))).view(b, c, 1, 1)
        return x * y

    def apply_into(self, x: torch.Tensor, out: torch.Tensor) -> None:
        """``out[...] = forward(x)`` without allocating a new full-size tensor."""
        b, c = x.shape[:2]
        torch.mul(x, self.fc(x.mean(dim=(2, 3))).view(b, c, 1, 1), out=out)


class SSE(nn.Module):
    """Spatial squeeze-and-excitation: Conv(c -> 1, k x k, no bias) -> sigmoid -> multiply."""

    def __init__(self, channels: int, kernel_size: int = 1) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Conv2d(channels, 1, kernel_size, padding=kernel_size // 2, bias=False), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)

    def apply_into(self, x: torch.Tensor, out: torch.Tensor) -> None:
        torch.mul(x, self.fc(x), out=out)


class SCSE(nn.Module):
    """sSE(x) + cSE(x) (sum of the two recalibrated tensors)."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.CSE = CSE(channels, reduction)
        self.SSE = SSE(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SSE(x) + self.CSE(x)

    def apply_into(self, x: torch.Tensor, out: torch.Tensor) -> None:
        torch.add(self.SSE(x), self.CSE(x), out=out)


_ATTENTION = {"cse": CSE, "sse": SSE, "scse": SCSE}


class SESFNet(nn.Module):
    """SESF-Fuse autoencoder: dense encoder with attention (64-ch features) and a 4-block decoder."""

    def __init__(self, attention: str = "cse") -> None:
        super().__init__()
        if attention not in _ATTENTION:
            raise ValueError(f"Expected attention in {sorted(_ATTENTION)}, got {attention!r}")
        att = _ATTENTION[attention]
        self.features = conv_block(1, 16)
        self.conv_encode_1 = conv_block(16, 16)
        self.conv_encode_2 = conv_block(32, 16)
        self.conv_encode_3 = conv_block(48, 16)
        self.se_f = att(16)
        self.se_1 = att(16)
        self.se_2 = att(16)
        self.se_3 = att(16)
        self.conv_decode_1 = conv_block(64, 64)
        self.conv_decode_2 = conv_block(64, 32)
        self.conv_decode_3 = conv_block(32, 16)
        self.conv_decode_4 = conv_block(16, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Nx1xHxW normalised gray -> Nx64xHxW features ``[s0, s1, s2, s3]``."""
        s0 = self.se_f(self.features(x))
        s1 = self.se_1(self.conv_encode_1(s0))
        c1 = torch.cat((s0, s1), 1)
        s2 = self.se_2(self.conv_encode_2(c1))
        c2 = torch.cat((c1, s2), 1)
        s3 = self.se_3(self.conv_encode_3(c2))
        return torch.cat((c2, s3), 1)

    def encode_fast(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Inference-only :meth:`encode` (same result to float rounding), see :func:`dense_encode`."""
        return dense_encode(
            [self.features, self.conv_encode_1, self.conv_encode_2, self.conv_encode_3],
            [self.se_f, self.se_1, self.se_2, self.se_3],
            x,
            out,
        )

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.conv_decode_4(self.conv_decode_3(self.conv_decode_2(self.conv_decode_1(f))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # training: reconstruct the input
        return self.decode(self.encode(x))


def _block_inplace(block: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Conv -> ReLU -> BatchNorm(eval) with the ReLU and the BN affine map applied in place."""
    conv, bn = block[0], block[2]
    y = F.conv2d(x, conv.weight, conv.bias, padding=1)
    y.relu_()
    alpha = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    beta = bn.bias - bn.running_mean * alpha
    return y.mul_(alpha.view(1, -1, 1, 1)).add_(beta.view(1, -1, 1, 1))


def _block_cse_into(block: nn.Sequential, att: CSE, x: torch.Tensor, out: torch.Tensor) -> None:
    """``out = cSE(BN(ReLU(conv(x))))`` with BN and the channel weights applied in one pass.

    With ``y = relu(conv(x))``, BN is ``alpha*y + beta`` per channel, so its spatial mean is
    ``alpha*mean(y) + beta`` and the result is ``y*(alpha*s) + beta*s`` for the cSE weights ``s``.
    """
    conv, bn = block[0], block[2]
    y = F.conv2d(x, conv.weight, conv.bias, padding=1).relu_()
    alpha = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    beta = bn.bias - bn.running_mean * alpha
    s = att.fc(y.mean(dim=(2, 3)) * alpha + beta)  # (1, C)
    torch.addcmul((beta * s).view(1, -1, 1, 1), y, (alpha * s).view(1, -1, 1, 1), out=out)


def dense_encode(blocks: list, atts: list, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Inference of the SESF/GACN dense encoder without concatenations or temporaries.

    Each image is run on its own and every attended 16-ch block is written straight into its slice of
    a preallocated Nx64xHxW buffer, whose leading channels are then the next conv's input (the
    official ``torch.cat`` chain builds the same tensors). BN is applied in eval mode as
    ``x*alpha + beta``. Equal to the module forward up to float rounding (~1e-6 relative).
    ``out``: a contiguous Nx64xHxW buffer of ``x``'s dtype and device to write into (reused across calls).
    """
    n, _, h, w = x.shape
    width = blocks[0][0].out_channels
    shape = (n, width * len(blocks), h, w)
    if out is None:
        out = torch.empty(shape, dtype=x.dtype, device=x.device)
    elif out.shape != shape or out.dtype != x.dtype or out.device != x.device or not out.is_contiguous():
        raise ValueError(f"Expected a contiguous {shape} out buffer like x, got {tuple(out.shape)}")
    for i in range(n):
        inp = x[i : i + 1]
        for k, (blk, att) in enumerate(zip(blocks, atts, strict=True)):
            dst = out[i : i + 1, k * width : (k + 1) * width]
            if isinstance(att, CSE):
                _block_cse_into(blk, att, inp, dst)
            else:
                att.apply_into(_block_inplace(blk, inp), dst)
            inp = out[i : i + 1, : (k + 1) * width]
    return out


def _energy(f: torch.Tensor) -> torch.Tensor:
    """Per-channel ``(F(x,y-1) - F(x,y))^2 + (F(x-1,y) - F(x,y))^2``, neighbours 0 outside.

    Evaluated as in the official code (horizontal term first, then the vertical one added), so
    each channel's value is the same float32 number the official shift-convolutions produce.
    """
    g = torch.empty_like(f)
    torch.square(f[..., :1], out=g[..., :1])
    torch.sub(f[..., 1:], f[..., :-1], out=g[..., 1:])
    g[..., 1:].square_()
    g[:, :, :1] += f[:, :, :1].square()
    g[:, :, 1:] += (f[:, :, 1:] - f[:, :, :-1]).square_()
    return g


def gradient_energy(feat: torch.Tensor, sum_channels: bool, chunk: int = 16) -> torch.Tensor:
    """Squared left and top neighbour differences (neighbour = 0 outside the image).

    ``g(x, y) = (F(x, y-1) - F(x, y))^2 + (F(x-1, y) - F(x, y))^2`` per channel; summed over the
    channels when ``sum_channels`` (SESF; done ``chunk`` channels at a time to bound memory), kept
    per channel otherwise (GACN).
    """
    if not sum_channels:
        return _energy(feat)
    acc = None
    for part in feat.split(chunk, dim=1):
        s = _energy(part).sum(dim=1, keepdim=True)
        acc = s if acc is None else acc.add_(s)
    return acc


def window_sum(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sum over the (2r+1)^2 window with zero padding, separably (rows then columns), any dtype."""
    c = x.shape[1]
    k = 2 * r + 1
    wv = torch.ones((c, 1, k, 1), dtype=x.dtype, device=x.device)
    wh = torch.ones((c, 1, 1, k), dtype=x.dtype, device=x.device)
    y = F.conv2d(x, wv, padding=(r, 0), groups=c)
    return F.conv2d(y, wh, padding=(0, r), groups=c)


def window_sum_f64(g: np.ndarray, r: int) -> np.ndarray:
    """:func:`window_sum` of one HxW float64 NumPy plane, bit-identical to it on CPU, in NumPy.

    torch runs the float64 ones-kernel convolutions as im2col + GEMM, i.e. a sequential sum of the
    2r+1 zero-padded shifted rows (then columns) in kernel order; the same sums are formed here in
    the same order (``tests/test_deep_fastpaths.py`` checks equality), ~2.5x faster at 520x520.
    """
    h, w = g.shape
    k = 2 * r + 1
    pad = np.zeros((h + 2 * r, w), np.float64)
    pad[r : r + h] = g
    rows = pad[0:h].copy()
    for t in range(1, k):
        rows += pad[t : t + h]
    pad = np.zeros((h, w + 2 * r), np.float64)
    pad[:, r : r + w] = rows
    out = pad[:, 0:w].copy()
    for t in range(1, k):
        out += pad[:, t : t + w]
    return out


def spatial_frequency(feat: torch.Tensor, r: int = 5) -> torch.Tensor:
    """SESF's per-pixel SF on deep features: window sum (r) of the channel-summed gradient energy.

    No normalisation and no square root (code, not paper). The channel sum is taken before the
    window sum (a linear reordering of the official per-channel window sums) and the window sum is
    done in float64, so the result is at least as accurate as the official float32 one.
    Returns Nx1xHxW float64.
    """
    g = gradient_energy(feat, sum_channels=True).double()
    return window_sum(g, r)
