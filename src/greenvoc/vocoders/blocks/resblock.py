"""HiFi-GAN's multi-receptive-field residual blocks (Kong et al., 2020), shared with iSTFTNet."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.blocks.conv import conv1d

RESBLOCK_SLOPE = 0.1


class ResBlock1(nn.Module):
    """Per dilation d: x += conv(1)(lrelu(conv(d)(lrelu(x)))). Keys: ``convs1.i``, ``convs2.i``."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(conv1d(channels, channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(conv1d(channels, channels, kernel_size) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, RESBLOCK_SLOPE)), RESBLOCK_SLOPE))
        return x


class ResBlock2(nn.Module):
    """Per dilation d: x += conv(d)(lrelu(x)). Keys: ``convs.i``."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(conv1d(channels, channels, kernel_size, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in self.convs:
            x = x + c(F.leaky_relu(x, RESBLOCK_SLOPE))
        return x


class MRF(nn.Module):
    """Multi-receptive-field fusion: the mean of one residual block per kernel size."""

    def __init__(self, kind: str, channels: int, kernel_sizes: tuple[int, ...],
                 dilations: tuple[tuple[int, ...], ...]) -> None:
        super().__init__()
        block = {"1": ResBlock1, "2": ResBlock2}[kind]
        self.blocks = nn.ModuleList(
            block(channels, k, d) for k, d in zip(kernel_sizes, dilations, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Accumulate in place: one buffer instead of a new tensor per block (every block's
        # output is a fresh tensor, so autograd is unaffected).
        out = self.blocks[0](x)
        for block in self.blocks[1:]:
            out.add_(block(x))
        return out.div_(len(self.blocks))
