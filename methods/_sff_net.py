"""SFF network: dual-stream patch classifier (re-implementation from the paper).

Ismail & Ghazali 2025 (seed ``shared/seeds/001_19854139e7a5189b.txt``). No code was released; our own
PyTorch code from ``shared/docs/methods.md`` section 6. Choices where the paper is silent: shared
stream weights, 32x32 patches, FC hidden width 128 (256 in the spec would make the file > 5 MB), the
FC layers written as convolutions (4x4 then 1x1) so one pass gives a dense score map at stride 8.
"""

from __future__ import annotations

import torch
from torch import nn


class SFFNet(nn.Module):
    """``forward(a, b)`` -> logits that ``a`` is the focused patch, one per 32x32 window (stride 8)."""

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256), hidden: int = 128, patch: int = 32) -> None:
        super().__init__()
        layers, cin = [], 1
        for c in widths:
            layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            cin = c
        self.stream = nn.Sequential(*layers)
        self.stride = 2 ** len(widths)
        if patch % self.stride:
            raise ValueError(f"Expected a patch size divisible by {self.stride}, got {patch}")
        self.patch = patch
        self.fc1 = nn.Conv2d(2 * cin, hidden, patch // self.stride)
        self.fc2 = nn.Conv2d(hidden, 1, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        f = torch.cat([self.stream(a), self.stream(b)], 1)
        return self.fc2(torch.relu(self.fc1(f)))

    def stream_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Inference-only ``stream(x)``, bit-identical: ReLU commutes with max pooling (both exact), so
        each 2x2 max pool runs first, as two pairwise maxima of strided views (on CPU several times
        faster than ``max_pool2d`` on NCHW tensors), and the ReLU on the 4x smaller result."""
        layers = list(self.stream)
        for conv, _, _ in zip(layers[0::3], layers[1::3], layers[2::3], strict=True):
            y = conv(x)
            h, w = y.shape[-2] // 2 * 2, y.shape[-1] // 2 * 2  # max_pool2d(2) drops an odd last row/column
            y = torch.maximum(y[..., 0:h:2, :w], y[..., 1:h:2, :w])
            x = torch.maximum(y[..., 0::2], y[..., 1::2]).relu_()
        return x

    def forward_fast(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Inference-only :meth:`forward` (bit-identical), with :meth:`stream_fast`."""
        f = torch.cat([self.stream_fast(a), self.stream_fast(b)], 1)
        return self.fc2(self.fc1(f).relu_())
