"""SFF network: dual-stream patch classifier (re-implementation from the paper).

Ismail & Ghazali 2025 (seed ``shared/seeds/001_19854139e7a5189b.txt``). No code was released; our own
PyTorch code from ``shared/docs/methods.md`` section 6. Choices where the paper is silent: shared
stream weights, 32x32 patches, FC hidden width 128 (256 in the spec would make the file > 5 MB), the
FC layers written as convolutions (4x4 then 1x1) so one pass gives a dense score map at stride 8.
"""

from __future__ import annotations

import torch
from torch import nn

#: ATen runs a float32 CPU convolution of batch 1 with a kernel of at most 3x3 on oneDNN only when its input
#: has more than this many elements (``ConvParams::use_mkldnn``); larger kernels and batches always
MKLDNN_MIN_NUMEL = 20480


def onednn_layout(x: torch.Tensor, convs: list) -> bool:
    """True when the dense path would run each of ``convs`` (a conv -> 2x2 max-pool chain from ``x``) on
    oneDNN, so that running them on oneDNN tensors gives the same bits: float32 on CPU, oneDNN enabled,
    not tracking gradients, and each convolution's input above :data:`MKLDNN_MIN_NUMEL` elements (or a
    kernel larger than 3x3, or a batch above 1, as ATen decides)."""
    if (
        x.device.type != "cpu"
        or x.dtype != torch.float32
        or x.layout != torch.strided
        or x.requires_grad
        or not torch.backends.mkldnn.is_available()
        or not torch.backends.mkldnn.enabled
    ):
        return False
    n, _, h, w = x.shape
    for conv in convs:
        if conv.groups != 1:
            return False
        plain = tuple(conv.stride) == (1, 1) and tuple(conv.dilation) == (1, 1)
        if tuple(conv.kernel_size) == (1, 1) and plain and n < 16 and torch.get_num_threads() == 1:
            return False  # ATen: a 1x1 convolution in one thread runs natively
        big_kernel = min(conv.kernel_size) > 3
        if not (n > 1 or big_kernel or n * conv.in_channels * h * w > MKLDNN_MIN_NUMEL):
            return False
        h, w = h // 2, w // 2
    return True


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
        faster than ``max_pool2d`` on NCHW tensors), and the ReLU on the 4x smaller result.

        Where torch would run every convolution on oneDNN anyway (:func:`onednn_layout`), the whole
        stream stays in oneDNN's blocked layout instead: the same convolution primitives on the same
        data (same bits), without the two reorders to and from NCHW around every convolution; pooling
        and ReLU run there too (exact). A 568x568 stream: ~30 % less CPU."""
        layers = list(self.stream)
        convs = layers[0::3]
        if onednn_layout(x, convs):
            y = x.to_mkldnn()
            for conv in convs:
                y = torch.relu(torch.nn.functional.max_pool2d(conv(y), 2))
            return y.to_dense()
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
