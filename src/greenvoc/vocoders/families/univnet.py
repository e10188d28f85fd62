"""UnivNet (Jang et al., Interspeech 2021): a noise-driven generator conditioned by LVC.

Gaussian noise (64 channels, one vector per mel frame) → 7-tap conv to C channels → per stride
an LVC block (``blocks/lvc.py``) whose kernels a kernel predictor computes from the mel →
LeakyReLU → 7-tap conv → tanh. The noise is drawn from a fixed seed (``noise_seed``), the same
for every item of a batch, so synthesis is deterministic and batch-consistent.

As maum-ai/univnet's ``Generator.inference``, the mel is extended by ``pad_frames`` frames of
silence (its constant −11.5129 ≈ log 1e-5) and the matching samples are cut off, which removes
an artifact at the end. The architecture follows the checkpoint's ``hp_str`` (the training
yaml it carries, which the official ``inference.py`` builds from).

Official code and checkpoints: maum-ai/univnet (formerly mindslab-ai/univnet, BSD-3-Clause)
``model/generator.py``, ``model/lvcnet.py``, ``config/default_c32.yaml``; checkpoints
``{"model_g": state, "hp_str": ..., ...}`` with weight norm, possibly ``module.``-prefixed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.lvc import LVCBlock
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import check_release_mel, mismatch

PAPER = ("Jang et al., UnivNet, Interspeech 2021 (arXiv 2106.07889); code and checkpoints "
         "maum-ai/univnet")


@dataclass(frozen=True)
class UnivnetConfig:
    """``config/default_c32.yaml`` (``gen`` and ``audio`` sections) plus inference knobs."""

    n_mels: int = 100
    noise_dim: int = 64
    channel_size: int = 32
    dilations: tuple[int, ...] = (1, 3, 9, 27)
    strides: tuple[int, ...] = (8, 8, 4)
    lrelu_slope: float = 0.2
    kpnet_conv_size: int = 3
    kpnet_hidden: int = 64
    pad_frames: int = 10
    silence_log_mel: float = -11.5129  # Generator.inference's literal, not log(1e-5)
    noise_seed: int = 0


class UnivnetGenerator(nn.Module):
    """mel (B, n_mels, T) → waveform (B, 1, T · prod(strides)) in [-1, 1]."""

    def __init__(self, config: UnivnetConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channel_size
        self.conv_pre = nn.Conv1d(config.noise_dim, c, 7, padding=3, padding_mode="reflect")
        self.res_stack = nn.ModuleList()
        hop = 1
        for stride in config.strides:
            hop *= stride
            self.res_stack.append(LVCBlock(
                c, config.n_mels, stride, config.dilations, cond_hop=hop,
                slope=config.lrelu_slope, kpnet_hidden=config.kpnet_hidden,
                kpnet_conv_size=config.kpnet_conv_size,
            ))
        self.conv_post = nn.Conv1d(c, 1, 7, padding=3, padding_mode="reflect")
        self.hop_length = hop

    def noise(self, frames: int, batch: int, device: torch.device,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(batch, noise_dim, frames) standard normal from ``noise_seed``, one draw shared by
        the batch, drawn in float32 (the same draw at every precision) and cast to ``dtype``."""
        gen = torch.Generator().manual_seed(self.config.noise_seed)
        z = torch.randn(1, self.config.noise_dim, frames, generator=gen)
        return z.to(device, dtype).expand(batch, -1, -1)

    def forward(self, mel: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        frames = mel.shape[-1]
        if cfg.pad_frames:
            mel = F.pad(mel, (0, cfg.pad_frames), value=cfg.silence_log_mel)
        z = noise if noise is not None else self.noise(mel.shape[-1], mel.shape[0], mel.device,
                                                        mel.dtype)
        x = self.conv_pre(z)
        for block in self.res_stack:
            x = block(x, mel)
        x = torch.tanh(self.conv_post(F.leaky_relu(x, cfg.lrelu_slope)))
        return x[..., : frames * self.hop_length]


_RULES = (
    (re.compile(r"^module\."), ""),
    (re.compile(r"^conv_post\.1\."), "conv_post."),
    (re.compile(r"\.kernel_predictor\.input_conv\.0\."), ".kernel_predictor.input_conv."),
    (re.compile(r"\.residual_convs\.(\d+)\.1\."), r".residual_convs.\1.0."),
    (re.compile(r"\.residual_convs\.(\d+)\.3\."), r".residual_convs.\1.1."),
    (re.compile(r"\.convt_pre\.1\."), ".convt_pre."),
    (re.compile(r"\.conv_blocks\.(\d+)\.1\."), r".conv_blocks.\1."),
)


def official_to_greenvoc(key: str) -> str:
    """maum-ai/univnet names (Sequential indices) → this module's names."""
    for pattern, repl in _RULES:
        key = pattern.sub(repl, key)
    return key


def load_official(module: UnivnetGenerator, path: Path) -> None:
    """A maum-ai/univnet training checkpoint: the generator is under ``model_g``."""
    state = read_checkpoint(path, unwrap=("model_g",))
    load_into(module, state, path, rename=official_to_greenvoc)


#: hp_str ``gen`` keys → UnivnetConfig fields
_GEN = {"noise_dim": "noise_dim", "channel_size": "channel_size", "dilations": "dilations",
        "strides": "strides", "lReLU_slope": "lrelu_slope", "kpnet_conv_size": "kpnet_conv_size"}


#: ``hp_str``'s ``audio`` section → :class:`MelConfig` fields.
_AUDIO = {"sampling_rate": "sample_rate", "filter_length": "n_fft", "hop_length": "hop_length",
          "win_length": "win_length_samples", "n_mel_channels": "n_mels", "mel_fmin": "fmin",
          "mel_fmax": "fmax_hz"}


def hp_config(spec: VocoderSpec, path: Path) -> UnivnetConfig:
    """The generator the checkpoint's ``hp_str`` describes (``inference.py`` builds
    ``Generator(OmegaConf.create(checkpoint["hp_str"]))``): its ``gen`` section, and an
    ``audio`` section that must be the entry's front-end. A checkpoint without ``hp_str``
    keeps the entry's config."""
    import yaml

    hp_str = read_checkpoint(path).get("hp_str")
    if hp_str is None:
        return spec.config
    try:
        hp = yaml.safe_load(hp_str)
    except yaml.YAMLError as e:
        raise CheckpointError(f"{path}: hp_str is not the training yaml: {e}") from e
    if not isinstance(hp, dict) or not isinstance(hp.get("gen"), dict) or not isinstance(
            hp.get("audio"), dict):
        raise CheckpointError(f"{path}: hp_str has no 'gen' and 'audio' sections (found "
                              f"{type(hp).__name__}: {str(hp)[:80]!r})")
    check_release_mel(spec, path, hp["audio"], _AUDIO, where="hp_str audio.")
    known = {ours: hp["gen"][k] for k, ours in _GEN.items() if k in hp["gen"]}
    for key in ("dilations", "strides"):
        if key in known:
            known[key] = tuple(known[key])
    config = dataclasses.replace(spec.config, **known)
    if math.prod(config.strides) != spec.hop_length:
        mismatch(path, "hp_str gen.strides (hop)", math.prod(config.strides), spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal their product")
    return config


C32 = UnivnetConfig()

register(VocoderSpec(
    name="univnet-c32",
    family="gan",
    config=C32,
    mel_preset="bigvgan-24k-100",
    build=UnivnetGenerator,
    weights=WeightsSource(
        "url", layout="maum-ai/univnet",
        url="https://drive.google.com/uc?export=download&id=1QZFprpvYEhLWCDF90gSl6Dpn0gonS_Rv",
        filename="univnet_c32.pt",
        licence="BSD-3-Clause (maum-ai/univnet)",
        notes="UnivNet-c32 trained on LibriTTS train-clean-360 (Google Drive link of the "
              "README); a training checkpoint with model_g, model_d, optimizers",
    ),
    load=load_official,
    configure=hp_config,
    published_params=14_789_153,
    paper=PAPER,
    description=(
        "UnivNet-c32 (maum-ai/univnet default_c32.yaml: noise 64, 32 channels, strides 8-8-4, "
        "LVC dilations 1-3-9-27, kernel predictor 64 hidden), LibriTTS 24 kHz. Its front-end "
        "(utils/stft.py: HiFi-GAN recipe, 24 kHz, 1024/256/1024, 100 Slaney mels, 0–12 kHz, "
        "natural log, clamp 1e-5) is exactly the bigvgan-24k-100 preset. The paper and the "
        "README give 14.86M parameters for c32; the official code's 14,865,506 counts the 76,353 "
        "weight-norm gains, which removal folds away: 14,789,153 at inference."
    ),
))
