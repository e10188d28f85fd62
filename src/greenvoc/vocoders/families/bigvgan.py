"""BigVGAN (Lee et al., ICLR 2023) and BigVGAN-v2 (NVIDIA, 2024).

HiFi-GAN's generator with anti-aliased multi-periodicity (AMP) blocks: every LeakyReLU becomes
a Snake/SnakeBeta activation applied at twice the rate (``blocks/alias_free.py``). Per stage a
transposed conv, then the mean of one AMP block per kernel size; then an anti-aliased
activation, a 7-tap conv, and tanh (v1) or a clamp to [−1, 1] (v2, no bias on that conv).

Official code, configs and checkpoints: NVIDIA/BigVGAN (MIT) ``bigvgan.py``, ``configs/*.json``;
weights on Hugging Face ``nvidia/<model>/bigvgan_generator.pt`` as ``{"generator": state}``.
Key layout: ``conv_pre``, ``ups.{i}.0``, ``resblocks.{i·K+j}.convs{1,2}.{l}``,
``resblocks.{n}.activations.{m}.act.{alpha,beta}``, ``activation_post.act.*``, ``conv_post``,
plus the fixed ``*.filter`` buffers of the resamplers, which greenvoc recomputes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.alias_free import AntiAliasedActivation, snake_activation
from greenvoc.vocoders.blocks.conv import conv1d, upsample_conv
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import (
    check_release_mel,
    mismatch,
    open_release,
    read_config,
    tuples,
)

PAPER = ("Lee et al., BigVGAN, ICLR 2023 (arXiv 2206.04658); code, configs and parameter "
         "counts NVIDIA/BigVGAN (bigvgan.py, configs/, README model table)")
LAYOUT = "NVIDIA/BigVGAN"
LICENCE = "MIT (NVIDIA/BigVGAN)"


@dataclass(frozen=True)
class BigvganConfig:
    """The ``configs/*.json`` fields that shape the generator (AMP block type "1" only)."""

    n_mels: int = 80
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    activation: str = "snakebeta"
    snake_logscale: bool = True
    use_tanh_at_final: bool = True
    use_bias_at_final: bool = True


class AMPBlock1(nn.Module):
    """Per dilation d: x += conv(1)(act(conv(d)(act(x)))), each act anti-aliased;
    activations alternate (2l: before convs1[l], 2l+1: before convs2[l])."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...],
                 activation: str, logscale: bool) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(conv1d(channels, channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(conv1d(channels, channels, kernel_size) for _ in dilations)
        self.activations = nn.ModuleList(
            AntiAliasedActivation(snake_activation(activation, channels, logscale))
            for _ in range(2 * len(dilations))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2, strict=True)):
            x = x + c2(self.activations[2 * i + 1](c1(self.activations[2 * i](x))))
        return x


class BigvganGenerator(nn.Module):
    """mel (B, n_mels, T) → waveform (B, 1, T · prod(upsample_rates)) in [-1, 1]."""

    def __init__(self, config: BigvganConfig) -> None:
        super().__init__()
        self.config = config
        c = config.upsample_initial_channel
        self.conv_pre = conv1d(config.n_mels, c, 7)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()  # flat, stage-major, as the official checkpoints
        for i, (u, k) in enumerate(
            zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True)
        ):
            ch = c // 2 ** (i + 1)
            self.ups.append(upsample_conv(c // 2**i, ch, k, u))
            for kernel, dilations in zip(config.resblock_kernel_sizes,
                                         config.resblock_dilation_sizes, strict=True):
                self.resblocks.append(AMPBlock1(ch, kernel, dilations, config.activation,
                                                config.snake_logscale))
        self.activation_post = AntiAliasedActivation(
            snake_activation(config.activation, ch, config.snake_logscale))
        self.conv_post = conv1d(ch, 1, 7, bias=config.use_bias_at_final)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        per_stage = len(self.config.resblock_kernel_sizes)
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(x)
            blocks = self.resblocks[i * per_stage:(i + 1) * per_stage]
            x = sum(block(x) for block in blocks) / per_stage
        x = self.conv_post(self.activation_post(x))
        return torch.tanh(x) if self.config.use_tanh_at_final else x.clamp(-1.0, 1.0)


_UPS = re.compile(r"^ups\.(\d+)\.0\.")


def official_to_greenvoc(key: str) -> str:
    """``ups.{i}.0.X`` → ``ups.{i}.X``; other names are shared."""
    return _UPS.sub(r"ups.\1.", key)


def load_official(module: BigvganGenerator, path: Path) -> None:
    """An NVIDIA/BigVGAN ``bigvgan_generator.pt`` (weight norm on or already removed)."""
    state = read_checkpoint(path, unwrap=("generator",))
    # the resamplers' Kaiser filters are fixed functions of the config: recomputed, not loaded
    state = {k: v for k, v in state.items() if not k.endswith(".filter")}
    load_into(module, state, path, rename=official_to_greenvoc)


#: config.json fields → BigvganConfig fields (``BigVGAN.__init__`` reads them from ``h``)
_FIELDS = {"num_mels": "n_mels", "upsample_rates": "upsample_rates",
           "upsample_kernel_sizes": "upsample_kernel_sizes",
           "upsample_initial_channel": "upsample_initial_channel",
           "resblock_kernel_sizes": "resblock_kernel_sizes",
           "resblock_dilation_sizes": "resblock_dilation_sizes", "activation": "activation",
           "snake_logscale": "snake_logscale", "use_tanh_at_final": "use_tanh_at_final",
           "use_bias_at_final": "use_bias_at_final"}


def release_config(spec: VocoderSpec, path: Path) -> BigvganConfig:
    """The generator the ``config.json`` beside the checkpoint describes (what
    ``BigVGAN.from_pretrained`` builds), whose front-end must be the entry's; without one, the
    entry's config. Only AMP block type "1" and the Snake/SnakeBeta activations exist here."""
    with open_release(path, ("bigvgan_generator.pt", "g_*", "*.pt")) as release:
        if release.config is None:
            return spec.config
        found, h = release.config, read_config(release.config)
    if str(h.get("resblock", "1")) != "1":
        mismatch(found, "resblock", h["resblock"], "1",
                 "greenvoc builds AMPBlock1 only (all published BigVGAN models)")
    if h.get("activation", "snakebeta") not in ("snake", "snakebeta"):
        mismatch(found, "activation", h["activation"], "snake or snakebeta",
                 "BigVGAN knows no other")
    check_release_mel(spec, found, h)
    config = dataclasses.replace(
        spec.config, **{ours: tuples(h[k]) for k, ours in _FIELDS.items() if k in h})
    hop = math.prod(config.upsample_rates)
    if hop != spec.hop_length:
        mismatch(found, "upsample_rates (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal their product")
    return config


def _hf(repo: str, revision: str, pin_note: str) -> WeightsSource:
    base = f"https://huggingface.co/nvidia/{repo}/resolve/{revision}"
    return WeightsSource(
        "url", layout=LAYOUT, licence=LICENCE, url=f"{base}/bigvgan_generator.pt",
        config_url=f"{base}/config.json",
        notes=f"Hugging Face nvidia/{repo} ({pin_note}); the config.json beside it is fetched "
              "too and the architecture follows it, as BigVGAN.from_pretrained",
    )


# configs/bigvgan_base_22khz_80band.json
BASE_22K = BigvganConfig()
# configs/bigvgan_v2_22khz_80band_256x.json
V2_22K = BigvganConfig(
    upsample_rates=(4, 4, 2, 2, 2, 2),
    upsample_kernel_sizes=(8, 8, 4, 4, 4, 4),
    upsample_initial_channel=1536,
    use_tanh_at_final=False,
    use_bias_at_final=False,
)

register(VocoderSpec(
    name="bigvgan-base-22k",
    family="gan",
    config=BASE_22K,
    mel_preset="bigvgan-22k-80",
    build=BigvganGenerator,
    weights=_hf("bigvgan_base_22khz_80band", "main",
                "branch main: no commit of this repository was found in public material"),
    load=load_official,
    configure=release_config,
    published_params=13_943_361,
    paper=PAPER,
    description=(
        "BigVGAN base, 22.05 kHz, 80 bands, fmax 8 kHz (LibriTTS + VCTK + LJSpeech, 5M "
        "steps): upsample 8-8-2-2, 512 channels, SnakeBeta AMP blocks. The README lists "
        "14M parameters; the exact count is from configs/bigvgan_base_22khz_80band.json."
    ),
))

register(VocoderSpec(
    name="bigvgan-v2-22k",
    family="gan",
    config=V2_22K,
    mel_preset="bigvgan-v2-22k-80",
    build=BigvganGenerator,
    weights=_hf("bigvgan_v2_22khz_80band_256x", "633ff708ed5b74903e86ff1298cf4a98e921c513",
                "pinned to the commit that public code pins it to (an IndexTTS asset lock), "
                "not one the model card names"),
    load=load_official,
    configure=release_config,
    published_params=112_199_472,
    paper=PAPER,
    description=(
        "BigVGAN-v2, 22.05 kHz, 80 bands, fmax 11025 Hz, 256x (large-scale compilation, 5M "
        "steps): upsample 4-4-2-2-2-2, 1536 channels, no final tanh (clamp) and no final bias. "
        "The README lists 112M parameters; the exact count is from "
        "configs/bigvgan_v2_22khz_80band_256x.json."
    ),
))
