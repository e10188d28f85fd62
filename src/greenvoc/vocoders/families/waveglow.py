"""WaveGlow (Prenger, Valle & Catanzaro, ICASSP 2019): a normalising flow of invertible 1×1
convolutions and WaveNet-like affine couplings; inference runs the flow backwards from noise.

Official code and checkpoint: NVIDIA/waveglow (BSD-3-Clause): ``glow.py`` (``WaveGlow``, ``WN``,
``Invertible1x1Conv``; ``WaveGlow.infer`` is reproduced in :meth:`WaveglowModel.forward`) and
``config.json`` (12 flows, groups of 8 samples, 2 channels out early every 4 flows, WN 8 layers,
256 channels, kernel 3). Only the inference direction is built.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.noise import item_generators, item_randn
from greenvoc.vocoders.blocks.wavenet import WaveNetStack
from greenvoc.vocoders.checkpoint import fold_weight_norm, load_into
from greenvoc.vocoders.pickled import read_pickled_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import mismatch

PAPER = ("Prenger, Valle & Catanzaro, WaveGlow, ICASSP 2019 (arXiv 1811.00002); code "
         "NVIDIA/waveglow")
OFFICIAL_LAYOUT = "NVIDIA/waveglow"
UPSAMPLE_KERNEL, UPSAMPLE_STRIDE = 1024, 256


@dataclass(frozen=True)
class WaveglowConfig:
    """``waveglow_config`` of NVIDIA/waveglow ``config.json``, plus the sampler's knobs.

    sigma: standard deviation of the latent noise at inference (the README's ``-s 0.6``).
    seed: noise seed, drawn per utterance.
    """

    n_mel_channels: int = 80
    n_flows: int = 12
    n_group: int = 8
    n_early_every: int = 4
    n_early_size: int = 2
    wn_layers: int = 8
    wn_channels: int = 256
    wn_kernel_size: int = 3
    sigma: float = 0.6
    seed: int = 0

    def flow_channels(self) -> list[int]:
        """Audio channels entering each flow (8, 8, 8, 8, 6, …, 4)."""
        channels, remaining = [], self.n_group
        for k in range(self.n_flows):
            if k % self.n_early_every == 0 and k > 0:
                remaining -= self.n_early_size
            channels.append(remaining)
        return channels


class CouplingNetwork(nn.Module):
    """WaveGlow's ``WN``: half the audio channels (B, n_half, T') and the grouped mel
    (B, n_mel·n_group, T') → (b, log s), each (B, n_half, T'). Keys ``start``, ``end`` and the
    shared WaveNet stack (``stack.layers.i.{conv,aux,out,skip}``; the last layer is skip-only)."""

    def __init__(self, n_half: int, cond_channels: int, config: WaveglowConfig) -> None:
        super().__init__()
        c = config.wn_channels
        self.start = nn.Conv1d(n_half, c, 1)
        self.stack = WaveNetStack(
            config.wn_layers, 1, c, 2 * c, c, cond_channels, config.wn_kernel_size,
            causal=False, residual_scale=1.0, last_residual_out=False, skip_merge="sum",
        )
        self.end = nn.Conv1d(c, 2 * n_half, 1)

    def forward(self, audio: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.end(self.stack(self.start(audio), cond))


class WaveglowModel(nn.Module):
    """mel (B, n_mels, T) → waveform (B, T·256): the flow run from N(0, σ²) noise."""

    def __init__(self, config: WaveglowConfig) -> None:
        super().__init__()
        self.config = config
        cond = config.n_mel_channels * config.n_group
        self.upsample = nn.ConvTranspose1d(config.n_mel_channels, config.n_mel_channels,
                                           UPSAMPLE_KERNEL, stride=UPSAMPLE_STRIDE)
        self.WN = nn.ModuleList(CouplingNetwork(ch // 2, cond, config)
                                for ch in config.flow_channels())
        self.convinv = nn.ModuleList(nn.Module() for _ in config.flow_channels())
        for inv, ch in zip(self.convinv, config.flow_channels(), strict=True):
            inv.conv = nn.Conv1d(ch, ch, 1, bias=False)
            # a random rotation with determinant +1, as the official initialisation
            q = torch.linalg.qr(torch.randn(ch, ch))[0]
            if torch.det(q) < 0:
                q[:, 0] = -q[:, 0]
            inv.conv.weight.data.copy_(q.unsqueeze(-1))

    def grouped_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, M, T) → upsampled and folded into groups of n_group samples:
        (B, M·n_group, T·256/n_group)."""
        g = self.config.n_group
        spect = self.upsample(mel)[:, :, : -(UPSAMPLE_KERNEL - UPSAMPLE_STRIDE)]
        spect = spect.unfold(2, g, g).permute(0, 2, 1, 3)  # (B, T', M, g)
        return spect.reshape(spect.shape[0], spect.shape[1], -1).transpose(1, 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        spect = self.grouped_mel(mel)
        frames = spect.shape[-1]
        gens = item_generators(mel.shape[0], cfg.seed)
        audio = cfg.sigma * item_randn(gens, (cfg.flow_channels()[-1], frames), spect)
        for k in reversed(range(cfg.n_flows)):
            n_half = audio.shape[1] // 2
            audio_0, audio_1 = audio[:, :n_half], audio[:, n_half:]
            output = self.WN[k](audio_0, spect)
            b, log_s = output[:, :n_half], output[:, n_half:]
            audio = torch.cat((audio_0, (audio_1 - b) / torch.exp(log_s)), 1)
            w = self.convinv[k].conv.weight[:, :, 0]
            audio = F.conv1d(audio, torch.linalg.inv(w.double()).to(audio.dtype).unsqueeze(-1))
            if k % cfg.n_early_every == 0 and k > 0:
                z = item_randn(gens, (cfg.n_early_size, frames), spect)
                audio = torch.cat((cfg.sigma * z, audio), 1)
        return audio.transpose(1, 2).reshape(audio.shape[0], -1)


def official_to_greenvoc(state: Mapping[str, torch.Tensor], config: WaveglowConfig
                         ) -> dict[str, torch.Tensor]:
    """NVIDIA/waveglow keys → greenvoc's. Handles both WN layouts: the current one (one
    ``cond_layer`` for all layers, fused ``res_skip_layers``) and the older one of the first
    released models (``cond_layers.i``, ``res_layers.i`` + ``skip_layers.i``)."""
    c, last = config.wn_channels, config.wn_layers - 1
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = re.match(r"WN\.(\d+)\.(\w+?)(?:\.(\d+))?\.(weight|bias)$", key)
        if not m or m.group(2) in ("start", "end"):
            out[key] = value
            continue
        flow, kind, layer, param = m.groups()
        base = f"WN.{flow}.stack.layers"
        if kind == "cond_layer":
            for i, part in enumerate(value.split(2 * c)):
                out[f"{base}.{i}.aux.{param}"] = part
        elif kind == "res_skip_layers":
            if int(layer) < last:
                out[f"{base}.{layer}.out.{param}"] = value[:c]
                out[f"{base}.{layer}.skip.{param}"] = value[c:]
            else:
                out[f"{base}.{layer}.skip.{param}"] = value
        else:
            own = {"in_layers": "conv", "cond_layers": "aux", "res_layers": "out",
                   "skip_layers": "skip"}.get(kind)
            if own is None:
                out[key] = value  # unknown: load_into reports it as unexpected
            else:
                out[f"{base}.{layer}.{own}.{param}"] = value
    return out


def read_official(path: Path) -> dict[str, torch.Tensor]:
    """The weights of a WaveGlow checkpoint: NVIDIA's ``{"model": glow.WaveGlow, …}`` (a whole
    pickled model, read with stand-in classes, nothing of it run), or a state dict, bare or
    under ``"model"`` / ``"state_dict"``."""
    data = read_pickled_checkpoint(path)
    for wrapper in ("model", "state_dict"):
        if isinstance(data, Mapping) and wrapper in data:
            data = data[wrapper]
    if isinstance(data, nn.Module):
        data = data.state_dict()
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{path}: expected a WaveGlow model or state dict, found "
                              f"{type(data).__name__}")
    return dict(data)


def load_official(module: WaveglowModel, path: Path) -> None:
    state = official_to_greenvoc(fold_weight_norm(read_official(path)), module.config)
    load_into(module, state, path)


def _shape(state: Mapping[str, torch.Tensor], stem: str) -> tuple[int, ...]:
    """The shape of ``stem``'s weight, whether stored plain or as a weight-norm pair."""
    for suffix in (".weight", ".weight_v", ".parametrizations.weight.original1"):
        if stem + suffix in state:
            return tuple(state[stem + suffix].shape)
    raise CheckpointError(f"the checkpoint has no {stem}.weight (is it a WaveGlow?)")


def checkpoint_config(spec: VocoderSpec, path: Path) -> WaveglowConfig:
    """The architecture of the checkpoint at ``path``, read from its tensor shapes (NVIDIA's
    ``config.json`` values are not stored beside the weights): flows and their audio channels
    from ``convinv``, hence ``n_group``, ``n_early_every`` and ``n_early_size``; WN layers,
    channels and kernel from ``WN.0``; mel bands from ``upsample``, which must be the
    front-end's."""
    state = read_official(path)
    convinv = sorted({int(k.split(".")[1]) for k in state if k.startswith("convinv.")})
    channels = [_shape(state, f"convinv.{k}.conv")[0] for k in convinv]
    if not channels or convinv != list(range(len(convinv))):
        raise CheckpointError(f"{path}: no invertible convolutions convinv.0… (found keys "
                              f"{sorted(state)[:6]}); is it a WaveGlow checkpoint?")
    drops = [k for k in range(1, len(channels)) if channels[k] < channels[k - 1]]
    every = drops[0] if drops else len(channels)
    layers = len({k.split(".")[3] for k in state if k.startswith("WN.0.in_layers.")}) or len(
        {k.split(".")[3] for k in state if k.startswith("WN.0.cond_layers.")})
    config = dataclasses.replace(
        spec.config, n_mel_channels=_shape(state, "upsample")[0], n_flows=len(channels),
        n_group=channels[0], n_early_every=every,
        n_early_size=channels[every - 1] - channels[every] if drops else spec.config.n_early_size,
        wn_layers=layers, wn_channels=_shape(state, "WN.0.start")[0],
        wn_kernel_size=_shape(state, "WN.0.in_layers.0")[-1])
    if config.flow_channels() != channels:
        raise CheckpointError(f"{path}: flows of {channels} audio channels do not drop by a "
                              "fixed size at a fixed period, as NVIDIA's WaveGlow does")
    if config.n_mel_channels != spec.mel_config.n_mels:
        mismatch(path, "n_mel_channels", config.n_mel_channels, spec.mel_config.n_mels,
                 f"the {spec.mel_preset!r} front-end gives {spec.mel_config.n_mels} bands")
    return config


def _spec(name: str, config: WaveglowConfig, params: int, weights: WeightsSource,
          description: str) -> VocoderSpec:
    return VocoderSpec(
        name=name, family="flow", config=config, mel_preset="tacotron2", build=WaveglowModel,
        weights=weights, load=load_official, configure=checkpoint_config,
        published_params=params, paper=PAPER,
        description=description + FRONT_END,
    )


FRONT_END = (" Front-end: the 'tacotron2' preset, NVIDIA Tacotron 2's TacotronSTFT that "
             "mel2samp.py trains on (22.05 kHz, 1024/256/1024, 80 Slaney mels, fmax 8000, "
             "centred reflect STFT, log(clamp(x, 1e-5))). The architecture (flows, group, "
             "early outputs, WN layers and channels) is read from the checkpoint's shapes.")

# Parameters after weight-norm removal, counted from glow.py and config.json (WN n_channels
# C = 256; the gated convolutions have 2C = 512 output channels). Per
# flow with n_half audio channels: start n_half·C + C; 8 dilated convs C·2C·3 + 2C; cond
# (80·8)·2C·8 + 2C·8; res/skip 7·(C·2C + 2C) + C·C + C; end C·2n_half + 2n_half; the inverse
# 1×1 conv (2·n_half)²; plus the upsampler 80·80·1024 + 80 → 87,731,816. The paper's 87.88 M
# matches with the weight-norm gains counted too (147,456 of them): 87,879,272.
register(_spec(
    "waveglow", WaveglowConfig(), 87_731_816,
    WeightsSource(
        "url", layout=OFFICIAL_LAYOUT,
        url="https://drive.google.com/file/d/1rpK8CzAAirq9sWZhe9nlfvxMF1dRgFbF/view",
        filename="waveglow_256channels_universal_v5.pt",
        sha256=None, licence="BSD-3-Clause (NVIDIA/waveglow)",
        notes="waveglow_256channels_universal_v5.pt (the NVIDIA/waveglow and NVIDIA/tacotron2 "
              "READMEs' 'published model', Google Drive, no published checksum): a pickled "
              "glow.WaveGlow under 'model', read without importing NVIDIA's code.",
    ),
    "WaveGlow as released (config.json: 12 flows, groups of 8, WN 8 layers × 256 residual / "
    "512 gate channels), σ = 0.6, noise seeded per utterance.",
))
