"""DiffWave (Kong, Ping, Huang, Zhao & Catanzaro, ICLR 2021): a denoising diffusion model whose
noise predictor is a non-causal WaveNet conditioned on the diffusion step and an upsampled mel.

Official code and checkpoint: lmnt-com/diffwave (Apache-2.0): ``src/diffwave/model.py``
(network), ``params.py`` (base: 30 layers, 64 channels, dilation cycle 10, 50 training steps
linspace(1e-4, 0.05, 50), fast schedule [1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5]) and
``inference.py::predict`` (the sampler reproduced in :meth:`DiffwaveModel.forward`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.noise import item_generators, item_randn
from greenvoc.vocoders.blocks.wavenet import WaveNetStack
from greenvoc.vocoders.checkpoint import load_into
from greenvoc.vocoders.pickled import read_pickled_checkpoint
from greenvoc.vocoders.registry import register

PAPER = ("Kong, Ping, Huang, Zhao & Catanzaro, DiffWave, ICLR 2021 (arXiv 2009.09761); code "
         "lmnt-com/diffwave")
OFFICIAL_LAYOUT = "lmnt-com/diffwave"
EMBED_DIM = 128  # sinusoidal step embedding: 64 frequencies, sin and cos
STEP_DIM = 512


@dataclass(frozen=True)
class DiffwaveConfig:
    """``params.py`` of lmnt-com/diffwave, plus the sampler's knobs.

    training_schedule: β of the training chain (defines the step embedding and the mapping of
    the inference schedule onto training steps). inference_schedule: β of the sampler's steps;
    None samples with the full training chain (``fast_sampling=False``). seed: noise seed, drawn
    per utterance.
    """

    residual_layers: int = 30
    residual_channels: int = 64
    dilation_cycle_length: int = 10
    n_mels: int = 80
    hop: int = 256
    training_schedule: tuple[float, ...] = tuple(np.linspace(1e-4, 0.05, 50).tolist())
    inference_schedule: tuple[float, ...] | None = (1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5)
    seed: int = 0

    @property
    def n_steps(self) -> int:
        return len(self.inference_schedule or self.training_schedule)


class StepEmbedding(nn.Module):
    """Diffusion step t (float, interpolated between integer steps) → (1, 512). Keys
    ``projection1``, ``projection2`` as the official ``DiffusionEmbedding``."""

    def __init__(self, max_steps: int) -> None:
        super().__init__()
        steps = torch.arange(max_steps, dtype=torch.float32).unsqueeze(1)
        freqs = 10.0 ** (torch.arange(EMBED_DIM // 2, dtype=torch.float32) * 4.0 / 63.0)
        table = steps * freqs.unsqueeze(0)
        self.register_buffer("table", torch.cat((table.sin(), table.cos()), 1), persistent=False)
        self.projection1 = nn.Linear(EMBED_DIM, STEP_DIM)
        self.projection2 = nn.Linear(STEP_DIM, STEP_DIM)

    def forward(self, t: float) -> torch.Tensor:
        low, high = math.floor(t), math.ceil(t)
        e = self.table[low] + (self.table[high] - self.table[low]) * (t - low)
        return F.silu(self.projection2(F.silu(self.projection1(e.unsqueeze(0)))))


class SpectrogramUpsampler(nn.Module):
    """Two ConvTranspose2d (3, 32), stride (1, 16), each followed by LeakyReLU(0.4): (B, M, T)
    → (B, M, 256·T). Keys ``conv1``, ``conv2``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(1, 1, (3, 32), stride=(1, 16), padding=(1, 8))
        self.conv2 = nn.ConvTranspose2d(1, 1, (3, 32), stride=(1, 16), padding=(1, 8))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(mel.unsqueeze(1)), 0.4)
        return F.leaky_relu(self.conv2(x), 0.4).squeeze(1)


def sampling_plan(config: DiffwaveConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(β, cumulative ᾱ, training-step positions) of the sampler's steps, as ``predict``
    computes them: each inference step sits at the (fractional) training step whose √ᾱ
    matches."""
    train_beta = np.asarray(config.training_schedule, dtype=np.float64)
    beta = np.asarray(config.inference_schedule or config.training_schedule, dtype=np.float64)
    talpha_cum = np.cumprod(1.0 - train_beta)
    alpha_cum = np.cumprod(1.0 - beta)
    positions = []
    for s in range(len(beta)):
        for t in range(len(train_beta) - 1):
            if talpha_cum[t + 1] <= alpha_cum[s] <= talpha_cum[t]:
                twiddle = (talpha_cum[t] ** 0.5 - alpha_cum[s] ** 0.5) / (
                    talpha_cum[t] ** 0.5 - talpha_cum[t + 1] ** 0.5)
                positions.append(t + twiddle)
                break
        else:
            raise ValueError(f"inference step {s} (ᾱ = {alpha_cum[s]:.4g}) lies outside the "
                             "training chain; shorten or soften inference_schedule")
    return beta, alpha_cum, np.asarray(positions, dtype=np.float32)


class DiffwaveModel(nn.Module):
    """mel (B, n_mels, T) → waveform (B, T·256): ``n_steps`` reverse-diffusion passes."""

    def __init__(self, config: DiffwaveConfig) -> None:
        super().__init__()
        self.config = config
        c = config.residual_channels
        self.plan = sampling_plan(config)
        self.input_projection = nn.Conv1d(1, c, 1)
        self.diffusion_embedding = StepEmbedding(len(config.training_schedule))
        self.spectrogram_upsampler = SpectrogramUpsampler()
        self.step_projections = nn.ModuleList(
            nn.Linear(STEP_DIM, c) for _ in range(config.residual_layers))
        self.stack = WaveNetStack(
            config.residual_layers, config.residual_layers // config.dilation_cycle_length,
            c, 2 * c, c, config.n_mels, 3, causal=False, sigmoid_first=True,
            skip_merge="sqrt-mean",
        )
        self.skip_projection = nn.Conv1d(c, c, 1)
        self.output_projection = nn.Conv1d(c, 1, 1)

    def denoise(self, audio: torch.Tensor, cond: torch.Tensor, t: float) -> torch.Tensor:
        """The noise estimate ε(audio, t | mel): audio (B, L), cond the upsampled mel
        (B, n_mels, L) → (B, L)."""
        x = F.relu(self.input_projection(audio.unsqueeze(1)))
        step = self.diffusion_embedding(t)
        shifts = [p(step).unsqueeze(-1) for p in self.step_projections]
        skips = self.stack(x, cond, shifts)
        return self.output_projection(F.relu(self.skip_projection(skips))).squeeze(1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        beta, alpha_cum, positions = self.plan
        alpha = 1.0 - beta
        cond = self.spectrogram_upsampler(mel)
        gens = item_generators(mel.shape[0], self.config.seed)
        length = mel.shape[-1] * self.config.hop
        audio = item_randn(gens, (length,), mel)
        for n in range(len(alpha) - 1, -1, -1):
            c1 = 1 / alpha[n] ** 0.5
            c2 = beta[n] / (1 - alpha_cum[n]) ** 0.5
            audio = c1 * (audio - c2 * self.denoise(audio, cond, float(positions[n])))
            if n > 0:
                sigma = ((1.0 - alpha_cum[n - 1]) / (1.0 - alpha_cum[n]) * beta[n]) ** 0.5
                audio = audio + sigma * item_randn(gens, (length,), mel)
            audio = audio.clamp(-1.0, 1.0)
        return audio


_LAYER = re.compile(r"residual_layers\.(\d+)\.(dilated_conv|conditioner_projection|"
                    r"diffusion_projection)\.(weight|bias)$")
_OWN = {"dilated_conv": "stack.layers.{i}.conv", "conditioner_projection": "stack.layers.{i}.aux",
        "diffusion_projection": "step_projections.{i}"}


def official_to_greenvoc(state: Mapping[str, torch.Tensor], channels: int
                         ) -> dict[str, torch.Tensor]:
    """The official state dict in greenvoc's keys: each ``output_projection`` (C → 2C:
    residual rows then skip rows) is split into the layer's ``out`` and ``skip``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = _LAYER.match(key)
        fused = re.match(r"residual_layers\.(\d+)\.output_projection\.(weight|bias)$", key)
        if m:
            out[f"{_OWN[m.group(2)].format(i=m.group(1))}.{m.group(3)}"] = value
        elif fused:
            i, kind = fused.groups()
            out[f"stack.layers.{i}.out.{kind}"] = value[:channels]
            out[f"stack.layers.{i}.skip.{kind}"] = value[channels:]
        else:
            out[key] = value
    return out


def read_official(path: Path) -> dict[str, torch.Tensor]:
    """``weights.pt`` of lmnt-com/diffwave: ``{"step", "model": state_dict, "optimizer",
    "params": diffwave.params.AttrDict, "scaler"}``; ``params`` is read as a plain dict, the
    diffwave package is never imported. A bare state dict is accepted too."""
    data = read_pickled_checkpoint(path)
    if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping):
        data = data["model"]
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, found {type(data).__name__}")
    return dict(data)


def load_official(module: DiffwaveModel, path: Path) -> None:
    state = official_to_greenvoc(read_official(path), module.config.residual_channels)
    load_into(module, state, path)


BASE = DiffwaveConfig()

# Parameters counted from params.py and model.py (no weight norm): 30 layers × (64·128·3 + 128
# + 512·64 + 64 + 80·128 + 128 + 64·128 + 128) = 2,286,720; input 128; step MLP 66,048 +
# 262,656; upsampler 2·97; skip 4,160; output 65 → 2,619,971 (the paper's Table 1: 2.64 M).
register(VocoderSpec(
    name="diffwave",
    family="diffusion",
    config=BASE,
    mel_preset="diffwave",
    build=DiffwaveModel,
    weights=WeightsSource(
        "url", layout=OFFICIAL_LAYOUT,
        url="https://lmnt.com/assets/diffwave/diffwave-ljspeech-22kHz-1000578.pt",
        sha256="d415d2117bb0bba3999afabdd67ed11d9e43400af26193a451d112e2560821a8",
        licence="Apache-2.0 (lmnt-com/diffwave)",
        notes="LJSpeech, 1,000,578 steps; URL and SHA-256 from the lmnt-com/diffwave README",
    ),
    load=load_official,
    published_params=2_619_971,
    paper=PAPER,
    description="DiffWave base (30 layers, 64 channels, dilation cycle 10), 6-step fast "
                "sampler (config.inference_schedule; None = the 50-step training chain), noise "
                "seeded per utterance. Front-end: lmnt's own mel, the 'diffwave' preset "
                "(src/diffwave/preprocess.py: 22.05 kHz, n_fft 1024, hop 256, 80 HTK mels "
                "20–11025 Hz, window-normalised magnitude STFT, 20·log10(max(x, 1e-5)) − 20 dB "
                "mapped from [−100, 0] dB to [0, 1])."))
