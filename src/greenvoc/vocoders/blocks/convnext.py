"""Vocos's ConvNeXt block (Siuzdak, 2023; gemelo-ai/vocos ``vocos/modules.py``), without the
adaptive LayerNorm (the mel vocoders use a plain LayerNorm).

Keys match the official checkpoints: ``dwconv``, ``norm``, ``pwconv1``, ``pwconv2``, ``gamma``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LAYER_NORM_EPS = 1e-6


class ConvNeXtBlock(nn.Module):
    """x (B, dim, T) → x + γ · pw2(GELU(pw1(LN(dwconv7(x))))), same shape."""

    def __init__(self, dim: int, intermediate_dim: int, layer_scale_init: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)  # (B, T, dim): LayerNorm and Linear act on channels
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)
