"""IFCNN network (Zhang et al. 2020): ResNet-101 conv1, two conv blocks around an element-wise fusion.

Port of uzeful/IFCNN ``Code/model.py`` (``ConvBlock``, ``IFCNN``, ``tensor_max/sum/mean``) @
8fe59c2b1553e52acc793986208ca479d134a8da (https://github.com/uzeful/IFCNN). The repository has **no
licence file** (all rights reserved by default); this is our own code written from a reading of that
file, and the weights are never redistributed (downloaded from the official URL by the user).
Parameter names follow the official state_dict (``conv1``, ``conv2.conv``, ``conv2.bn``, ... ``conv4``)
so the snapshots load by name; they were saved by torch 0.4.1 and have no ``num_batches_tracked``.

Architecture (every source goes through the same feature extractor):

* replicate-pad 3, ``conv1`` = ResNet-101's 7x7 conv (3 -> 64, no bias) with stride 1 and no padding;
* ``conv2``: replicate-pad 1, 3x3 conv (64 -> 64, no bias), BatchNorm (eval), ReLU;
* fusion: element-wise MAX / SUM / MEAN over the N feature maps (MEAN = running sum / N);
* ``conv3``: as ``conv2`` on the fused map; ``conv4``: 1x1 conv 64 -> 3 with bias.

Every output pixel depends only on the 11x11 input window around it (replicate padding at the image
border), so the network can be run on overlapping tiles with a halo of :data:`HALO` pixels and give the
same values as on the whole image.

Private: imports torch at module level; import it lazily from :mod:`methods.ifcnn`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: ``fuse_scheme`` of the official code: 0 MAX, 1 SUM, 2 MEAN.
RULES = ("max", "sum", "mean")
#: Receptive-field radius of one output pixel: 3 (conv1) + 1 (conv2) + 1 (conv3) + 0 (conv4).
HALO = 5
BN_EPS = 1e-5  # nn.BatchNorm2d's default, as in the official model


class ConvBlock(nn.Module):
    """Replicate-pad 1 -> Conv3x3 (no bias) -> BatchNorm (eval) -> ReLU (official ``ConvBlock``)."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.pad(x, (1, 1, 1, 1), mode="replicate"))
        return F.relu(self.bn(y))


class IFCNNNet(nn.Module):
    """IFCNN with one fusion rule; ``forward(*sources)`` -> the fused 1x3xHxW network output."""

    def __init__(self, rule: str = "max") -> None:
        super().__init__()
        if rule not in RULES:
            raise ValueError(f"Expected rule in {RULES}, got {rule!r}")
        self.rule = rule
        self.conv1 = nn.Conv2d(3, 64, 7, stride=1, padding=0, bias=False)
        self.conv2 = ConvBlock(64)
        self.conv3 = ConvBlock(64)
        self.conv4 = nn.Conv2d(64, 3, 1, stride=1, padding=0, bias=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Nx3xHxW normalised source -> Nx64xHxW features (conv1 + conv2)."""
        return self.conv2(self.conv1(F.pad(x, (3, 3, 3, 3), mode="replicate")))

    def reconstruct(self, fused: torch.Tensor) -> torch.Tensor:
        """Fused 64-ch features -> 3-ch output (conv3 + conv4), still normalised."""
        return self.conv4(self.conv3(fused))

    def forward(self, *sources: torch.Tensor) -> torch.Tensor:
        """The official forward: features of each source, element-wise rule, reconstruction.

        Sources are processed one at a time and folded into a running MAX / SUM, in the official order
        (``max(max(f1, f2), f3)``, ``(f1 + f2) + f3``, MEAN = that sum / N), so only two 64-channel maps
        are alive at once whatever N is. Inference only (in-place folds).
        """
        if len(sources) < 1:
            raise ValueError("Expected at least one source tensor")
        acc = None
        for x in sources:
            f = self.features(x)
            if acc is None:
                acc = f
            elif self.rule == "max":
                torch.maximum(acc, f, out=acc)
            else:
                acc.add_(f)
        if self.rule == "mean":
            acc = acc / len(sources)
        return self.reconstruct(acc)


# ------------------------------------------------------------------------------ fast inference (CPU/GPU)
def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval BatchNorm as ``x * alpha + beta`` (per channel, shaped 1xCx1x1)."""
    alpha = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    beta = bn.bias - bn.running_mean * alpha
    return alpha.view(1, -1, 1, 1), beta.view(1, -1, 1, 1)


def _replicate_border(buf: torch.Tensor, p: int) -> torch.Tensor:
    """Fill the ``p``-pixel frame of ``buf`` by replicating its interior's edge rows and columns."""
    h, w = buf.shape[2] - 2 * p, buf.shape[3] - 2 * p
    buf[:, :, :p, p : p + w] = buf[:, :, p : p + 1, p : p + w]
    buf[:, :, p + h :, p : p + w] = buf[:, :, p + h - 1 : p + h, p : p + w]
    buf[:, :, :, :p] = buf[:, :, :, p : p + 1]
    buf[:, :, :, p + w :] = buf[:, :, :, p + w - 1 : p + w]
    return buf


def _block_padded(block: ConvBlock, xp: torch.Tensor, pad_out: bool) -> torch.Tensor:
    """``ConvBlock`` on an already replicate-padded input, written into a padded buffer when
    ``pad_out`` (the next block's input), with BN and ReLU applied in place."""
    y = F.conv2d(xp, block.conv.weight)
    alpha, beta = _bn_affine(block.bn)
    if not pad_out:
        return y.mul_(alpha).add_(beta).relu_()
    n, c, h, w = y.shape
    buf = torch.empty((n, c, h + 2, w + 2), dtype=y.dtype, device=y.device).contiguous(
        memory_format=torch.channels_last
    )
    inner = buf[:, :, 1 : h + 1, 1 : w + 1]
    torch.mul(y, alpha, out=inner)
    del y
    inner.add_(beta).relu_()
    return _replicate_border(buf, 1)


def features_fast(model: IFCNNNet, x: torch.Tensor) -> torch.Tensor:
    """:meth:`IFCNNNet.features` in channels-last layout, returned replicate-padded by 1 (ready for
    conv3 after the fusion rule, which commutes with the padding). Equal to the module forward up to
    float rounding."""
    xp = F.pad(x, (3, 3, 3, 3), mode="replicate").contiguous(memory_format=torch.channels_last)
    f1 = F.conv2d(xp, model.conv1.weight)
    del xp
    f1p = F.pad(f1, (1, 1, 1, 1), mode="replicate").contiguous(memory_format=torch.channels_last)
    del f1
    return _block_padded(model.conv2, f1p, pad_out=True)


def forward_fast(model: IFCNNNet, sources) -> torch.Tensor:
    """:meth:`IFCNNNet.forward` for an iterable of Nx3xHxW tensors, channels-last, in-place folds."""
    acc = None
    n = 0
    for x in sources:
        f = features_fast(model, x)
        n += 1
        if acc is None:
            acc = f
        elif model.rule == "max":
            torch.maximum(acc, f, out=acc)
        else:
            acc.add_(f)
        del f
    if acc is None:
        raise ValueError("Expected at least one source tensor")
    if model.rule == "mean":
        acc.div_(n)
    y = _block_padded(model.conv3, acc, pad_out=False)
    del acc
    return F.conv2d(y, model.conv4.weight, model.conv4.bias).contiguous()


def load_official_state(model: IFCNNNet, state: dict) -> None:
    """Load an official snapshot by name; only BN's ``num_batches_tracked`` may be missing.

    Raises
    ------
    RuntimeError
        Unexpected or missing keys (other than ``num_batches_tracked``), or shape mismatches.
    """
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"missing keys {missing}, unexpected keys {unexpected}")
