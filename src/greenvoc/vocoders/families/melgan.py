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

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.pqmf import PQMF
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register

SLOPE = 0.2


@dataclass(frozen=True)
class MelganConfig:
    """Generator hyper-parameters (names of ParallelWaveGAN's ``generator_params``).

    channels: width after the input conv (melgan-neurips: ``ngf · 2^len(ratios)``);
    out_channels: 1 (waveform) or the number of PQMF sub-bands; input_log10: the checkpoint was
    trained on log10 mels while the greenvoc preset gives natural-log ones (the forward divides
    by ln 10); pqmf_*: the synthesis bank when out_channels > 1.
    """

    n_mels: int = 80
    channels: int = 512
    upsample_scales: tuple[int, ...] = (8, 8, 2, 2)
    stacks: int = 3
    stack_kernel_size: int = 3
    kernel_size: int = 7
    out_channels: int = 1
    input_log10: bool = False
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
        if self.config.input_log10:
            mel = mel / math.log(10.0)
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


def _read_stats(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """ParallelWaveGAN's mel statistics beside a checkpoint: ``stats.h5`` (datasets ``mean``,
    ``scale``) or ``stats.npy`` (rows mean, scale); None if neither is there."""
    if (folder / "stats.npy").is_file():
        mean, scale = np.load(folder / "stats.npy")[:2]
        return mean.reshape(-1), scale.reshape(-1)
    if (folder / "stats.h5").is_file():
        try:
            import h5py
        except ImportError as e:
            raise CheckpointError(
                f"{folder / 'stats.h5'} needs h5py to read (pip install h5py), or convert it to "
                "stats.npy holding the rows [mean, scale]"
            ) from e
        with h5py.File(folder / "stats.h5", "r") as f:
            return np.asarray(f["mean"]).reshape(-1), np.asarray(f["scale"]).reshape(-1)
    return None


def _unpack(path: Path, into: Path) -> Path:
    """A ParallelWaveGAN release archive (``*.tar.gz``: ``checkpoint-*steps.pkl``, ``config.yml``,
    ``stats.h5``) → the checkpoint, extracted with its stats into ``into``."""
    import tarfile

    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and
                   (m.name.endswith(".pkl") or Path(m.name).name in ("stats.h5", "stats.npy"))]
        for m in members:
            m.name = Path(m.name).name  # flatten, and never write outside ``into``
            tar.extract(m, into, filter="data")
    found = sorted(into.glob("*.pkl"))
    if not found:
        raise CheckpointError(f"{path}: no checkpoint-*.pkl inside the archive")
    return found[-1]


def load_parallel_wavegan(module: MelganGenerator, path: Path) -> None:
    """kan-bayashi/ParallelWaveGAN: ``{"model": {"generator": state}}`` (``.pkl``, or the release
    archive, any name); mel statistics from a ``stats.h5``/``stats.npy`` beside it or in it."""
    import tarfile
    import tempfile

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        # by content, not name: a Google Drive download is cached under the name "uc"
        if path.is_file() and tarfile.is_tarfile(path):
            path = _unpack(path, Path(tmp))
        state = read_checkpoint(path, unwrap=("model", "generator"))
        load_into(module, state, path, rename=sequential_rename(
            module.config, "melgan", ("stack.2", "stack.4", "skip_layer")))
        stats = _read_stats(path.parent)
    if stats is not None:
        mean, scale = (torch.as_tensor(a, dtype=torch.float32) for a in stats)
        if mean.numel() != module.config.n_mels or scale.numel() != module.config.n_mels:
            raise CheckpointError(f"{path.parent}: stats hold {mean.numel()} bands, "
                                  f"the model takes {module.config.n_mels}")
        module.mel_mean.copy_(mean)
        module.mel_scale.copy_(scale)


MELGAN_PAPER = ("Kumar et al., MelGAN, NeurIPS 2019 (arXiv 1910.06711); code "
                "descriptinc/melgan-neurips mel2wav/modules.py")
MB_MELGAN_PAPER = ("Yang et al., Multi-band MelGAN, SLT 2021 (arXiv 2005.05106); code and "
                   "checkpoint kan-bayashi/ParallelWaveGAN egs/ljspeech/voc1/conf/"
                   "multi_band_melgan.v2.yaml")

# melgan-neurips: Generator(80, ngf=32, n_residual_layers=3), ratios [8, 8, 2, 2].
MELGAN = MelganConfig(channels=32 * 2**4, input_log10=True)
# ParallelWaveGAN multi_band_melgan.v2: channels 384, upsample [8, 4, 2], stacks 4, 4 bands.
MB_MELGAN = MelganConfig(channels=384, upsample_scales=(8, 4, 2), stacks=4, out_channels=4)

register(VocoderSpec(
    name="melgan",
    family="gan",
    config=MELGAN,
    mel_preset="bigvgan-v2-22k-80",
    build=MelganGenerator,
    weights=WeightsSource(
        "url", layout="descriptinc/melgan-neurips",
        url="https://raw.githubusercontent.com/descriptinc/melgan-neurips/master/models/"
            "linda_johnson.pt",
        licence="MIT (descriptinc/melgan-neurips)",
        notes="LJSpeech generator, Generator(80, 32, 3); weight-norm keys, folded at load",
    ),
    load=load_melgan_neurips,
    published_params=4_260_257,
    paper=MELGAN_PAPER,
    description=(
        "MelGAN, official LJSpeech model (ngf 32, 3 residual layers, ratios 8-8-2-2). Its "
        "front-end (mel2wav Audio2Mel: 22.05 kHz, 1024/256, 80 Slaney mels, fmin 0, fmax "
        "11025, reflect pad 384, center=False, log10(clamp(|X|·mel, 1e-5))) is the "
        "bigvgan-v2-22k-80 preset up to the log base (and a 1e-9 under the square root): the "
        "generator divides the preset's natural-log mel by ln 10. 4.26M parameters (paper's "
        "comparison table), counted exactly from mel2wav/modules.py after weight-norm removal."
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
              "config.yml, stats.h5; the loader reads the archive or the extracted .pkl",
    ),
    load=load_parallel_wavegan,
    published_params=2_534_356,
    paper=MB_MELGAN_PAPER,
    description=(
        "Multi-band MelGAN (ParallelWaveGAN multi_band_melgan.v2, LJSpeech): 384 channels, "
        "upsample 8-4-2, 4 residual stacks per stage, 4 sub-bands merged by a PQMF bank (62 "
        "taps, cutoff 0.15, β 9). Mel: the pwg preset; the checkpoint's stats.h5 standardises "
        "it inside the generator. Parameters counted from the config after weight-norm removal."
    ),
))
