"""Convolution helpers shared by every family."""

from __future__ import annotations

from torch import nn


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the length of a stride-1 convolution (odd kernels)."""
    return (kernel_size * dilation - dilation) // 2


def conv1d(in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1, bias: bool = True
           ) -> nn.Conv1d:
    """A length-preserving Conv1d."""
    return nn.Conv1d(in_ch, out_ch, kernel_size, dilation=dilation,
                     padding=same_padding(kernel_size, dilation), bias=bias)


def upsample_conv(in_ch: int, out_ch: int, kernel_size: int, stride: int) -> nn.ConvTranspose1d:
    """Transposed conv that multiplies the length by ``stride`` exactly when
    ``kernel_size - stride`` is even (padding ``(k - u) / 2``), as HiFi-GAN and MelGAN use."""
    return nn.ConvTranspose1d(in_ch, out_ch, kernel_size, stride,
                              padding=(kernel_size - stride) // 2)
