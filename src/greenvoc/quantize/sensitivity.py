"""Which layers int8 hurts most: each convolution quantized alone, the audio compared to fp32.

The simulation mirrors onnxruntime's static QDQ recipe in PyTorch (fake quantization, float
compute): the layer's input and output rounded to uint8 with MinMax ranges from the
calibration mels, its weight rounded to int8 per output channel. One forward per layer on an
evaluation mel; the quality delta is the SNR (dB) of the whole model's audio against fp32 —
lower is more fragile. On HiFi-GAN V1 this costs ~80 forwards of a short clip.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from greenvoc.quantize.report import snr_db
from greenvoc.quantize.torch_variants import (
    _weight_axis,
    dequantize_per_channel,
    quantize_per_channel,
)

CONV_TYPES: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.ConvTranspose1d)


@dataclass(frozen=True)
class LayerSensitivity:
    """layer: ``named_modules`` name; kind: module type; snr_db: model audio vs fp32 with only
    this layer int8; onnx_node: the node name the TorchScript ONNX exporter gives it."""

    layer: str
    kind: str
    snr_db: float
    onnx_node: str

    def to_dict(self) -> dict:
        return asdict(self)


def onnx_node_name(layer: str, module: nn.Module) -> str:
    """``mrfs.0.blocks.1.convs1.2`` → ``/mrfs.0/blocks.1/convs1.2/Conv`` (list indices stay
    attached to their container, as ``torch.onnx.export`` scopes them)."""
    parts: list[str] = []
    for part in layer.split("."):
        if part.isdigit() and parts:
            parts[-1] += f".{part}"
        else:
            parts.append(part)
    op = "ConvTranspose" if isinstance(module, nn.ConvTranspose1d) else "Conv"
    return "/" + "/".join(parts) + f"/{op}"


def fake_uint8(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Round ``x`` to 256 levels over [min(lo, 0), max(hi, 0)] (onnxruntime's asymmetric
    uint8, zero exactly representable)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-12) / 255
    zero = round(-lo / scale)
    q = torch.clamp(torch.round(x / scale) + zero, 0, 255)
    return (q - zero) * scale


def _ranges(module: nn.Module, mels: list[torch.Tensor]) -> dict[str, tuple[float, ...]]:
    """(input min, input max, output min, output max) of every conv over ``mels``."""
    seen: dict[str, list[float]] = {}
    hooks = []
    for name, m in module.named_modules():
        if isinstance(m, CONV_TYPES):
            def hook(_m, args, out, name=name):
                x = args[0]
                r = [float(x.min()), float(x.max()), float(out.min()), float(out.max())]
                old = seen.get(name, r)
                seen[name] = [min(old[0], r[0]), max(old[1], r[1]),
                              min(old[2], r[2]), max(old[3], r[3])]
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            for mel in mels:
                module(mel.reshape(1, *mel.shape[-2:]))
    finally:
        for h in hooks:
            h.remove()
    return {k: tuple(v) for k, v in seen.items()}


def layer_sensitivity(module: nn.Module, calibration: list[torch.Tensor],
                      evaluation: torch.Tensor) -> list[LayerSensitivity]:
    """Every Conv1d/ConvTranspose1d of ``module`` quantized alone; most fragile first.

    calibration: (n_mels, T) mels for the activation ranges; evaluation: one (n_mels, T) mel
    the audio is compared on (keep it short: one forward per layer)."""
    model = copy.deepcopy(module).eval()
    ranges = _ranges(model, calibration)
    x = evaluation.reshape(1, *evaluation.shape[-2:])
    with torch.inference_mode():
        reference = model(x).flatten()
    table = []
    for name, m in model.named_modules():
        if not isinstance(m, CONV_TYPES) or name not in ranges:
            continue
        in_lo, in_hi, out_lo, out_hi = ranges[name]
        original = m.weight.data.clone()
        axis = _weight_axis(m)
        m.weight.data = dequantize_per_channel(*quantize_per_channel(original, axis), axis)
        pre = m.register_forward_pre_hook(
            lambda _m, args, lo=in_lo, hi=in_hi: (fake_uint8(args[0], lo, hi),))
        post = m.register_forward_hook(
            lambda _m, _a, out, lo=out_lo, hi=out_hi: fake_uint8(out, lo, hi))
        try:
            with torch.inference_mode():
                audio = model(x).flatten()
        finally:
            pre.remove()
            post.remove()
            m.weight.data = original
        table.append(LayerSensitivity(name, type(m).__name__, snr_db(audio, reference),
                                      onnx_node_name(name, m)))
    return sorted(table, key=lambda r: r.snr_db)


def fragile_layers(table: list[LayerSensitivity], target_snr_db: float,
                   max_layers: int) -> list[LayerSensitivity]:
    """The fewest layers to keep float so that the rest, all int8, stays above
    ``target_snr_db``: worst first, until the summed noise of the others (errors of distinct
    layers taken as independent, their powers adding) is under the target; at most
    ``max_layers``."""
    budget = 10 ** (-target_snr_db / 10)
    noise = [10 ** (-r.snr_db / 10) for r in table]  # table is sorted, worst first
    for n in range(min(max_layers, len(table)) + 1):
        if sum(noise[n:]) <= budget:
            return table[:n]
    return table[:max_layers]


def predicted_snr_db(table: list[LayerSensitivity], kept_float: list[LayerSensitivity]
                     ) -> float:
    """SNR (dB) the additive-noise model predicts with ``kept_float`` left out."""
    skip = {r.layer for r in kept_float}
    noise = sum(10 ** (-r.snr_db / 10) for r in table if r.layer not in skip)
    return float("inf") if noise == 0 else -10 * math.log10(noise)
