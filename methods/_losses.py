"""SSIM-based training losses shared by the re-implemented methods (torch; imported lazily).

SSIM follows Wang et al. 2004 (doi:10.1109/TIP.2003.819861): 11x11 Gaussian window, sigma 1.5,
C1 = 0.01^2, C2 = 0.03^2 for data in [0, 1], 'valid' windows (no padding enters a window).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

C1 = 0.01**2
C2 = 0.03**2


def gaussian_window(size: int = 11, sigma: float = 1.5, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 2-D Gaussian window shaped (1, 1, size, size)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).to(device=device, dtype=dtype)[None, None]


def _filt(x: torch.Tensor, w: torch.Tensor, pad: int = 0) -> torch.Tensor:
    return F.conv2d(x, w, padding=pad)


def local_stats(x: torch.Tensor, w: torch.Tensor, pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Windowed mean and variance of an (B, 1, H, W) tensor ('valid' windows, or zero padding ``pad``)."""
    mu = _filt(x, w, pad)
    return mu, _filt(x * x, w, pad) - mu * mu


def ssim_map(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, pad: int = 0) -> torch.Tensor:
    """Per-window SSIM between two (B, 1, H, W) tensors in [0, 1]."""
    mx, vx = local_stats(x, w, pad)
    my, vy = local_stats(y, w, pad)
    cxy = _filt(x * y, w, pad) - mx * my
    return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))


def ssim(
    x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5, same: bool = False
) -> torch.Tensor:
    """Mean SSIM over windows and batch; ``same=True`` zero-pads to 'same' size (SESF's training SSIM)."""
    w = gaussian_window(window, sigma, x.device, x.dtype)
    return ssim_map(x, y, w, window // 2 if same else 0).mean()


def var_ssim_loss(
    a: torch.Tensor, b: torch.Tensor, fused: torch.Tensor, window: int = 11, sigma: float = 1.5
):
    """FMM's loss (Rao et al., eq. 3-5): ``1 - mean_W SSIM(I_sel, F)``.

    In every 11x11 window the source with the larger local variance is the one compared with the
    fused image. Windows are Gaussian-weighted (sigma 1.5, our choice; the paper says only 11x11).
    """
    w = gaussian_window(window, sigma, a.device, a.dtype)
    _, va = local_stats(a, w)
    _, vb = local_stats(b, w)
    sa = ssim_map(a, fused, w)
    sb = ssim_map(b, fused, w)
    return 1.0 - torch.where(va > vb, sa, sb).mean()
