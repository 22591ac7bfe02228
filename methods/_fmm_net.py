"""FMM network: two res-block encoders, feature mutual mapping, aggregation decoder.

Re-implementation from the paper: Rao, Wu, Xu, Chen, "Unsupervised image fusion method based on
feature mutual mapping" (arXiv:2201.10152; seed ``shared/seeds/004_c3d5f9f507403807.txt``). No code was
released; our own PyTorch code from ``shared/docs/methods.md`` section 4.

The N x N affinity of the mutual mapping is never materialised: both cross maps are computed with
``torch.nn.functional.scaled_dot_product_attention`` (scale 1/sqrt(C), as in the paper's R).

Choices where the paper is silent (ours): channels 16/32/64, stride-2 Conv3x3 downsampling, one
shared 1x1 conv for the weight logits of both inputs, the deep weight logits upsampled and
concatenated with the shallow features at 1/2 and 1/1, and the decoder output added to the mean of
the two inputs (global residual, for fast CPU training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

_FUSED = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]


class ResBlock(nn.Module):
    """Two Conv3x3+ReLU with an identity shortcut (He et al. 2016)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.c2(F.relu(self.c1(x))))


class Encoder(nn.Module):
    """Conv3x3 -> ReLU -> res(c1) -> down -> res(c2) -> down -> res(c3); features at 1, 1/2, 1/4."""

    def __init__(self, ch: tuple[int, int, int]) -> None:
        super().__init__()
        c1, c2, c3 = ch
        self.head = nn.Conv2d(1, c1, 3, padding=1)
        self.r1 = ResBlock(c1)
        self.d1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.r2 = ResBlock(c2)
        self.d2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.r3 = ResBlock(c3)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = self.r1(F.relu(self.head(x)))
        f2 = self.r2(F.relu(self.d1(f1)))
        f3 = self.r3(F.relu(self.d2(f2)))
        return [f1, f2, f3]


def mutual_map(fx: torch.Tensor, fy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross maps ``gx = fy softmax(R)^T`` and ``gy = fx softmax(R^T)^T`` with ``R = fx^T fy / sqrt(C)``.

    Computed by scaled dot-product attention (memory-efficient kernels), never forming R.
    """
    b, c, h, w = fx.shape
    # (B, 1, N, C) with a unit-stride last dimension: a 3-D or strided input would fall back to the
    # math path, which builds the N x N matrix. The math backend is excluded outright, so a layout
    # that the fused kernels cannot take raises instead of allocating N^2 floats.
    qx = fx.flatten(2).transpose(1, 2).contiguous()[:, None]
    qy = fy.flatten(2).transpose(1, 2).contiguous()[:, None]
    with sdpa_kernel(_FUSED):
        gx = F.scaled_dot_product_attention(qx, qy, qy)[:, 0]
        gy = F.scaled_dot_product_attention(qy, qx, qx)[:, 0]
    return gx.transpose(1, 2).reshape(b, c, h, w), gy.transpose(1, 2).reshape(b, c, h, w)


class FMMNet(nn.Module):
    """``forward(a, b)`` -> fused gray image (B, 1, H, W); H and W must be multiples of 4."""

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.enc_x = Encoder(channels)
        self.enc_y = Encoder(channels)
        self.weight3 = nn.Conv2d(2 * c3, 1, 1)
        self.weight2 = nn.Conv2d(2 + 2 * c2, 2, 1)
        self.weight1 = nn.Conv2d(2 + 2 * c1, 2, 1)
        self.up2 = nn.Conv2d(c3 + c2, c2, 3, padding=1)
        self.up1 = nn.Conv2d(c2 + c1, c1, 3, padding=1)
        self.out = nn.Conv2d(c1, 1, 3, padding=1)

    def weights(self, a: torch.Tensor, b: torch.Tensor):
        """Fused features at the three scales and the full-resolution weight map of ``a``."""
        x1, x2, x3 = self.enc_x(a)
        y1, y2, y3 = self.enc_y(b)
        gx, gy = mutual_map(x3, y3)
        logit3 = torch.cat([self.weight3(torch.cat([x3, gx], 1)), self.weight3(torch.cat([y3, gy], 1))], 1)
        m3 = torch.softmax(logit3, 1)
        up = F.interpolate(logit3, size=x2.shape[-2:], mode="bilinear", align_corners=False)
        logit2 = self.weight2(torch.cat([up, x2, y2], 1))
        m2 = torch.softmax(logit2, 1)
        up = F.interpolate(logit2, size=x1.shape[-2:], mode="bilinear", align_corners=False)
        m1 = torch.softmax(self.weight1(torch.cat([up, x1, y1], 1)), 1)
        fused = [m[:, :1] * fx + m[:, 1:] * fy for m, fx, fy in ((m1, x1, y1), (m2, x2, y2), (m3, x3, y3))]
        return fused, m1[:, :1]

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        (f1, f2, f3), _ = self.weights(a, b)
        d = F.interpolate(f3, size=f2.shape[-2:], mode="bilinear", align_corners=False)
        d = F.relu(self.up2(torch.cat([d, f2], 1)))
        d = F.interpolate(d, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        d = F.relu(self.up1(torch.cat([d, f1], 1)))
        return 0.5 * (a + b) + self.out(d)
