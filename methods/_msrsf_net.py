"""MSR-SF network: multi-scale residual encoder + training decoder (re-implementation from the paper).

Tian, Chen, Xu, Wang (seed ``shared/seeds/000_e1ceeace1107a152.txt``); the multi-scale residual block
follows MSRN (Li et al., ECCV 2018, eq. 1-2 of the seed). No code was released; this is our own
PyTorch code from ``shared/docs/methods.md`` section 5. Choices where the paper is silent: head conv
without activation, C = 16, four blocks, hierarchical concat of the four block outputs (64 channels),
decoder conv blocks Conv3x3 -> ReLU -> BN (SESF layout) with a plain final Conv3x3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MSRB(nn.Module):
    """Multi-scale residual block: two 3x3/5x5 paths crossed twice, 1x1 fusion, local residual."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.s1 = nn.Conv2d(c, c, 3, padding=1)
        self.p1 = nn.Conv2d(c, c, 5, padding=2)
        self.s2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.p2 = nn.Conv2d(2 * c, 2 * c, 5, padding=2)
        self.fuse = nn.Conv2d(4 * c, c, 1)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        s1 = F.relu(self.s1(m))
        p1 = F.relu(self.p1(m))
        s2 = F.relu(self.s2(torch.cat([s1, p1], 1)))
        p2 = F.relu(self.p2(torch.cat([p1, s1], 1)))
        return m + self.fuse(torch.cat([s2, p2], 1))


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(cout))


class MSRSFNet(nn.Module):
    """Encoder (``encode``) gives the 4C-channel deep feature; ``forward`` reconstructs the input."""

    def __init__(self, channels: int = 16, blocks: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.ModuleList(MSRB(channels) for _ in range(blocks))
        w = channels * blocks
        self.decoder = nn.Sequential(
            _block(w, 64), _block(64, 32), _block(32, 16), nn.Conv2d(16, 1, 3, padding=1)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        m = self.head(x)
        outs = []
        for blk in self.blocks:
            m = blk(m)
            outs.append(m)
        return torch.cat(outs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))

    def feature_energy(self, x: torch.Tensor) -> torch.Tensor:
        """Inference only: ``gradient_energy(encode(x), sum_channels=True)`` of one 1x1xHxW image.

        Bit-identical to that expression (the same float32 operations in the same order): the energy
        of each block's 16-ch output is summed as the block is computed (``gradient_energy`` sums the
        64 channels in chunks of 16, i.e. block by block), so the 64-ch concatenation is never built;
        ReLU and the residual add run in place (``m + f == f + m`` in IEEE arithmetic) and the
        concatenations go into three buffers reused by all blocks. Per image, batch 1: fewer and
        smaller temporaries (a 520x520 pair: ~35 % less CPU than the batch-2 ``encode``).
        """
        from methods._sesf_net import gradient_energy

        if x.shape[0] != 1:
            raise ValueError(f"Expected one 1x1xHxW image, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        c = self.head.out_channels
        kw = {"dtype": x.dtype, "device": x.device}
        cat1, cat2, cat3 = (torch.empty((1, k * c, h, w), **kw) for k in (2, 2, 4))
        m = self.head(x)
        acc = None
        for blk in self.blocks:
            s1 = blk.s1(m).relu_()
            p1 = blk.p1(m).relu_()
            torch.cat([s1, p1], 1, out=cat1)
            torch.cat([p1, s1], 1, out=cat2)
            del s1, p1
            s2 = blk.s2(cat1).relu_()
            p2 = blk.p2(cat2).relu_()
            torch.cat([s2, p2], 1, out=cat3)
            del s2, p2
            m = blk.fuse(cat3).add_(m)
            e = gradient_energy(m, sum_channels=True)
            acc = e if acc is None else acc.add_(e)
        return acc

def _radius(conv: nn.Conv2d) -> int:
    """Reach of a 'same' convolution (pixels on each side): ``dilation * (k - 1) / 2``, checked against
    its padding (a convolution that shrinks or shifts its input has no fixed reach here)."""
    reach = [d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation, strict=True)]
    if list(conv.padding) != reach or list(conv.stride) != [1, 1]:
        raise ValueError(f"Expected a stride-1 'same' convolution, got {conv}")
    return max(reach)


def encoder_halo(net: MSRSFNet) -> int:
    """Receptive-field radius of :meth:`MSRSFNet.encode` (pixels), from its layers.

    Head conv, then per block the longer of the two parallel paths at each stage (s1 | p1, then
    s2 | p2 on their concatenation) and the 1x1 fusion; the residual adds nothing. C=16, 4 blocks:
    1 + 4 * (2 + 2 + 0) = 17.
    """
    halo = _radius(net.head)
    for b in net.blocks:
        halo += max(_radius(b.s1), _radius(b.p1)) + max(_radius(b.s2), _radius(b.p2)) + _radius(b.fuse)
    return halo
