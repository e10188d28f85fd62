"""Location-variable convolution (LVCNet, Zeng et al. 2021) as UnivNet uses it (Jang et al. 2021).

A kernel predictor turns the mel into one convolution kernel and bias per mel frame and layer;
each frame's ``hop`` samples are convolved with that frame's kernel; a gated activation unit
(sigmoid · tanh over the two halves of 2C outputs) adds the result to the residual path.

Module names follow maum-ai/univnet ``model/lvcnet.py`` where that keeps loading simple.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.blocks.conv import conv1d


def location_variable_conv(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor,
                           hop: int) -> torch.Tensor:
    """x: (B, C_in, L·hop); kernel: (B, C_in, C_out, K, L); bias: (B, C_out, L)
    → (B, C_out, L·hop). Frame l's ``hop`` output samples use kernel[..., l] (zero padding
    at the ends of the whole sequence, neighbouring frames' samples inside it)."""
    batch, _, length = x.shape
    _, _, c_out, k, frames = kernel.shape
    if length != frames * hop:
        raise ValueError(f"LVC: input has {length} samples, kernels cover {frames}×{hop}")
    pad = (k - 1) // 2
    windows = F.pad(x, (pad, pad)).unfold(2, hop + 2 * pad, hop)  # (B, C_in, L, hop + 2·pad)
    taps = windows.unfold(3, k, 1)  # (B, C_in, L, hop, K)
    # one (hop × C_in·K) @ (C_in·K × C_out) product per (item, frame): a batched matmul keeps
    # each item's result independent of the batch size
    taps = taps.permute(0, 2, 3, 1, 4).reshape(batch * frames, hop, -1)
    weights = kernel.permute(0, 4, 1, 3, 2).reshape(batch * frames, -1, c_out)
    out = torch.bmm(taps, weights).view(batch, frames, hop, c_out)
    out = out.permute(0, 3, 1, 2) + bias.unsqueeze(-1)  # (B, C_out, L, hop)
    return out.reshape(batch, c_out, frames * hop)


class KernelPredictor(nn.Module):
    """cond (B, cond_ch, L) → kernels (B, layers, C_in, C_out, K, L), biases (B, layers, C_out, L).

    A 5-tap input conv, three residual pairs of convs, and two output convs, LeakyReLU between.
    """

    def __init__(self, cond_channels: int, in_channels: int, out_channels: int, layers: int,
                 kernel_size: int = 3, hidden: int = 64, conv_size: int = 3,
                 slope: float = 0.2, residual_pairs: int = 3) -> None:
        super().__init__()
        self.shape = (layers, in_channels, out_channels, kernel_size)
        self.slope = slope
        self.input_conv = conv1d(cond_channels, hidden, 5)
        self.residual_convs = nn.ModuleList(
            nn.ModuleList([conv1d(hidden, hidden, conv_size), conv1d(hidden, hidden, conv_size)])
            for _ in range(residual_pairs)
        )
        self.kernel_conv = conv1d(hidden, layers * in_channels * out_channels * kernel_size,
                                  conv_size)
        self.bias_conv = conv1d(hidden, layers * out_channels, conv_size)

    def forward(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, frames = cond.shape
        h = F.leaky_relu(self.input_conv(cond), self.slope)
        for first, second in self.residual_convs:
            h = h + F.leaky_relu(second(F.leaky_relu(first(h), self.slope)), self.slope)
        layers, c_in, c_out, k = self.shape
        kernels = self.kernel_conv(h).view(batch, layers, c_in, c_out, k, frames)
        biases = self.bias_conv(h).view(batch, layers, c_out, frames)
        return kernels, biases


class LVCBlock(nn.Module):
    """x (B, C, L') → (B, C, stride·L'), conditioned on cond (B, cond_ch, L) with
    stride·L' = L·cond_hop: transposed-conv upsampling, then per dilation a dilated conv whose
    output goes through a location-variable conv and a gated unit into the residual."""

    def __init__(self, channels: int, cond_channels: int, stride: int,
                 dilations: tuple[int, ...], cond_hop: int, slope: float = 0.2,
                 kernel_size: int = 3, kpnet_hidden: int = 64, kpnet_conv_size: int = 3) -> None:
        super().__init__()
        self.cond_hop = cond_hop
        self.slope = slope
        self.kernel_predictor = KernelPredictor(
            cond_channels, channels, 2 * channels, len(dilations), kernel_size,
            kpnet_hidden, kpnet_conv_size, slope,
        )
        # kernel 2·stride, padding and output_padding keep the length exactly stride·L'
        self.convt_pre = nn.ConvTranspose1d(channels, channels, 2 * stride, stride=stride,
                                            padding=stride // 2 + stride % 2,
                                            output_padding=stride % 2)
        self.conv_blocks = nn.ModuleList(
            conv1d(channels, channels, kernel_size, d) for d in dilations
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = self.convt_pre(F.leaky_relu(x, self.slope))
        kernels, biases = self.kernel_predictor(cond)
        for i, conv in enumerate(self.conv_blocks):
            h = F.leaky_relu(conv(F.leaky_relu(x, self.slope)), self.slope)
            h = location_variable_conv(h, kernels[:, i], biases[:, i], self.cond_hop)
            x = x + torch.sigmoid(h[:, :channels]) * torch.tanh(h[:, channels:])
        return x
