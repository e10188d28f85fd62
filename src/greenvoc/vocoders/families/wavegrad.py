"""WaveGrad (Chen et al., "WaveGrad: Estimating Gradients for Waveform Generation", ICLR 2021,
arXiv 2009.00713): a diffusion vocoder conditioned on the continuous noise level √ᾱ.

Architecture, parameter count (15,810,401, stated in its README) and the noise schedules
from ivanvovk/WaveGrad @ 721c37c (BSD-3): ``model/nn.py``, ``upsampling.py``,
``downsampling.py``, ``linear_modulation.py``, ``diffusion_process.py``, ``configs/default.json``
and ``schedules/pretrained/{6,25}iters.pt``.

``wavegrad-lj`` is the published LJSpeech model as released: factors [5, 5, 3, 2, 2] (hop 300)
on its own mel (the ``wavegrad`` preset). ``wavegrad``/``wavegrad-25`` adapt the factors to
[4, 4, 4, 2, 2] for the hop-256 ``hifigan`` front-end (architecture only). The factors carry no
weights, so a checkpoint cannot tell its hop: the loader reads the ``config.json`` beside it
(ivanvovk's ``model_config``/``data_config``) and, without one, takes it for the published
hop-300 release, which a hop-256 entry refuses.

The sampler is ivanvovk's ``diffusion_process.py`` in float32, as the official code computes
it (its buffers are float32 tensors): ŷ₀ = √(1/ᾱ)·y − √(1/ᾱ − 1)·ε̂, clipped to [−1, 1];
y ← c₁·ŷ₀ + c₂·y + exp(½·log max(σ², 1e-20))·z; the last step adds no noise and the result
is not clipped (as the official ``sample``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import find_in_folder, mismatch, read_config, tuples

PAPER = "Chen et al., WaveGrad, ICLR 2021 (arXiv 2009.00713); code ivanvovk/WaveGrad"
OFFICIAL_LAYOUT = "ivanvovk/WaveGrad"
SLOPE = 0.2
#: The positional encoding's scale of the noise level (paper §3; LINEAR_SCALE in the code).
NOISE_LEVEL_SCALE = 5000.0

#: β schedules of ivanvovk/WaveGrad ``schedules/pretrained/<n>iters.pt``: 6 iterations from a
#: grid search refined by hand, 25 from a Fibonacci sequence (README, "Noise schedules").
SCHEDULES: dict[int, tuple[float, ...]] = {
    6: (1e-06, 1.8928729332401417e-05, 0.00011943212302867323, 0.0010047547984868288,
        0.01109425351023674, 0.05999999865889549),
    25: (1e-06, 2e-06, 3e-06, 5e-06, 8e-06, 1.3e-05, 2.1e-05, 3.4e-05, 5.5e-05, 8.9e-05,
         0.000144, 0.000233, 0.000377, 0.00061, 0.000987, 0.001597, 0.002584, 0.004181,
         0.006765, 0.010946, 0.017711, 0.028657, 0.046368, 0.075025, 0.121393),
}


@dataclass(frozen=True)
class WavegradConfig:
    """``model_config`` of configs/default.json, plus inference settings.

    n_steps: reverse-diffusion iterations, a key of :data:`SCHEDULES`; seed: the noise of the
    reverse process, drawn per call and shared by the items of a batch (batched and single
    calls agree).
    """

    n_mels: int = 80
    factors: tuple[int, ...] = (4, 4, 4, 2, 2)
    upsampling_preconv_out_channels: int = 768
    upsampling_out_channels: tuple[int, ...] = (512, 512, 256, 128, 128)
    upsampling_dilations: tuple[tuple[int, ...], ...] = (
        (1, 2, 1, 2), (1, 2, 1, 2), (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8))
    downsampling_preconv_out_channels: int = 32
    downsampling_out_channels: tuple[int, ...] = (128, 128, 256, 512)
    downsampling_dilations: tuple[tuple[int, ...], ...] = field(
        default=((1, 2, 4),) * 4)
    n_steps: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_steps not in SCHEDULES:
            raise ValueError(f"WavegradConfig.n_steps must be one of {sorted(SCHEDULES)}")


def _conv(in_ch: int, out_ch: int, kernel: int, dilation: int = 1) -> nn.Conv1d:
    return nn.Conv1d(in_ch, out_ch, kernel, padding=dilation * (kernel - 1) // 2,
                     dilation=dilation)


def _resample(x: torch.Tensor, length: int) -> torch.Tensor:
    return F.interpolate(x, size=length, mode="linear", align_corners=False)


def noise_level_encoding(level: torch.Tensor, channels: int) -> torch.Tensor:
    """√ᾱ (B,) → sinusoidal encoding (B, channels) of 5000·√ᾱ."""
    half = channels // 2
    freqs = 1e-4 ** (torch.arange(half, dtype=level.dtype, device=level.device) / half)
    angles = NOISE_LEVEL_SCALE * level[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class FiLM(nn.Module):
    """Down-stream features + noise level → (scale, shift) for one upsampling block."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.signal_conv = _conv(in_ch, in_ch, 3)
        self.scale_conv = _conv(in_ch, out_ch, 3)
        self.shift_conv = _conv(in_ch, out_ch, 3)

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.leaky_relu(self.signal_conv(x), SLOPE)
        h = h + noise_level_encoding(level, x.shape[1]).unsqueeze(-1)
        return self.scale_conv(h), self.shift_conv(h)


class UBlock(nn.Module):
    """Upsample by ``factor``; three FiLM-modulated dilated convs (paper Fig. 3)."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.factor = factor
        self.up_conv = _conv(in_ch, out_ch, 3, dilations[0])
        self.skip = _conv(in_ch, out_ch, 1)
        self.film_convs = nn.ModuleList(_conv(out_ch, out_ch, 3, d) for d in dilations[1:])

    def _modulated(self, i: int, x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor
                   ) -> torch.Tensor:
        return self.film_convs[i](F.leaky_relu(scale * x + shift, SLOPE))

    def forward(self, x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1] * self.factor
        h = self.up_conv(_resample(F.leaky_relu(x, SLOPE), length))
        h = self._modulated(0, h, scale, shift) + _resample(self.skip(x), length)
        return h + self._modulated(2, self._modulated(1, h, scale, shift), scale, shift)


class DBlock(nn.Module):
    """Downsample by ``factor``; dilated convs with a 1×1 residual."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.factor = factor
        ins = [in_ch] + [out_ch] * (len(dilations) - 1)
        self.convs = nn.ModuleList(_conv(i, out_ch, 3, d) for i, d in zip(ins, dilations,
                                                                          strict=True))
        self.skip = _conv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1] // self.factor
        h = _resample(x, length)
        for conv in self.convs:
            h = conv(F.leaky_relu(h, SLOPE))
        return h + _resample(self.skip(x), length)


class WavegradNet(nn.Module):
    """ε-predictor: (mel (B, n_mels, T), y_n (B, T·hop), √ᾱ (B,)) → ε̂ (B, T·hop)."""

    def __init__(self, c: WavegradConfig) -> None:
        super().__init__()
        up_in = (c.upsampling_preconv_out_channels, *c.upsampling_out_channels[:-1])
        down_in = (c.downsampling_preconv_out_channels, *c.downsampling_out_channels[:-1])
        self.mel_conv = _conv(c.n_mels, c.upsampling_preconv_out_channels, 3)
        self.ublocks = nn.ModuleList(
            UBlock(i, o, f, d) for i, o, f, d in zip(
                up_in, c.upsampling_out_channels, c.factors, c.upsampling_dilations, strict=True)
        )
        self.out_conv = _conv(c.upsampling_out_channels[-1], 1, 3)
        self.wave_conv = _conv(1, c.downsampling_preconv_out_channels, 5)
        self.dblocks = nn.ModuleList(
            DBlock(i, o, f, d) for i, o, f, d in zip(
                down_in, c.downsampling_out_channels, c.factors[1:][::-1],
                c.downsampling_dilations, strict=True)
        )
        film_in = (c.downsampling_preconv_out_channels, *c.downsampling_out_channels)
        self.films = nn.ModuleList(
            FiLM(i, o) for i, o in zip(film_in, c.upsampling_out_channels[::-1], strict=True)
        )

    def forward(self, mel: torch.Tensor, y: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        h = self.wave_conv(y.unsqueeze(1))
        stats = [self.films[0](h, level)]
        for dblock, film in zip(self.dblocks, self.films[1:], strict=True):
            h = dblock(h)
            stats.append(film(h, level))
        x = self.mel_conv(mel)
        for ublock, (scale, shift) in zip(self.ublocks, reversed(stats), strict=True):
            x = ublock(x, scale, shift)
        return self.out_conv(x).squeeze(1)


class Wavegrad(nn.Module):
    """mel (B, n_mels, T) → waveform (B, T·hop) by ``n_steps`` of ancestral DDPM sampling with
    the predicted y₀ clipped to [−1, 1], as ivanvovk's ``diffusion_process.py``."""

    def __init__(self, config: WavegradConfig) -> None:
        super().__init__()
        self.config = config
        self.hop_length = math.prod(config.factors)
        self.net = WavegradNet(config)
        self.register_buffer("coefs", sampler_coefficients(SCHEDULES[config.n_steps]),
                             persistent=False)

    def forward(self, mel: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """noise: (n_steps + 1, B, T·hop) standard normal (y_N, then the noise added at step
        t > 0 is ``noise[t + 1]``); drawn from ``config.seed`` when None, shared by the batch."""
        batch, length = mel.shape[0], mel.shape[-1] * self.hop_length
        if noise is None:
            gen = torch.Generator(device="cpu").manual_seed(self.config.seed)
            noise = torch.randn(self.config.n_steps + 1, 1, length, generator=gen)
            noise = noise.to(mel.device, mel.dtype).expand(-1, batch, -1)
        y = noise[0]
        for t in reversed(range(self.config.n_steps)):
            level, recip, recip_m1, c1, c2, std = self.coefs[:, t]
            eps = self.net(mel, y, level.expand(batch))
            y0 = (recip * y - recip_m1 * eps).clamp(-1.0, 1.0)
            y = c1 * y0 + c2 * y
            if t > 0:
                y = y + noise[t + 1] * std
        return y


def sampler_coefficients(betas: tuple[float, ...]) -> torch.Tensor:
    """(6, n) float32, per step t: √ᾱ_t (the noise level the network sees), √(1/ᾱ_t),
    √(1/ᾱ_t − 1) computed as √(1 − ᾱ_t)·√(1/ᾱ_t), the posterior mean coefficients c₁, c₂, and
    the posterior std exp(½·log max(σ²_t, 1e-20)) — each as ``set_new_noise_schedule``
    computes it in float32."""
    beta = torch.tensor(betas, dtype=torch.float32)
    alpha = 1 - beta
    alpha_bar = alpha.cumprod(dim=0)
    alpha_bar_prev = torch.cat([torch.ones(1), alpha_bar[:-1]])
    recip = (1 / alpha_bar).sqrt()
    variance = beta * (1 - alpha_bar_prev) / (1 - alpha_bar)
    log_variance = torch.maximum(variance, torch.full_like(variance, 1e-20)).log()
    return torch.stack([
        alpha_bar.sqrt(),
        recip,
        (1 - alpha_bar).sqrt() * recip,
        beta * alpha_bar_prev.sqrt() / (1 - alpha_bar),
        (1 - alpha_bar_prev) * alpha.sqrt() / (1 - alpha_bar),
        (0.5 * log_variance).exp(),
    ])


_RENAMES = [
    (r"^ublock_preconv\.conv1d\.", "mel_conv."),
    (r"^ublock_postconv\.conv1d\.", "out_conv."),
    (r"^dblock_preconv\.conv1d\.", "wave_conv."),
    (r"^ublocks\.(\d+)\.first_block_main_branch\.upsampling\.2\.conv1d\.", r"ublocks.\1.up_conv."),
    (r"^ublocks\.(\d+)\.first_block_main_branch\.modulation\.convolution\.conv1d\.",
     r"ublocks.\1.film_convs.0."),
    (r"^ublocks\.(\d+)\.first_block_residual_branch\.0\.conv1d\.", r"ublocks.\1.skip."),
    (r"^ublocks\.(\d+)\.second_block_main_branch\.modulation_0\.convolution\.conv1d\.",
     r"ublocks.\1.film_convs.1."),
    (r"^ublocks\.(\d+)\.second_block_main_branch\.modulation_1\.convolution\.conv1d\.",
     r"ublocks.\1.film_convs.2."),
    (r"^dblocks\.(\d+)\.residual_branch\.0\.conv1d\.", r"dblocks.\1.skip."),
    (r"^films\.(\d+)\.signal_conv\.0\.conv1d\.", r"films.\1.signal_conv."),
    (r"^films\.(\d+)\.(scale|shift)_conv\.conv1d\.", r"films.\1.\2_conv."),
]


def official_to_greenvoc(key: str) -> str:
    """ivanvovk key (``nn.`` prefix) → greenvoc key under ``net.``."""
    key = key.removeprefix("nn.")
    m = re.match(r"^dblocks\.(\d+)\.main_branch\.(\d+)\.convolution\.conv1d\.(.*)", key)
    if m:  # main_branch.0 is the (weightless) interpolation
        return f"net.dblocks.{m.group(1)}.convs.{int(m.group(2)) - 1}.{m.group(3)}"
    for pattern, repl in _RENAMES:
        new, n = re.subn(pattern, repl, key)
        if n:
            return f"net.{new}"
    return key


#: The hop of the one published checkpoint (configs/default.json: factors [5, 5, 3, 2, 2]).
RELEASED_HOP = 300


def release_config(spec: VocoderSpec, path: Path) -> WavegradConfig:
    """The architecture of the checkpoint at ``path``: from the ivanvovk ``config.json`` beside
    it (``model_config``, checked against the entry's front-end by ``data_config``), else the
    published release's (hop 300), which an entry of another hop refuses."""
    config_path = find_in_folder(Path(path).parent, ("config.json",))
    if config_path is None:
        hop = math.prod(spec.config.factors)
        if hop != RELEASED_HOP:
            raise CheckpointError(
                f"{path}: an ivanvovk/WaveGrad checkpoint does not record its hop, and the only "
                f"published one is hop {RELEASED_HOP} (factors 5-5-3-2-2), while {spec.name} is "
                f"hop {hop} ({spec.mel_preset!r} front-end). Use wavegrad-lj for the published "
                "model, or put the training config.json beside your own checkpoint")
        return spec.config
    raw = read_config(config_path)
    model, data = raw.get("model_config") or {}, raw.get("data_config") or {}
    mel = spec.mel_config
    for key, ours in (("sample_rate", mel.sample_rate), ("hop_length", mel.hop_length),
                      ("n_fft", mel.n_fft), ("n_mels", mel.n_mels), ("f_min", mel.fmin),
                      ("f_max", mel.fmax_hz)):
        if key in data and float(data[key]) != float(ours):
            mismatch(config_path, f"data_config.{key}", data[key], ours,
                     f"it was trained on another mel than {spec.mel_preset!r}")
    fields = {f.name for f in dataclasses.fields(WavegradConfig)} - {"n_steps", "seed"}
    known = {k: tuples(v) for k, v in model.items() if k in fields}
    config = dataclasses.replace(spec.config, **known)
    if math.prod(config.factors) != mel.hop_length:
        mismatch(config_path, "model_config.factors (hop)", math.prod(config.factors),
                 mel.hop_length, "their product must be the front-end's hop")
    return config


def load_official(module: Wavegrad, path: Path) -> None:
    """Read an ivanvovk/WaveGrad checkpoint (``{"model": state_dict}``); the diffusion
    buffers it may carry (``betas``, ``alphas_cumprod``, …) are recomputed from ``n_steps``."""
    state = read_checkpoint(path, unwrap=("model",))
    state = {k: v for k, v in state.items() if k.startswith("nn.")}
    load_into(module, state, path, rename=official_to_greenvoc)


def _spec(name: str, n_steps: int) -> VocoderSpec:
    return VocoderSpec(
        configure=release_config,
        name=name,
        family="diffusion",
        config=WavegradConfig(n_steps=n_steps),
        mel_preset="hifigan",
        build=Wavegrad,
        weights=WeightsSource(
            "none", layout=OFFICIAL_LAYOUT, licence="BSD-3-Clause (ivanvovk/WaveGrad)",
            notes="the public LJSpeech checkpoint (Google Drive) is hop 300; none for hop 256",
        ),
        load=load_official,
        published_params=15_810_401,
        paper=PAPER,
        description=f"WaveGrad base, {n_steps} iterations (ivanvovk's schedule), upsampling "
        "factors adapted from [5,5,3,2,2] (hop 300) to [4,4,4,2,2] for the hop-256 hifigan "
        "front-end (ivanvovk trains on its own mel: fmin 80 Hz, hop 300); architecture only "
        "(cost, no quality)",
    )


register(_spec("wavegrad", 6))
register(_spec("wavegrad-25", 25))

# ivanvovk/WaveGrad README "Pretrained checkpoints": LJSpeech 22 kHz, {"model": state_dict}
register(VocoderSpec(
    name="wavegrad-lj",
    family="diffusion",
    config=WavegradConfig(factors=(5, 5, 3, 2, 2), n_steps=6),
    mel_preset="wavegrad",
    build=Wavegrad,
    weights=WeightsSource(
        "url", layout=OFFICIAL_LAYOUT, licence="BSD-3-Clause (ivanvovk/WaveGrad)",
        url="https://drive.google.com/file/d/1X_AquK11C0j7U1lLxMDBdK5guabHaoXB/view",
        filename="wavegrad-lj.pt",
        notes="the README's pretrained LJSpeech checkpoint (Google Drive, no published "
              "checksum): a dict with the single key 'model'; hop 300, configs/default.json",
    ),
    load=load_official,
    configure=release_config,
    published_params=15_810_401,
    paper=PAPER,
    description="WaveGrad base as published (ivanvovk configs/default.json: factors "
    "5-5-3-2-2, hop 300) on its own mel (the 'wavegrad' preset: 80 HTK mels 80–8000 Hz, "
    "log10 power, last frame dropped), 6 iterations of schedules/pretrained/6iters.pt, "
    "float32 sampler as the official diffusion_process.py",
))
