"""iSTFTNet (Kaneko, Tanaka, Kameoka & Seki, "iSTFTNet: Fast and Lightweight Mel-Spectrogram
Vocoder Incorporating Inverse Short-Time Fourier Transform", ICASSP 2022, arXiv 2203.02395).

V1-C8C8I: the HiFi-GAN V1 trunk with only its two ×8 upsampling stages; the output layer
predicts the log-magnitude and phase of a tiny STFT (n_fft 16, hop 4) that an inverse STFT
turns into the waveform (the remaining ×4). Architecture and keys from
rishikksh20/iSTFTNet-pytorch @ d10fe7d (Apache-2.0): ``models.py::Generator`` (reflection
pad (1, 0) before ``conv_post``; magnitude ``exp``, phase ``sin`` of the outputs),
``stft.py::TorchSTFT`` (``torch.istft``, centred, Hann; added after 781480e, whose conv-based
STFT it replaced) and ``config_v1.json``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.istft import ISTFT, polar
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.families.hifigan import HifiganGenerator, official_to_greenvoc
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import (
    check_release_mel,
    mismatch,
    open_release,
    read_config,
    tuples,
)

PAPER = "Kaneko et al., iSTFTNet, ICASSP 2022 (arXiv 2203.02395); code rishikksh20/iSTFTNet-pytorch"
OFFICIAL_LAYOUT = "rishikksh20/iSTFTNet-pytorch"


@dataclass(frozen=True)
class IstftnetConfig:
    """``config_v1.json`` of rishikksh20/iSTFTNet-pytorch (``gen_istft_n_fft``/``_hop_size``)."""

    upsample_rates: tuple[int, ...] = (8, 8)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16)
    upsample_initial_channel: int = 512
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    n_mels: int = 80
    istft_n_fft: int = 16
    istft_hop: int = 4


class IstftnetGenerator(HifiganGenerator):
    """mel (B, n_mels, T) → waveform (B, T · prod(upsample_rates) · istft_hop)."""

    def __init__(self, config: IstftnetConfig) -> None:
        super().__init__(config)  # conv_pre, ups, mrfs: HiFi-GAN's trunk and key layout
        ch_out = config.upsample_initial_channel // 2 ** len(config.upsample_rates)
        self.bins = config.istft_n_fft // 2 + 1
        self.conv_post = nn.Conv1d(ch_out, 2 * self.bins, 7, padding=3)
        self.istft = ISTFT(config.istft_n_fft, config.istft_hop, padding="center",
                           persistent_window=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.trunk(mel)
        # default slope (0.01) as in the official code; the one-sample left pad gives the
        # iSTFT T·64 + 1 frames, i.e. exactly T·64·hop samples
        x = self.conv_post(F.pad(F.leaky_relu(x), (1, 0), mode="reflect"))
        magnitude = x[:, :self.bins].exp()
        phase = torch.sin(x[:, self.bins:])
        return self.istft(polar(magnitude, phase))


def load_official(module: IstftnetGenerator, path: Path) -> None:
    """Read an iSTFTNet generator checkpoint in HiFi-GAN's layout (``{"generator": …}``,
    weight-norm keys, ``resblocks.{i·K+j}``)."""
    state = read_checkpoint(path, unwrap=("generator",))
    load_into(module, state, path, rename=official_to_greenvoc(module.config))  # type: ignore[arg-type]


#: config.json fields → IstftnetConfig fields
_FIELDS = {"upsample_rates": "upsample_rates", "upsample_kernel_sizes": "upsample_kernel_sizes",
           "upsample_initial_channel": "upsample_initial_channel", "resblock": "resblock",
           "resblock_kernel_sizes": "resblock_kernel_sizes",
           "resblock_dilation_sizes": "resblock_dilation_sizes", "num_mels": "n_mels",
           "gen_istft_n_fft": "istft_n_fft", "gen_istft_hop_size": "istft_hop"}


def release_config(spec: VocoderSpec, path: Path) -> IstftnetConfig:
    """The generator of the ``config.json`` that training copies beside the ``g_*`` checkpoints
    (``build_env``; ``inference.py`` reads it from there), trained on the entry's front-end.
    Without one, the entry's config."""
    with open_release(path, ("g_*",)) as release:
        if release.config is None:
            return spec.config
        found, h = release.config, read_config(release.config)
    check_release_mel(spec, found, h)
    config = dataclasses.replace(
        spec.config, **{ours: tuples(h[k]) for k, ours in _FIELDS.items() if k in h})
    hop = math.prod(config.upsample_rates) * config.istft_hop
    if hop != spec.hop_length:
        mismatch(found, "upsample_rates × gen_istft_hop_size (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal it")
    return config


register(VocoderSpec(
    name="istftnet",
    family="fourier",
    config=IstftnetConfig(),
    mel_preset="hifigan",
    build=IstftnetGenerator,
    weights=WeightsSource(
        "none", layout=OFFICIAL_LAYOUT, licence="Apache-2.0 (rishikksh20/iSTFTNet-pytorch)",
        notes="no official universal checkpoint; load a trained generator with --weights (a "
              "g_* file; the config.json training leaves beside it sets the architecture)",
    ),
    load=load_official,
    configure=release_config,
    # counted from config_v1.json and models.py: conv_pre 287,232; ups 2,097,408 + 524,416;
    # resblocks 8,262,144 + 2,066,688; conv_post (128 → 18, k 7) 16,146
    published_params=13_254_034,
    paper=PAPER,
    description="iSTFTNet V1-C8C8I: HiFi-GAN V1 trunk with upsampling [8, 8] then an iSTFT "
    "(n_fft 16, hop 4) of predicted magnitude and phase; hifigan front-end; architecture only",
))
