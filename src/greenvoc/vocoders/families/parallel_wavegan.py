"""Parallel WaveGAN (Yamamoto, Song & Kim, ICASSP 2020): a non-causal WaveNet that turns
Gaussian noise into speech in one pass, conditioned on an upsampled mel.

Official code and checkpoints: kan-bayashi/ParallelWaveGAN (MIT). The generator read here is
``parallel_wavegan/models/parallel_wavegan.py::ParallelWaveGANGenerator`` with the LJSpeech
recipe ``egs/ljspeech/voc1/conf/parallel_wavegan.v1.yaml``; its conditioning network is
``parallel_wavegan/layers/upsample.py::ConvInUpsampleNetwork``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.noise import item_generators, item_randn
from greenvoc.vocoders.blocks.wavenet import WaveNetStack
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import (
    HIFIGAN_MEL_KEYS,
    check_release_mel,
    mismatch,
    open_release,
    read_config,
    read_stats,
)

#: ParallelWaveGAN's config.yml names n_fft ``fft_size`` and has no window key of its own here.
PWG_MEL_KEYS = {("fft_size" if k == "n_fft" else k): v for k, v in HIFIGAN_MEL_KEYS.items()
                if k != "win_size"}

log = logging.getLogger(__name__)
#: The checkpoint inside a kan-bayashi release (``checkpoint-400000steps.pkl``).
RELEASE_PATTERNS = ("checkpoint-*steps.pkl", "*.pkl")
#: Which generator class each zoo entry of this layout takes, and which entry the others are.
GENERATOR_ENTRIES = {"ParallelWaveGANGenerator": "pwg", "MelGANGenerator": "mb-melgan (or "
                     "melgan, out_channels 1)"}

PAPER = ("Yamamoto, Song & Kim, Parallel WaveGAN, ICASSP 2020 (arXiv 1910.11480); code "
         "kan-bayashi/ParallelWaveGAN")
OFFICIAL_LAYOUT = "kan-bayashi/ParallelWaveGAN"


@dataclass(frozen=True)
class ParallelWaveganConfig:
    """``generator_params`` of ``parallel_wavegan.v1.yaml``, plus the noise seed.

    aux_context_window: mel frames of context each side seen by ``conv_in`` (the mel is
    replication-padded by that many frames, as ``ParallelWaveGANGenerator.inference`` does).
    seed: seed of the input noise z, drawn per utterance.
    """

    layers: int = 30
    stacks: int = 3
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    aux_channels: int = 80
    aux_context_window: int = 2
    kernel_size: int = 3
    upsample_scales: tuple[int, ...] = (4, 4, 4, 4)
    seed: int = 0


class ConvInUpsample(nn.Module):
    """conv_in (k = 2·window + 1, no padding) then, per scale s, nearest-neighbour stretch ×s
    in time and a Conv2d (1, 2s + 1) smoothing over time. (B, C, T + 2·window) → (B, C, T·∏s).

    Keys as the official module: ``conv_in``, ``upsample.up_layers.{2i+1}`` (the even indices
    are the parameter-free stretches)."""

    def __init__(self, aux_channels: int, window: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.scales = scales
        self.conv_in = nn.Conv1d(aux_channels, aux_channels, 2 * window + 1, bias=False)
        self.upsample = nn.Module()
        self.upsample.up_layers = nn.ModuleDict({
            str(2 * i + 1): nn.Conv2d(1, 1, (1, 2 * s + 1), padding=(0, s), bias=False)
            for i, s in enumerate(scales)
        })

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        c = self.conv_in(c).unsqueeze(1)
        for i, s in enumerate(self.scales):
            c = F.interpolate(c, scale_factor=(1, s), mode="nearest")
            c = self.upsample.up_layers[str(2 * i + 1)](c)
        return c.squeeze(1)


class ParallelWaveganGenerator(nn.Module):
    """mel (B, aux_channels, T) → waveform (B, 1, T·∏upsample_scales); z drawn inside."""

    def __init__(self, config: ParallelWaveganConfig) -> None:
        super().__init__()
        self.config = config
        self.hop = math.prod(config.upsample_scales)
        self.first_conv = nn.Conv1d(1, config.residual_channels, 1)
        self.upsample_net = ConvInUpsample(config.aux_channels, config.aux_context_window,
                                           config.upsample_scales)
        self.stack = WaveNetStack(
            config.layers, config.stacks, config.residual_channels, config.gate_channels,
            config.skip_channels, config.aux_channels, config.kernel_size, causal=False,
            aux_bias=False, skip_merge="sqrt-mean",
        )
        self.last_conv_layers = nn.ModuleDict({
            "1": nn.Conv1d(config.skip_channels, config.skip_channels, 1),
            "3": nn.Conv1d(config.skip_channels, 1, 1),
        })
        # the release's stats.h5 standardises the mel (inference(normalize_before=True));
        # identity until a checkpoint's statistics are loaded
        self.register_buffer("mel_mean", torch.zeros(config.aux_channels), persistent=False)
        self.register_buffer("mel_scale", torch.ones(config.aux_channels), persistent=False)

    def generate(self, z: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """z: (B, 1, T·hop) noise; mel: (B, C, T). Returns (B, 1, T·hop)."""
        w = self.config.aux_context_window
        mel = (mel - self.mel_mean[:, None]) / self.mel_scale[:, None]
        c = self.upsample_net(F.pad(mel, (w, w), mode="replicate"))
        skips = self.stack(self.first_conv(z), c)
        return self.last_conv_layers["3"](F.relu(self.last_conv_layers["1"](F.relu(skips))))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        gens = item_generators(mel.shape[0], self.config.seed)
        z = item_randn(gens, (1, mel.shape[-1] * self.hop), mel)
        return self.generate(z, mel)


def official_to_greenvoc(key: str) -> str:
    """``conv_layers.i.{conv,conv1x1_aux,conv1x1_out,conv1x1_skip}`` →
    ``stack.layers.i.{conv,aux,out,skip}``; everything else keeps its official name."""
    if key.startswith("conv_layers."):
        key = "stack.layers." + key[len("conv_layers."):]
        for old, new in ((".conv1x1_aux.", ".aux."), (".conv1x1_out.", ".out."),
                         (".conv1x1_skip.", ".skip.")):
            key = key.replace(old, new)
    return key


def release_generator_params(spec: VocoderSpec, path: Path, generator_type: str
                             ) -> dict[str, Any] | None:
    """``generator_params`` of the release's ``config.yml`` (None for a checkpoint without one),
    after checking that the release is a ``generator_type`` trained on this entry's front-end
    (rate, FFT, hop, bands, fmin, fmax of ``spec.mel_config``)."""
    with open_release(path, RELEASE_PATTERNS) as release:
        if release.config is None:
            return None
        config = read_config(release.config)
    found = config.get("generator_type", "ParallelWaveGANGenerator")
    if found != generator_type:
        raise CheckpointError(
            f"{path}: the release's config.yml builds a {found}, which looks like the zoo's "
            f"{GENERATOR_ENTRIES.get(found, 'none of its entries')}; {spec.name} takes a "
            f"{generator_type}")
    check_release_mel(spec, path, config, PWG_MEL_KEYS)
    return dict(config.get("generator_params") or {})


def pwg_config(spec: VocoderSpec, path: Path) -> ParallelWaveganConfig:
    """The architecture the release declares (``configure`` of the pwg entries)."""
    params = release_generator_params(spec, path, "ParallelWaveGANGenerator")
    if params is None:
        return spec.config
    for key, want in (("in_channels", 1), ("out_channels", 1), ("use_causal_conv", False),
                      ("upsample_net", "ConvInUpsampleNetwork")):
        if key in params and params[key] != want:
            mismatch(path, f"generator_params.{key}", params[key], want,
                     "greenvoc builds the LJSpeech recipe's variant only")
    fields = {f.name for f in dataclasses.fields(ParallelWaveganConfig)}
    known = {k: v for k, v in params.items() if k in fields}
    scales = (params.get("upsample_params") or {}).get("upsample_scales")
    if scales is not None:
        known["upsample_scales"] = tuple(scales)
    config = dataclasses.replace(spec.config, **known)
    hop = math.prod(config.upsample_scales)
    if hop != spec.hop_length:
        mismatch(path, "upsampling (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal the product of "
                 "upsample_scales")
    return config


def load_release(module: nn.Module, path: Path, rename: Callable[[str], str],
                 n_mels: int) -> None:
    """A kan-bayashi/ParallelWaveGAN release — the ``*.tar.gz`` archive, the folder it unpacks
    to, or the ``checkpoint-*steps.pkl`` with ``stats.h5`` beside it — into ``module``:
    weights from ``{"model": {"generator": state}}`` (a bare ``{"generator": …}`` or state dict
    too), mel statistics into its ``mel_mean``/``mel_scale`` buffers."""
    with open_release(path, RELEASE_PATTERNS) as release:
        state = read_checkpoint(release.checkpoint)
        for wrapper in ("model", "generator"):
            if isinstance(state.get(wrapper), Mapping):
                state = dict(state[wrapper])
        load_into(module, state, release.checkpoint, rename=rename)
        stats = read_stats(release.stats) if release.stats is not None else None
    if stats is None:
        log.warning("%s: no stats.h5/stats.npy in the release: the mel is not standardised "
                    "(the official inference(normalize_before=True) needs them)", path)
        return
    mean, scale = (torch.as_tensor(a, dtype=torch.float32) for a in stats)
    if mean.numel() != n_mels or scale.numel() != n_mels:
        raise CheckpointError(f"{release.stats}: statistics of {mean.numel()} bands, the model "
                              f"takes {n_mels}")
    module.mel_mean.copy_(mean)
    module.mel_scale.copy_(scale)


def load_official(module: ParallelWaveganGenerator, path: Path) -> None:
    """Read a kan-bayashi/ParallelWaveGAN release (see :func:`load_release`; weight norm on
    every conv, folded here)."""
    load_release(module, path, official_to_greenvoc, module.config.aux_channels)


V1 = ParallelWaveganConfig()

# Parameters after weight-norm removal, counted from parallel_wavegan.v1.yaml and the official
# modules: 30 layers × (64·128·3 + 128 + 80·128 + 2·(64·64 + 64)) = 1,297,920; first_conv 128;
# conv_in 80·80·5 = 32,000; four Conv2d (1, 9) = 36; last 1×1 convs 4,160 + 65 → 1,334,309.
# (The paper's table gives 1.44 M for its PWG; the released v1 generator has 1.33 M.)
register(VocoderSpec(
    name="pwg",
    family="gan",
    config=V1,
    mel_preset="pwg",
    build=ParallelWaveganGenerator,
    weights=WeightsSource(
        "url", layout=OFFICIAL_LAYOUT,
        url="https://drive.google.com/uc?id=1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U",
        filename="ljspeech_parallel_wavegan.v1.tar.gz",
        sha256=None, licence="MIT (kan-bayashi/ParallelWaveGAN)",
        notes="PRETRAINED_MODEL_LIST['ljspeech_parallel_wavegan.v1'] (parallel_wavegan/utils, "
              "Google Drive, no published checksum): a tar.gz holding "
              "checkpoint-400000steps.pkl, config.yml and stats.h5, unpacked by zoo pull; the "
              "architecture follows config.yml and stats.h5 standardises the mel inside the "
              "generator, as inference(normalize_before=True)",
    ),
    load=load_official,
    configure=pwg_config,
    published_params=1_334_309,
    paper=PAPER,
    description="Parallel WaveGAN v1 (LJSpeech recipe): 30-layer non-causal WaveNet, 3 "
                "stacks, residual 64, gate 128, skip 64, ConvInUpsampleNetwork ×256; input "
                "noise seeded per utterance (config.seed). Front-end: the pwg preset (log10 "
                "Slaney mel 80–7600 Hz) standardised per band by the release's stats.h5 inside "
                "the generator. Params counted from parallel_wavegan.v1.yaml (the paper "
                "reports 1.44 M).",
))
