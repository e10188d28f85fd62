"""Cross-layer equalization (Nagel et al., "Data-Free Quantization", ICCV 2019).

Between two convolutions joined by a positively homogeneous activation (LeakyReLU:
``f(x/s) = f(x)/s`` for s > 0), output channel i of the first can be divided by ``s_i`` and
input channel i of the second multiplied by it without changing the function. With
``s_i = sqrt(r1_i / r2_i)`` (r1: range of the first's output channel, r2: of the second's input
channel) both ranges become ``sqrt(r1_i · r2_i)``: per-tensor activations of the first conv's
output lose less resolution to a few wide channels, and the second conv's per-output-channel
weight scales stop being set by one large input channel.

In HiFi-GAN's ResBlock1 the pairs are ``convs1.i → LeakyReLU → convs2.i``; elsewhere a conv's
output feeds a residual sum, which equalization would change, so nothing else is paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from greenvoc.vocoders.blocks.resblock import ResBlock1


@dataclass(frozen=True)
class EqualizedPair:
    first: str
    second: str
    range_ratio_before: float  # max / min of the channel ranges of the first's output
    range_ratio_after: float


def equalizable_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """(first, second) conv names joined by one LeakyReLU and nothing else."""
    pairs = []
    for name, m in module.named_modules():
        if isinstance(m, ResBlock1):
            prefix = f"{name}." if name else ""
            pairs += [(f"{prefix}convs1.{i}", f"{prefix}convs2.{i}")
                      for i in range(len(m.convs1))]
    return pairs


def _ratio(r: torch.Tensor) -> float:
    return float(r.max() / r.min().clamp(min=1e-12))


def equalize(module: nn.Module, iterations: int = 1) -> list[EqualizedPair]:
    """Equalize every pair of ``module`` in place (the function is unchanged up to float
    rounding); returns what was done."""
    done = []
    with torch.no_grad():
        for first_name, second_name in equalizable_pairs(module):
            first, second = module.get_submodule(first_name), module.get_submodule(second_name)
            before = None
            for _ in range(iterations):
                r1 = first.weight.abs().amax(dim=(1, 2)).clamp(min=1e-8)   # (out,)
                r2 = second.weight.abs().amax(dim=(0, 2)).clamp(min=1e-8)  # (in,)
                before = before if before is not None else _ratio(r1)
                s = torch.sqrt(r1 / r2)
                first.weight.div_(s[:, None, None])
                if first.bias is not None:
                    first.bias.div_(s)
                second.weight.mul_(s[None, :, None])
            after = _ratio(first.weight.abs().amax(dim=(1, 2)))
            done.append(EqualizedPair(first_name, second_name, before, after))
    return done


@dataclass(frozen=True)
class StreamScaling:
    stage: int
    channels: int
    range_ratio_before: float  # max / min of the stream's channel ranges
    range_ratio_after: float


def _stream_ranges(module: nn.Module, mels: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per stage of a HiFi-GAN trunk: max |x_c| of the residual stream (the upsampling
    layer's output) over ``mels``."""
    ranges: dict[int, torch.Tensor] = {}
    hooks = []
    for i, up in enumerate(module.ups):
        def hook(_m, _a, out, i=i):
            r = out.detach().abs().amax(dim=(0, 2))
            ranges[i] = torch.maximum(ranges[i], r) if i in ranges else r
        hooks.append(up.register_forward_hook(hook))
    try:
        with torch.no_grad():
            for mel in mels:
                module(mel.reshape(1, *mel.shape[-2:]))
    finally:
        for h in hooks:
            h.remove()
    return [ranges[i] for i in range(len(module.ups))]


def equalize_streams(module: nn.Module, mels: list[torch.Tensor], strength: float = 0.5
                     ) -> list[StreamScaling]:
    """Divide each channel c of every stage's residual stream by ``a_c = (r_c / mean r)^strength``
    (r: the channel's range over ``mels``) in place, without changing the function.

    Every convolution that reads the stream gets its input channel c multiplied by ``a_c``
    (the resblocks' first convs, the next upsampling layer or ``conv_post``), every one that
    writes it its output channel c divided (the upsampling layer, the resblocks' last convs);
    LeakyReLU and the MRF mean commute with a positive per-channel scale. The stream's
    per-tensor uint8 quantizers then stop spending their 256 levels on a few wide channels.
    ``module``: a HiFi-GAN generator (``ups``, ``mrfs``, ``conv_post``)."""
    done = []
    ranges = _stream_ranges(module, mels)
    with torch.no_grad():
        for i, r in enumerate(ranges):
            r = r.clamp(min=1e-6)
            a = (r / r.mean()) ** strength
            up = module.ups[i]
            up.weight.div_(a[None, :, None])  # ConvTranspose1d: (in, out, k)
            if up.bias is not None:
                up.bias.div_(a)
            for block in module.mrfs[i].blocks:
                readers = block.convs1 if isinstance(block, ResBlock1) else block.convs
                writers = block.convs2 if isinstance(block, ResBlock1) else block.convs
                for conv in readers:
                    conv.weight.mul_(a[None, :, None])
                for conv in writers:
                    conv.weight.div_(a[:, None, None])
                    if conv.bias is not None:
                        conv.bias.div_(a)
            if i + 1 < len(module.ups):
                module.ups[i + 1].weight.mul_(a[:, None, None])
            else:
                module.conv_post.weight.mul_(a[None, :, None])
            done.append(StreamScaling(i, len(a), _ratio(r), _ratio(r / a)))
    return done
