"""int8 per-channel weight storage: the round trip error is bounded by half a step."""

from __future__ import annotations

import torch
from torch import nn

from greenvoc.quantize.torch_variants import (
    dequantize_per_channel,
    int8_weight_state,
    load_int8_weights,
    quantize_per_channel,
)


def test_round_trip_error_is_at_most_half_a_step_per_channel():
    w = torch.randn(6, 4, 5) * torch.arange(1, 7).reshape(6, 1, 1)  # channels of unlike range
    q, scale = quantize_per_channel(w, axis=0)
    assert q.dtype == torch.int8 and scale.shape == (6,)
    err = (dequantize_per_channel(q, scale, axis=0) - w).abs().amax(dim=(1, 2))
    assert torch.all(err <= scale / 2 + 1e-7)


def test_conv_transpose_is_scaled_along_its_output_channels():
    module = nn.Sequential(nn.Conv1d(3, 8, 3), nn.ConvTranspose1d(8, 5, 4, 2))
    state = int8_weight_state(module)
    assert state["0.weight"].dtype == torch.int8 and state["0.weight.scale"].shape == (8,)
    assert state["1.weight.scale"].shape == (5,)  # (in, out, k): axis 1
    assert state["1.bias"].dtype == torch.float32
    copy = nn.Sequential(nn.Conv1d(3, 8, 3), nn.ConvTranspose1d(8, 5, 4, 2))
    load_int8_weights(copy, state)
    x = torch.randn(1, 3, 20)
    assert torch.allclose(copy(x), module(x), atol=0.05)
