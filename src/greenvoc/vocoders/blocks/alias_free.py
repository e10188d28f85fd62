"""BigVGAN's periodic activations and their anti-aliased application (Lee et al., ICLR 2023).

Snake: ``x + sin²(α·x) / α``; SnakeBeta: ``x + sin²(α·x) / β``, one α (and β) per channel,
stored as logarithms when ``logscale`` (BigVGAN's ``snake_logscale: true``). The activation is
applied at twice the sample rate: upsample ×2 with a Kaiser-windowed sinc low-pass, activate,
low-pass and decimate ×2 (kernel 12, cut-off 0.25, half-width 0.3 of the doubled rate), as in
NVIDIA/BigVGAN ``alias_free_activation/torch``. Parameter names follow that code (``act.alpha``,
``act.beta``) so checkpoints load without renaming; the filters are computed, not loaded.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

SNAKE_EPS = 1e-9  # keeps 1/α finite, as the official code does


class Snake(nn.Module):
    """x + sin²(α·x)/α per channel; x: (B, C, T)."""

    def __init__(self, channels: int, logscale: bool = True) -> None:
        super().__init__()
        self.logscale = logscale
        self.alpha = nn.Parameter(torch.zeros(channels) if logscale else torch.ones(channels))

    def _scale(self, p: torch.Tensor) -> torch.Tensor:
        p = p[None, :, None]
        return p.exp() if self.logscale else p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self._scale(self.alpha)
        return x + torch.sin(x * alpha).pow(2) / (alpha + SNAKE_EPS)


class SnakeBeta(Snake):
    """x + sin²(α·x)/β per channel: frequency (α) and magnitude (β) learnt separately."""

    def __init__(self, channels: int, logscale: bool = True) -> None:
        super().__init__(channels, logscale)
        self.beta = nn.Parameter(torch.zeros(channels) if logscale else torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha, beta = self._scale(self.alpha), self._scale(self.beta)
        return x + torch.sin(x * alpha).pow(2) / (beta + SNAKE_EPS)


def kaiser_sinc_filter(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """Low-pass FIR, (1, 1, kernel_size), unit DC gain; cutoff and half_width in cycles/sample.

    The Kaiser β follows Kaiser's formula for the attenuation a transition band of
    ``4·half_width`` allows (as julius / alias-free-torch compute it).
    """
    half = kernel_size // 2
    attenuation = 2.285 * (half - 1) * math.pi * 4 * half_width + 7.95
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(kernel_size, periodic=False, beta=beta)
    if kernel_size % 2 == 0:
        t = torch.arange(-half, half) + 0.5
    else:
        t = torch.arange(kernel_size) - half
    taps = 2 * cutoff * window * torch.sinc(2 * cutoff * t)
    return (taps / taps.sum()).view(1, 1, kernel_size)


class UpSample1d(nn.Module):
    """(B, C, T) → (B, C, ratio·T): replicate-pad, zero-stuff by transposed conv, low-pass."""

    def __init__(self, ratio: int = 2, kernel_size: int = 12) -> None:
        super().__init__()
        self.ratio = ratio
        self.pad = kernel_size // ratio - 1
        self.crop_left = self.pad * ratio + (kernel_size - ratio) // 2
        self.crop_right = self.pad * ratio + (kernel_size - ratio + 1) // 2
        self.register_buffer("filter", kaiser_sinc_filter(0.5 / ratio, 0.6 / ratio, kernel_size),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad, self.pad), mode="replicate")
        x = F.conv_transpose1d(x, self.filter.expand(channels, -1, -1), stride=self.ratio,
                               groups=channels)
        return self.ratio * x[..., self.crop_left: x.shape[-1] - self.crop_right]


class DownSample1d(nn.Module):
    """(B, C, ratio·T) → (B, C, T): replicate-pad, low-pass, keep every ``ratio``-th sample."""

    def __init__(self, ratio: int = 2, kernel_size: int = 12) -> None:
        super().__init__()
        self.ratio = ratio
        even = kernel_size % 2 == 0
        self.pad_left = kernel_size // 2 - int(even)
        self.pad_right = kernel_size // 2
        self.register_buffer("filter", kaiser_sinc_filter(0.5 / ratio, 0.6 / ratio, kernel_size),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad_left, self.pad_right), mode="replicate")
        return F.conv1d(x, self.filter.expand(channels, -1, -1), stride=self.ratio,
                        groups=channels)


class AntiAliasedActivation(nn.Module):
    """Upsample ×2 → activation → downsample ×2; x: (B, C, T) → (B, C, T)."""

    def __init__(self, activation: nn.Module, ratio: int = 2, kernel_size: int = 12) -> None:
        super().__init__()
        self.act = activation
        self.upsample = UpSample1d(ratio, kernel_size)
        self.downsample = DownSample1d(ratio, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))


def snake_activation(kind: str, channels: int, logscale: bool) -> Snake:
    """``"snake"`` or ``"snakebeta"`` (BigVGAN's ``activation`` field)."""
    if kind == "snake":
        return Snake(channels, logscale)
    if kind == "snakebeta":
        return SnakeBeta(channels, logscale)
    raise ValueError(f"activation must be 'snake' or 'snakebeta', got {kind!r}")
