"""MelGAN (Kumar et al., NeurIPS 2019) and Multi-band MelGAN (Yang et al., SLT 2021).

One generator: a 7-tap input conv, per upsampling stage LeakyReLU(0.2) → transposed conv
(kernel 2r, stride r) → residual stacks with dilations 1, 3, 9, …, then LeakyReLU → 7-tap conv →
tanh, reflection padding throughout. MelGAN outputs the waveform; Multi-band MelGAN outputs 4
sub-bands at 1/4 of the rate that a PQMF synthesis bank merges.

Official layouts read here:
``descriptinc/melgan-neurips`` (``mel2wav/modules.py::Generator``: a Sequential ``model.N``,
residual blocks ``block.2``/``block.4``/``shortcut``; ``models/linda_johnson.pt`` is a bare
state dict with weight-norm keys) and ``kan-bayashi/ParallelWaveGAN`` (``MelGANGenerator``: a
Sequential ``melgan.N``, residual stacks ``stack.2``/``stack.4``/``skip_layer``; checkpoints
``{"model": {"generator": state_dict}}`` with a ``stats.h5`` of mel statistics beside them).
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

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.pqmf import PQMF
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.families.parallel_wavegan import (
    RELEASE_PATTERNS,
    load_release,
    release_generator_params,
)
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import mismatch, open_release, read_config

SLOPE = 0.2


@dataclass(frozen=True)
class MelganConfig:
    """Generator hyper-parameters (names of ParallelWaveGAN's ``generator_params``).

    channels: width after the input conv (melgan-neurips: ``ngf · 2^len(ratios)``);
    out_channels: 1 (waveform) or the number of PQMF sub-bands; pqmf_*: the synthesis bank when
    out_channels > 1.
    """

    n_mels: int = 80
    channels: int = 512
    upsample_scales: tuple[int, ...] = (8, 8, 2, 2)
    stacks: int = 3
    stack_kernel_size: int = 3
    kernel_size: int = 7
    out_channels: int = 1
    pqmf_taps: int = 62
    pqmf_cutoff_ratio: float = 0.15
    pqmf_beta: float = 9.0


class ResidualStack(nn.Module):
    """x + pointwise(lrelu(dilated(lrelu(x)))) with a learnt 1×1 shortcut instead of identity."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel_size - 1) // 2 * dilation
        self.dilated = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        self.shortcut = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.pad(F.leaky_relu(x, SLOPE), (self.pad, self.pad), mode="reflect")
        return self.shortcut(x) + self.pointwise(F.leaky_relu(self.dilated(h), SLOPE))


class MelganGenerator(nn.Module):
    """mel (B, n_mels, T) → waveform (B, 1, T · prod(upsample_scales) · out_channels)."""

    def __init__(self, config: MelganConfig) -> None:
        super().__init__()
        self.config = config
        self.edge_pad = (config.kernel_size - 1) // 2
        self.conv_pre = nn.Conv1d(config.n_mels, config.channels, config.kernel_size)
        self.ups = nn.ModuleList()
        self.stacks = nn.ModuleList()
        ch = config.channels
        for r in config.upsample_scales:
            self.ups.append(nn.ConvTranspose1d(ch, ch // 2, 2 * r, stride=r,
                                               padding=r // 2 + r % 2, output_padding=r % 2))
            ch //= 2
            self.stacks.append(nn.ModuleList(
                ResidualStack(ch, config.stack_kernel_size, config.stack_kernel_size**j)
                for j in range(config.stacks)
            ))
        self.conv_post = nn.Conv1d(ch, config.out_channels, config.kernel_size)
        self.pqmf = (PQMF(config.out_channels, config.pqmf_taps, config.pqmf_cutoff_ratio,
                          config.pqmf_beta) if config.out_channels > 1 else None)
        # ParallelWaveGAN standardises the mel per band with the training set's statistics;
        # identity until a checkpoint's stats are loaded.
        self.register_buffer("mel_mean", torch.zeros(config.n_mels), persistent=False)
        self.register_buffer("mel_scale", torch.ones(config.n_mels), persistent=False)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (self.edge_pad, self.edge_pad), mode="reflect")

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = (mel - self.mel_mean[:, None]) / self.mel_scale[:, None]
        x = self.conv_pre(self._pad(x))
        for up, stacks in zip(self.ups, self.stacks, strict=True):
            x = up(F.leaky_relu(x, SLOPE))
            for stack in stacks:
                x = stack(x)
        x = torch.tanh(self.conv_post(self._pad(F.leaky_relu(x, SLOPE))))
        return self.pqmf.synthesis(x) if self.pqmf is not None else x


def sequential_rename(config: MelganConfig, root: str, block: tuple[str, str, str]):
    """Key mapping from an official ``nn.Sequential`` generator (``root.N.``) to this module.

    Layer N: 0 pad, 1 input conv; per stage a LeakyReLU, the transposed conv, ``stacks``
    residual stacks; then LeakyReLU, pad, output conv. ``block`` names the dilated conv, the
    1×1 conv and the shortcut inside a residual stack.
    """
    table = {f"{root}.1": "conv_pre"}
    per_stage = 2 + config.stacks
    for i in range(len(config.upsample_scales)):
        base = 2 + i * per_stage
        table[f"{root}.{base + 1}"] = f"ups.{i}"
        for j in range(config.stacks):
            for official, ours in zip(block, ("dilated", "pointwise", "shortcut"), strict=True):
                table[f"{root}.{base + 2 + j}.{official}"] = f"stacks.{i}.{j}.{ours}"
    table[f"{root}.{2 + len(config.upsample_scales) * per_stage + 2}"] = "conv_post"

    def rename(key: str) -> str:
        prefix, _, param = key.rpartition(".")
        return f"{table[prefix]}.{param}" if prefix in table else key

    return rename


def load_melgan_neurips(module: MelganGenerator, path: Path) -> None:
    """descriptinc/melgan-neurips ``models/*.pt``: a bare generator state dict."""
    state = read_checkpoint(path)
    load_into(module, state, path,
              rename=sequential_rename(module.config, "model", ("block.2", "block.4", "shortcut")))


def load_parallel_wavegan(module: MelganGenerator, path: Path) -> None:
    """A kan-bayashi/ParallelWaveGAN MelGAN release (archive, folder or ``.pkl``; see
    :func:`parallel_wavegan.load_release`): weights, and ``stats.h5`` into the buffers."""
    load_release(module, path, sequential_rename(module.config, "melgan", ("stack.2", "stack.4",
                                                                           "skip_layer")),
                 module.config.n_mels)


#: ``parallel_wavegan.layers.PQMF``'s own defaults, and those ``utils.load_model`` sets for a
#: release whose config.yml says ``version`` ≤ 0.4.2 (the cut-off was re-tuned after it).
PQMF_DEFAULTS = {"taps": 62, "cutoff_ratio": 0.142, "beta": 9.0}
PQMF_UP_TO_0_4_2 = {"taps": 62, "cutoff_ratio": 0.15, "beta": 9.0}


def _version_parts(version: str) -> list[int | str]:
    """``distutils.version.LooseVersion``'s components: numbers and letter runs."""
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|[a-z]+", version.lower())]


def at_most_0_4_2(version: str) -> bool:
    """``LooseVersion(version) <= LooseVersion("0.4.2")``, as ``utils.load_model`` tests it."""
    parts = _version_parts(version)
    for ours, limit in zip(parts, (0, 4, 2), strict=False):
        if not isinstance(ours, int):
            return False  # LooseVersion orders a letter after a number here (str > int fails)
        if ours != limit:
            return ours < limit
    return len(parts) <= 3


def release_pqmf(config: dict) -> dict:
    """The PQMF ``utils.load_model`` builds for a release: ``pqmf_params`` of its config.yml
    over the defaults of the version that wrote it (``version``, "0.1.0" when absent)."""
    base = PQMF_UP_TO_0_4_2 if at_most_0_4_2(str(config.get("version", "0.1.0"))) else \
        PQMF_DEFAULTS
    return base | dict(config.get("pqmf_params") or {})


def parallel_wavegan_config(spec: VocoderSpec, path: Path) -> MelganConfig:
    """The architecture a ParallelWaveGAN ``MelGANGenerator`` release declares in config.yml
    (``generator_params`` and ``pqmf_params``), checked against the entry's front-end."""
    params = release_generator_params(spec, path, "MelGANGenerator")
    if params is None:
        return spec.config
    with open_release(path, RELEASE_PATTERNS) as release:
        release_config = read_config(release.config) if release.config else {}
    pqmf = release_pqmf(release_config)
    for key, want in (("use_causal_conv", False), ("use_final_nonlinear_activation", True),
                      ("pad", "ReflectionPad1d")):
        if key in params and params[key] != want:
            mismatch(path, f"generator_params.{key}", params[key], want,
                     "greenvoc builds the recipes' variant only")
    renames = {"in_channels": "n_mels", "channels": "channels", "kernel_size": "kernel_size",
               "stack_kernel_size": "stack_kernel_size", "stacks": "stacks",
               "out_channels": "out_channels"}
    known: dict[str, object] = {ours: params[k] for k, ours in renames.items() if k in params}
    if "upsample_scales" in params:
        known["upsample_scales"] = tuple(params["upsample_scales"])
    for k in ("taps", "cutoff_ratio", "beta"):
        known[f"pqmf_{k}"] = pqmf[k]
    config = dataclasses.replace(spec.config, **known)
    hop = math.prod(config.upsample_scales) * config.out_channels
    if hop != spec.hop_length:
        mismatch(path, "upsampling × sub-bands (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal it")
    return config


MELGAN_PAPER = ("Kumar et al., MelGAN, NeurIPS 2019 (arXiv 1910.06711); code "
                "descriptinc/melgan-neurips mel2wav/modules.py")
MB_MELGAN_PAPER = ("Yang et al., Multi-band MelGAN, SLT 2021 (arXiv 2005.05106); code and "
                   "checkpoint kan-bayashi/ParallelWaveGAN egs/ljspeech/voc1/conf/"
                   "multi_band_melgan.v2.yaml")

# melgan-neurips: Generator(80, ngf=32, n_residual_layers=3), ratios [8, 8, 2, 2].
MELGAN = MelganConfig(channels=32 * 2**4)
# ParallelWaveGAN multi_band_melgan.v2: channels 384, upsample [8, 4, 2], stacks 4, 4 bands.
MB_MELGAN = MelganConfig(channels=384, upsample_scales=(8, 4, 2), stacks=4, out_channels=4)

register(VocoderSpec(
    name="melgan",
    family="gan",
    config=MELGAN,
    mel_preset="melgan",
    build=MelganGenerator,
    weights=WeightsSource(
        "url", layout="descriptinc/melgan-neurips",
        url="https://raw.githubusercontent.com/descriptinc/melgan-neurips/"
            "6488045bfba1975602288de07a58570c7b4d66ea/models/linda_johnson.pt",
        licence="MIT (descriptinc/melgan-neurips)",
        notes="LJSpeech generator, Generator(80, 32, 3); weight-norm keys, folded at load; the "
              "URL is pinned to the repository's last commit, no checksum is published",
    ),
    load=load_melgan_neurips,
    published_params=4_260_257,
    paper=MELGAN_PAPER,
    description=(
        "MelGAN, official LJSpeech model (ngf 32, 3 residual layers, ratios 8-8-2-2). Its "
        "front-end is the melgan preset, mel2wav's Audio2Mel (22.05 kHz, 1024/256, 80 Slaney "
        "mels, fmin 0, fmax 11025, reflect pad 384, center=False, log10(clamp(|X|·mel, "
        "1e-5))). 4.26M parameters (paper's comparison table), counted exactly from "
        "mel2wav/modules.py after weight-norm removal."
    ),
))

register(VocoderSpec(
    name="mb-melgan",
    family="gan",
    config=MB_MELGAN,
    mel_preset="pwg",
    build=MelganGenerator,
    weights=WeightsSource(
        "url", layout="kan-bayashi/ParallelWaveGAN",
        url="https://drive.google.com/uc?export=download&id=1b70pJefKI8DhGYz4SxbEHpxm92tj1_qC",
        filename="ljspeech_multi_band_melgan.v2.tar.gz",
        licence="MIT (kan-bayashi/ParallelWaveGAN)",
        notes="ljspeech_multi_band_melgan.v2 release archive (tar.gz on Google Drive, id from "
              "parallel_wavegan/utils PRETRAINED_MODEL_LIST): checkpoint-1000000steps.pkl, "
              "config.yml, stats.h5, unpacked by zoo pull (no checksum is published); the "
              "architecture follows config.yml, stats.h5 standardises the mel in the generator",
    ),
    load=load_parallel_wavegan,
    configure=parallel_wavegan_config,
    published_params=2_534_356,
    paper=MB_MELGAN_PAPER,
    description=(
        "Multi-band MelGAN (ParallelWaveGAN multi_band_melgan.v2, LJSpeech): 384 channels, "
        "upsample 8-4-2, 4 residual stacks per stage, 4 sub-bands merged by a PQMF bank (62 "
        "taps, cutoff 0.15, β 9). Mel: the pwg preset; the checkpoint's stats.h5 standardises "
        "it inside the generator. Parameters counted from the config after weight-norm removal."
    ),
))
