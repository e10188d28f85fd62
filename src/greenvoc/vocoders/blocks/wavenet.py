"""WaveNet's gated dilated residual stack (van den Oord et al., 2016), shared by Parallel WaveGAN,
the WaveNet vocoder, WaveGlow's coupling networks and DiffWave.

One layer, for a residual input x (B, C_res, T) and a conditioning signal c (B, C_aux, T)::

    y = conv_k,d(x + shift) + aux_1x1(c)           (B, C_gate, T)
    z = tanh(y_a) · σ(y_b)    (y_a, y_b the two halves of y; DiffWave puts σ first)
    skip = skip_1x1(z)                              (B, C_skip, T)
    x'   = (x + out_1x1(z)) · residual_scale        (B, C_res, T)

The families differ only in configuration: gate order, residual scale (√½ or 1), causal or
centred dilated convolution, whether the last layer has a residual output (WaveGlow's has not),
and how the skips are merged. Fused official convolutions (WaveGlow's ``res_skip_layers``,
DiffWave's ``output_projection``, WaveGlow's all-layer ``cond_layer``) are split into these
per-layer 1×1 convolutions by the family loaders: same parameters, same arithmetic.

Causal stacks also run incrementally, one sample at a time, with a queue of the last
``(k − 1)·d + 1`` inputs per layer (Paine et al., "Fast WaveNet", arXiv 1611.09482): a step costs
one matrix-vector product per convolution instead of a convolution over the whole past.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

SkipMerge = Literal["sqrt-mean", "halving", "sum"]


class GatedResidualLayer(nn.Module):
    """One gated residual layer (see the module docstring). Keys: ``conv``, ``aux``, ``out``,
    ``skip``; ``aux`` is None without conditioning, ``out`` None for a skip-only last layer."""

    def __init__(
        self,
        residual_channels: int,
        gate_channels: int,
        skip_channels: int,
        aux_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        causal: bool = False,
        aux_bias: bool = True,
        residual_out: bool = True,
        sigmoid_first: bool = False,
        residual_scale: float = math.sqrt(0.5),
    ) -> None:
        super().__init__()
        if gate_channels % 2:
            raise ValueError(f"gate_channels must be even, got {gate_channels}")
        if not causal and kernel_size % 2 == 0:
            raise ValueError("a centred dilated convolution needs an odd kernel size")
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.causal = causal
        self.sigmoid_first = sigmoid_first
        self.residual_scale = residual_scale
        self.receptive_field = (kernel_size - 1) * dilation + 1
        pad = 0 if causal else (kernel_size - 1) // 2 * dilation
        self.conv = nn.Conv1d(residual_channels, gate_channels, kernel_size, dilation=dilation,
                              padding=pad)
        half = gate_channels // 2
        self.aux = (nn.Conv1d(aux_channels, gate_channels, 1, bias=aux_bias)
                    if aux_channels else None)
        self.out = nn.Conv1d(half, residual_channels, 1) if residual_out else None
        self.skip = nn.Conv1d(half, skip_channels, 1)

    def _gate(self, y: torch.Tensor, dim: int) -> torch.Tensor:
        a, b = y.chunk(2, dim=dim)
        if self.sigmoid_first:
            return torch.sigmoid(a) * torch.tanh(b)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None,
                shift: torch.Tensor | None = None) -> tuple[torch.Tensor | None, torch.Tensor]:
        """x: (B, C_res, T); c: (B, C_aux, T) or None; shift: (B, C_res, 1) added to the
        dilated convolution's input only. Returns (x' or None, skip)."""
        h = x if shift is None else x + shift
        if self.causal:
            h = F.pad(h, ((self.kernel_size - 1) * self.dilation, 0))
        y = self.conv(h)
        if self.aux is not None and c is not None:
            y = y + self.aux(c)
        z = self._gate(y, dim=1)
        skip = self.skip(z)
        if self.out is None:
            return None, skip
        return (x + self.out(z)) * self.residual_scale, skip

    # -- incremental (causal) inference ------------------------------------------------------
    def new_queue(self, batch: int, channels: int, like: torch.Tensor) -> torch.Tensor:
        """An all-zero queue of past inputs, (B, C_res, receptive_field): the zero padding of
        the causal convolution."""
        return like.new_zeros(batch, channels, self.receptive_field)

    def step_weights(self) -> tuple[torch.Tensor, ...]:
        """The weights of :meth:`step` as matrices, taken once per generation: the dilated
        convolution flattened to (C_gate, C_res·k), the residual and skip 1×1s fused."""
        if self.out is None:
            raise ValueError("incremental inference needs a residual output on every layer")
        res_skip_w = torch.cat((self.out.weight[:, :, 0], self.skip.weight[:, :, 0]))
        res_skip_b = torch.cat((self.out.bias, self.skip.bias))
        return (self.conv.weight.reshape(self.conv.out_channels, -1), self.conv.bias,
                res_skip_w, res_skip_b)

    def step(self, x: torch.Tensor, aux_t: torch.Tensor | None, queue: torch.Tensor,
             weights: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One causal step. x: (B, C_res) the newest input; aux_t: (B, C_gate), the already
        projected conditioning at this step (``aux(c)[..., t]``); queue: from :meth:`new_queue`
        or the previous step; weights: from :meth:`step_weights`. Returns (x', skip, queue)."""
        conv_w, conv_b, res_skip_w, res_skip_b = weights
        queue = torch.cat((queue[:, :, 1:], x.unsqueeze(-1)), dim=-1)
        taps = queue[:, :, :: self.dilation]  # (B, C_res, k): inputs t-(k-1)d, …, t
        y = F.linear(taps.reshape(taps.shape[0], -1), conv_w, conv_b)
        if aux_t is not None:
            y = y + aux_t
        rs = F.linear(self._gate(y, dim=-1), res_skip_w, res_skip_b)
        channels = x.shape[-1]
        return (x + rs[:, :channels]) * self.residual_scale, rs[:, channels:], queue


class WaveNetStack(nn.Module):
    """``layers`` gated residual layers in ``stacks`` dilation cycles (dilation 2^(i mod L/S)).

    skip_merge: how the skips add up, as the official code does it — ``"sqrt-mean"`` (sum/√L:
    Parallel WaveGAN, DiffWave), ``"halving"`` (s ← (s + h)·√½ from the second layer: r9y9's
    WaveNet up to v0.1.1) or ``"sum"`` (WaveGlow).
    """

    def __init__(self, layers: int, stacks: int, residual_channels: int, gate_channels: int,
                 skip_channels: int, aux_channels: int, kernel_size: int = 3,
                 causal: bool = False, aux_bias: bool = True, sigmoid_first: bool = False,
                 residual_scale: float = math.sqrt(0.5), last_residual_out: bool = True,
                 skip_merge: SkipMerge = "sqrt-mean") -> None:
        super().__init__()
        if layers % stacks:
            raise ValueError(f"layers ({layers}) must be a multiple of stacks ({stacks})")
        per_stack = layers // stacks
        self.residual_channels = residual_channels
        self.skip_merge = skip_merge
        self.layers = nn.ModuleList(
            GatedResidualLayer(
                residual_channels, gate_channels, skip_channels, aux_channels, kernel_size,
                dilation=2 ** (i % per_stack), causal=causal, aux_bias=aux_bias,
                residual_out=last_residual_out or i < layers - 1, sigmoid_first=sigmoid_first,
                residual_scale=residual_scale,
            )
            for i in range(layers)
        )

    @property
    def receptive_field(self) -> int:
        return sum(layer.receptive_field - 1 for layer in self.layers) + 1

    def _merge(self, total: torch.Tensor | None, skip: torch.Tensor) -> torch.Tensor:
        if total is None:
            return skip
        if self.skip_merge == "halving":
            return (total + skip) * math.sqrt(0.5)
        return total + skip

    def _finish(self, total: torch.Tensor) -> torch.Tensor:
        if self.skip_merge == "sqrt-mean":
            return total * math.sqrt(1.0 / len(self.layers))
        return total

    def forward(self, x: torch.Tensor, c: torch.Tensor | None,
                shifts: list[torch.Tensor] | None = None) -> torch.Tensor:
        """x: (B, C_res, T); c: (B, C_aux, T) or None; shifts: one (B, C_res, 1) per layer or
        None. Returns the merged skips (B, C_skip, T)."""
        total = None
        for i, layer in enumerate(self.layers):
            res, skip = layer(x, c, None if shifts is None else shifts[i])
            total = self._merge(total, skip)
            if res is not None:
                x = res
        assert total is not None
        return self._finish(total)

    def new_queues(self, batch: int, like: torch.Tensor) -> list[torch.Tensor]:
        return [layer.new_queue(batch, self.residual_channels, like) for layer in self.layers]

    def project_aux(self, c: torch.Tensor) -> list[torch.Tensor | None]:
        """Every layer's conditioning projection of c (B, C_aux, T) → (B, T, C_gate), computed
        once per chunk rather than per step."""
        return [None if layer.aux is None else layer.aux(c).transpose(1, 2)
                for layer in self.layers]

    def step_weights(self) -> list[tuple[torch.Tensor, ...]]:
        return [layer.step_weights() for layer in self.layers]

    def step(self, x: torch.Tensor, aux_t: list[torch.Tensor | None],
             queues: list[torch.Tensor], weights: list[tuple[torch.Tensor, ...]]
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One causal step of the whole stack: x (B, C_res) → merged skips (B, C_skip).
        ``weights`` from :meth:`step_weights`."""
        total = None
        new_queues = []
        for layer, a, q, w in zip(self.layers, aux_t, queues, weights, strict=True):
            x, skip, q = layer.step(x, a, q, w)
            new_queues.append(q)
            total = self._merge(total, skip)
        assert total is not None
        return self._finish(total), new_queues
