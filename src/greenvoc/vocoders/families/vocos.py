"""Vocos (Siuzdak, "Vocos: Closing the gap between time-domain and Fourier-based neural
vocoders for high-quality audio synthesis", ICLR 2024, arXiv 2306.00814).

A ConvNeXt backbone at the frame rate predicts log-magnitude and phase of an STFT; an inverse
STFT makes the waveform, so nothing is upsampled by convolutions. Architecture and key names
from gemelo-ai/vocos (MIT): ``vocos/models.py::VocosBackbone``, ``vocos/heads.py::ISTFTHead``,
``vocos/modules.py::ConvNeXtBlock``, ``vocos/spectral_ops.py::ISTFT``; hyper-parameters from
``configs/vocos.yaml`` and the ``config.yaml`` of the Hugging Face model charactr/vocos-mel-24khz.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.convnext import LAYER_NORM_EPS, ConvNeXtBlock
from greenvoc.vocoders.blocks.istft import ISTFT, polar
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import mismatch, open_release, read_config

PAPER = "Siuzdak, Vocos, ICLR 2024 (arXiv 2306.00814); code gemelo-ai/vocos"
OFFICIAL_LAYOUT = "charactr/vocos"
#: The official head clips the predicted magnitude (vocos/heads.py).
MAX_MAGNITUDE = 1e2
HUB = ("https://huggingface.co/charactr/vocos-mel-24khz/resolve/"
       "0feb3fdd929bcd6649e0e7c5a688cf7dd012ef21")


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


_BACKBONE = "vocos.models.VocosBackbone"
_HEAD = "vocos.heads.ISTFTHead"
_FEATURES = "vocos.feature_extractors.MelSpectrogramFeatures"


def _section(config: dict, path: Path, name: str, class_path: str) -> dict:
    """``init_args`` of the ``name`` section, which must instantiate ``class_path``."""
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(f"{path}: no '{name}' section (found {sorted(config)}); is it "
                              "a Vocos config.yaml?")
    if section.get("class_path") != class_path:
        mismatch(path, f"{name}.class_path", section.get("class_path"), class_path,
                 "greenvoc builds the mel model (ConvNeXt backbone, iSTFT head) only")
    return dict(section.get("init_args") or {})


def release_config(spec: VocoderSpec, path: Path) -> VocosConfig:
    """The model the ``config.yaml`` beside ``pytorch_model.bin`` describes (what
    ``Vocos.from_pretrained`` builds with ``from_hparams``): backbone widths and depth, the
    head's STFT, checked against the entry's front-end. Without one, the entry's config."""
    with open_release(path, ("pytorch_model.bin", "*.bin", "*.pt", "*.ckpt")) as release:
        if release.config is None:
            return spec.config
        found, config = release.config, read_config(release.config)
    features = _section(config, found, "feature_extractor", _FEATURES)
    backbone = _section(config, found, "backbone", _BACKBONE)
    head = _section(config, found, "head", _HEAD)
    if backbone.get("adanorm_num_embeddings"):
        mismatch(found, "backbone.adanorm_num_embeddings", backbone["adanorm_num_embeddings"],
                 None, "a bandwidth-conditioned (EnCodec) model needs a bandwidth id")
    mel = spec.mel_config
    for key, ours in (("sample_rate", mel.sample_rate), ("n_fft", mel.n_fft),
                      ("hop_length", mel.hop_length), ("n_mels", mel.n_mels),
                      ("padding", "center" if mel.center else "same")):
        if key in features and features[key] != ours:
            mismatch(found, f"feature_extractor.{key}", features[key], ours,
                     f"it was trained on another mel than {spec.mel_preset!r}")
    result = dataclasses.replace(
        spec.config,
        **{ours: backbone[k] for k, ours in (("input_channels", "n_mels"), ("dim", "dim"),
                                             ("intermediate_dim", "intermediate_dim"),
                                             ("num_layers", "num_layers")) if k in backbone},
        **{k: head[k] for k in ("n_fft", "hop_length", "padding") if k in head})
    if head.get("dim", result.dim) != result.dim:
        mismatch(found, "head.dim", head["dim"], result.dim, "it must be the backbone's dim")
    if result.hop_length != spec.hop_length:
        mismatch(found, "head.hop_length", result.hop_length, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal it")
    return result


register(VocoderSpec(
    name="vocos-mel-24k",
    family="fourier",
    config=VocosConfig(),
    mel_preset="vocos",
    build=Vocos,
    weights=WeightsSource(
        "url",
        layout=OFFICIAL_LAYOUT,
        url=f"{HUB}/pytorch_model.bin",
        config_url=f"{HUB}/config.yaml",
        sha256=None,
        licence="MIT (gemelo-ai/vocos, charactr/vocos-mel-24khz)",
        notes="official 24 kHz mel model, trained on LibriTTS; pinned to the commit that public "
              "deployment notes pin it to (not named by the model card); the config.yaml beside "
              "it is fetched too and the architecture follows it, as Vocos.from_pretrained",
    ),
    load=load_official,
    configure=release_config,
    # 13.5 M in the model card of charactr/vocos-mel-24khz; 13,531,650 counted from the
    # architecture (embed 358,912 + 2 LayerNorms + 8 × 1,580,544 + head 526,338).
    published_params=13_531_650,
    paper=PAPER,
    description="Vocos 24 kHz mel vocoder: ConvNeXt backbone (dim 512, 1536, 8 layers) + iSTFT "
    "head (n_fft 1024, hop 256, 'center' padding as in the model's config.yaml); 100-band HTK "
    "mel (vocos front-end)",
))
