"""UnivNet (Jang et al., Interspeech 2021): a noise-driven generator conditioned by LVC.

Gaussian noise (64 channels, one vector per mel frame) → 7-tap conv to C channels → per stride
an LVC block (``blocks/lvc.py``) whose kernels a kernel predictor computes from the mel →
LeakyReLU → 7-tap conv → tanh. The noise is drawn from a fixed seed (``noise_seed``), the same
for every item of a batch, so synthesis is deterministic and batch-consistent.

As maum-ai/univnet's ``Generator.inference``, the mel is extended by ``pad_frames`` frames of
silence (log 1e-5) and the matching samples are cut off, which removes an artifact at the end.

Official code and checkpoints: maum-ai/univnet (formerly mindslab-ai/univnet, BSD-3-Clause)
``model/generator.py``, ``model/lvcnet.py``, ``config/default_c32.yaml``; checkpoints
``{"model_g": state, "hp_str": ..., ...}`` with weight norm, possibly ``module.``-prefixed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.lvc import LVCBlock
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register

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
    silence_log_mel: float = math.log(1e-5)
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
