"""GACN network: SESF-style dense encoder, per-channel SF fusion layer, decision path with 7x7 sSE.

Port of Keep-Passion/GACN ``nets/gacn_net.py`` (``GACNFuseNet``, ``GACNFeatureExtraction``,
``GACNDecisionPath``, ``SSELayer``, ``CSELayer``, ``channel_sf``) and ``nets/nets_utility.py``
(``GaussBlur``) @ master 4994c883f0896f4029cd517739d8e16f4572b938, licence **LGPL-2.1**
(https://github.com/Keep-Passion/GACN). Our own code written from ``shared/docs/methods.md`` section 3
and a reading of those files; module names follow the official state_dict so ``GACN.pkl`` loads with
``strict=True``. As a derivative of LGPL-2.1 code this file is distributed under LGPL-2.1.

Private: imports torch at module level; import it lazily from ``methods.gacn``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from methods._sesf_net import CSE, SSE, _block_cse_into, _block_inplace, dense_encode, gradient_energy

SF_RADIUS = 5
SHARPNESS = 1000.0  # sigmoid(1000 * x) in the SF layer and for D0


def named_block(cin: int, cout: int, name: str) -> nn.Sequential:
    """Conv3x3 -> ReLU -> BN with the official child names (``<name>_Conv2d`` ...)."""
    block = nn.Sequential()
    block.add_module(f"{name}_Conv2d", nn.Conv2d(cin, cout, 3, padding=1))
    block.add_module(f"{name}_ReLu", nn.ReLU())
    block.add_module(f"{name}_BatchNorm", nn.BatchNorm2d(cout))
    return block


class GACNNet(nn.Module):
    """Feature extractor (shared by the two inputs) + decision path; state_dict = ``GACN.pkl``."""

    def __init__(self) -> None:
        super().__init__()
        for i, cin in enumerate((1, 16, 32, 48)):
            name = f"feature_extraction_conv{i}"
            self.add_module(name, named_block(cin, 16, name))
            self.add_module(f"se_{i}", CSE(16, 8))
        for i, c in zip(range(4, 9), (64, 48, 32, 16, 1), strict=True):
            self.add_module(f"se_{i}", SSE(c, kernel_size=7))
        for i, (cin, cout) in enumerate(((64, 48), (48, 32), (32, 16), (16, 1)), start=1):
            name = f"decision_path_conv{i}"
            self.add_module(name, named_block(cin, cout, name))

    def _blocks(self):
        return [getattr(self, f"feature_extraction_conv{i}") for i in range(4)]

    def _atts(self):
        return [getattr(self, f"se_{i}") for i in range(4)]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Nx1xHxW gray in [0, 1] -> Nx64xHxW (module forward, as the official code)."""
        outs = []
        inp = x
        for blk, att in zip(self._blocks(), self._atts(), strict=True):
            outs.append(att(blk(inp)))
            inp = torch.cat(outs, 1)
        return inp

    def encode_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Inference-only :meth:`encode` without concatenations (equal up to float rounding)."""
        return dense_encode(self._blocks(), self._atts(), x)

    def encode_into(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:meth:`encode_fast` of one 1x1xHxW image written into a preallocated 1x64xHxW ``out``.

        The same operations as :func:`methods._sesf_net.dense_encode` (bit-identical result); reusing
        ``out`` across images avoids a fresh 64-channel allocation (and its page faults) per image.
        """
        if x.shape[0] != 1 or out.shape != (1, 64, *x.shape[2:]) or not out.is_contiguous():
            raise ValueError(
                f"Expected a 1x1xHxW input and a contiguous 1x64xHxW out, got {x.shape}, {out.shape}"
            )
        inp = x
        for k, (blk, att) in enumerate(zip(self._blocks(), self._atts(), strict=True)):
            _block_cse_into(blk, att, inp, out[:, 16 * k : 16 * (k + 1)])
            inp = out[:, : 16 * (k + 1)]
        return out

    def decide(self, bimap: torch.Tensor) -> torch.Tensor:
        """Decision path on the 64-ch soft SF map -> the last sSE output (before the sigmoid)."""
        x = self.se_4(bimap)
        for i, se in zip(range(1, 5), (self.se_5, self.se_6, self.se_7, self.se_8), strict=True):
            x = se(getattr(self, f"decision_path_conv{i}")(x))
        return x

    def decide_fast(self, bimap: torch.Tensor) -> torch.Tensor:
        """Inference-only :meth:`decide` (equal up to float rounding, ~1e-6 relative).

        ``bimap`` is consumed (overwritten). Conv blocks run in channels-last layout with ReLU and BN
        applied in place; the wide 7x7 sSE convolutions are split into one 1x7 convolution with 7
        outputs and 7 shifted row sums (:func:`_sse_logits`), which is much faster on CPU.
        """
        x = _sse_inplace(self.se_4, bimap.contiguous(memory_format=torch.channels_last))
        for i, se in zip(range(1, 5), (self.se_5, self.se_6, self.se_7, self.se_8), strict=True):
            x = _sse_inplace(se, _block_inplace(getattr(self, f"decision_path_conv{i}"), x))
        return x


def _sse_logits(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv2d(x, weight, padding=k//2)`` for a (1, C, k, k) kernel, by kernel rows for C >= 16.

    One convolution with a (k, C, 1, k) kernel gives the k row-partial maps, which are then summed with
    the row shifts; on CPU (channels-last input) this is 2-3x faster than the direct C -> 1 conv.
    """
    k = weight.shape[-1]
    r = k // 2
    c = x.shape[1]
    if c < 16:
        return F.conv2d(x, weight, padding=r)
    h = x.shape[2]
    rows = weight[0].permute(1, 0, 2).reshape(k, c, 1, k)  # output i = kernel row i
    z = F.conv2d(x, rows, padding=(0, r))
    # out[y] = sum_i z_i[y + i - r] over the rows inside the image, in the order i = 0..k-1 (the
    # zero-padded form adds exact zeros for the others, which changes nothing but the sign of a zero)
    out = torch.zeros((x.shape[0], 1, h, x.shape[3]), dtype=z.dtype, device=z.device)
    for i in range(k):
        lo, hi = max(0, r - i), min(h, h + r - i)
        if lo < hi:
            out[:, :, lo:hi].add_(z[:, i : i + 1, lo + i - r : hi + i - r])
    return out


def _sse_inplace(se: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(conv(x))`` computed into ``x``."""
    return x.mul_(torch.sigmoid_(_sse_logits(x, se.fc[0].weight)))


def window_sum_cpu(g: torch.Tensor, r: int) -> torch.Tensor:
    """Zero-padded (2r+1)^2 window sums of every plane with OpenCV's box filter (CPU tensors).

    ``cv2.boxFilter(normalize=False, BORDER_CONSTANT)`` accumulates float32 input in double, so the
    result is at least as accurate as the official 121-tap float32 convolution.
    """
    import cv2

    a = g.numpy()
    out = np.empty_like(a)
    k = 2 * r + 1
    for i in range(a.shape[0]):
        for c in range(a.shape[1]):
            cv2.boxFilter(
                a[i, c],
                -1,
                (k, k),
                dst=out[i, c],
                anchor=(-1, -1),
                normalize=False,
                borderType=cv2.BORDER_CONSTANT,
            )
    return torch.from_numpy(out)


def _energy_plane(f: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
    """One plane of :func:`methods._sesf_net.gradient_energy` (``sum_channels=False``) into ``g``.

    Same float32 operations in the same order as the torch version (horizontal term, then the
    vertical one added), so the values are bit-identical; ``tmp`` is an (H-1)xW scratch plane.
    """
    np.square(f[:, :1], out=g[:, :1])
    np.subtract(f[:, 1:], f[:, :-1], out=g[:, 1:])
    np.square(g[:, 1:], out=g[:, 1:])
    g[:1] += np.square(f[:1])
    np.subtract(f[1:], f[:-1], out=tmp)
    np.square(tmp, out=tmp)
    np.add(g[1:], tmp, out=g[1:])


def channel_sf_into(
    feat: torch.Tensor, out: torch.Tensor, r: int = SF_RADIUS, threads: int = 0
) -> torch.Tensor:
    """:func:`channel_sf` of a contiguous float32 CPU 1xCxHxW tensor into ``out`` (bit-identical).

    Gradient energy and window sum are done plane by plane (one HxW scratch per worker instead of two
    CxHxW temporaries), the channels shared among ``threads`` workers (default: torch's thread
    count); NumPy and OpenCV release the GIL, and every plane is computed exactly as in
    :func:`channel_sf`, so the result does not depend on the thread count.
    """
    if (
        feat.device.type != "cpu"
        or feat.dtype != torch.float32
        or feat.shape[0] != 1
        or not feat.is_contiguous()
        or out.shape != feat.shape
        or out.dtype != feat.dtype
        or not out.is_contiguous()
    ):
        raise ValueError("Expected contiguous float32 CPU 1xCxHxW tensors of one shape")
    import cv2

    f = feat.numpy()[0]
    o = out.numpy()[0]
    c, h, w = f.shape
    k = 2 * r + 1
    workers = max(1, min(threads or torch.get_num_threads(), c))

    def run(part: range) -> None:
        g = np.empty((h, w), np.float32)
        tmp = np.empty((max(h - 1, 0), w), np.float32)
        for i in part:
            _energy_plane(f[i], g, tmp)
            cv2.boxFilter(
                g, -1, (k, k), dst=o[i], anchor=(-1, -1), normalize=False, borderType=cv2.BORDER_CONSTANT
            )

    parts = [range(j, c, workers) for j in range(workers)]
    if workers == 1:
        run(parts[0])
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, parts))
    return out


def channel_sf(feat: torch.Tensor, r: int = SF_RADIUS) -> torch.Tensor:
    """Per-channel SF of deep features: (2r+1)^2 zero-padded window sum of the gradient energy.

    Separable (rows, then columns) float32 window sum; the official code uses one 11x11 depthwise
    convolution, which differs only in summation order (~1e-6 relative).
    """
    g = gradient_energy(feat, sum_channels=False)
    if g.device.type == "cpu" and g.dtype == torch.float32 and g.is_contiguous() and not g.requires_grad:
        return window_sum_cpu(g, r)
    c = g.shape[1]
    k = 2 * r + 1
    wv = torch.ones((c, 1, k, 1), dtype=g.dtype, device=g.device)
    wh = torch.ones((c, 1, 1, k), dtype=g.dtype, device=g.device)
    return F.conv2d(F.conv2d(g, wv, padding=(r, 0), groups=c), wh, padding=(0, r), groups=c)


def soft_decision(sf_a: torch.Tensor, sf_b: torch.Tensor) -> torch.Tensor:
    """``sigmoid(1000 * (SF_A - SF_B))`` per channel (the SF fusion layer), in one new tensor."""
    return torch.sub(sf_a, sf_b).mul_(SHARPNESS).sigmoid_()
