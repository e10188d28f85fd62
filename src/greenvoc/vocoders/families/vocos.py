"""Vocos (Siuzdak, "Vocos: Closing the gap between time-domain and Fourier-based neural
vocoders for high-quality audio synthesis", ICLR 2024, arXiv 2306.00814).

A ConvNeXt backbone at the frame rate predicts log-magnitude and phase of an STFT; an inverse
STFT makes the waveform, so nothing is upsampled by convolutions. Architecture and key names
from gemelo-ai/vocos (MIT): ``vocos/models.py::VocosBackbone``, ``vocos/heads.py::ISTFTHead``,
``vocos/modules.py::ConvNeXtBlock``, ``vocos/spectral_ops.py::ISTFT``; hyper-parameters from
``configs/vocos.yaml`` and the ``config.yaml`` of the Hugging Face model charactr/vocos-mel-24khz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.convnext import LAYER_NORM_EPS, ConvNeXtBlock
from greenvoc.vocoders.blocks.istft import ISTFT, polar
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register

PAPER = "Siuzdak, Vocos, ICLR 2024 (arXiv 2306.00814); code gemelo-ai/vocos"
OFFICIAL_LAYOUT = "charactr/vocos"
#: The official head clips the predicted magnitude (vocos/heads.py).
MAX_MAGNITUDE = 1e2


@dataclass(frozen=True)
class VocosConfig:
    """``backbone.init_args`` and ``head.init_args`` of the official config.yaml.

    layer_scale_init: ConvNeXt's γ at initialisation; the official backbone uses 1/num_layers.
    """

    n_mels: int = 100
    dim: int = 512
    intermediate_dim: int = 1536
    num_layers: int = 8
    n_fft: int = 1024
    hop_length: int = 256
    #: "center" in the model's config.yaml (and configs/vocos.yaml): T frames → (T−1)·hop
    #: samples, matching the centred front-end's 1 + samples//hop frames
    padding: str = "center"

    @property
    def layer_scale_init(self) -> float:
        return 1.0 / self.num_layers


class VocosBackbone(nn.Module):
    """mel (B, n_mels, T) → features (B, T, dim). Keys: ``embed``, ``norm``, ``convnext.N``,
    ``final_layer_norm``."""

    def __init__(self, config: VocosConfig) -> None:
        super().__init__()
        self.embed = nn.Conv1d(config.n_mels, config.dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(config.dim, config.intermediate_dim, config.layer_scale_init)
            for _ in range(config.num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.convnext:
            x = block(x)
        return self.final_layer_norm(x.transpose(1, 2))


class VocosHead(nn.Module):
    """features (B, T, dim) → waveform (B, (T−1)·hop) ("center"; T·hop with "same") via
    log-magnitude and phase."""

    def __init__(self, config: VocosConfig) -> None:
        super().__init__()
        self.out = nn.Linear(config.dim, config.n_fft + 2)
        self.istft = ISTFT(config.n_fft, config.hop_length, config.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_magnitude, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        magnitude = log_magnitude.exp().clamp(max=MAX_MAGNITUDE)
        return self.istft(polar(magnitude, phase))


class Vocos(nn.Module):
    """mel (B, n_mels, T) from the ``vocos`` front-end → waveform (B, (T−1)·hop)."""

    def __init__(self, config: VocosConfig) -> None:
        super().__init__()
        self.backbone = VocosBackbone(config)
        self.head = VocosHead(config)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(mel))


def load_official(module: Vocos, path: Path) -> None:
    """Read the official ``pytorch_model.bin`` (a flat state dict). Its feature extractor's
    buffers (``feature_extractor.*``: the mel filterbank and STFT window) belong to greenvoc's
    front-end, not to the generator, and are dropped."""
    state = read_checkpoint(path)
    state = {k: v for k, v in state.items() if not k.startswith("feature_extractor.")}
    load_into(module, state, path)


register(VocoderSpec(
    name="vocos-mel-24k",
    family="fourier",
    config=VocosConfig(),
    mel_preset="vocos",
    build=Vocos,
    weights=WeightsSource(
        "url",
        layout=OFFICIAL_LAYOUT,
        url="https://huggingface.co/charactr/vocos-mel-24khz/resolve/main/pytorch_model.bin",
        sha256=None,
        licence="MIT (gemelo-ai/vocos, charactr/vocos-mel-24khz)",
        notes="official 24 kHz mel model, trained on LibriTTS",
    ),
    load=load_official,
    # 13.5 M in the model card of charactr/vocos-mel-24khz; 13,531,650 counted from the
    # architecture (embed 358,912 + 2 LayerNorms + 8 × 1,580,544 + head 526,338).
    published_params=13_531_650,
    paper=PAPER,
    description="Vocos 24 kHz mel vocoder: ConvNeXt backbone (dim 512, 1536, 8 layers) + iSTFT "
    "head (n_fft 1024, hop 256, 'center' padding as in the model's config.yaml); 100-band HTK "
    "mel (vocos front-end)",
))
