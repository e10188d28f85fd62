"""The discriminators of the GAN vocoders, each a typed config over one module.

Every discriminator maps a waveform batch (B, 1, T) to a list of sub-discriminator outputs, each
``(score, feature_maps)``: the score tensor the adversarial loss reads and the intermediate
activations feature matching compares. Weight norm and spectral norm come from
``torch.nn.utils.parametrizations``.

* MPD (HiFi-GAN, Kong et al. 2020 §2.2): periods 2, 3, 5, 7, 11; the waveform folded to
  (B, 1, T/p, p), 2-D convs with (5, 1) kernels.
* MSD (MelGAN, Kumar et al. 2019 §2.2; reused by HiFi-GAN): three scales, raw, ×2 and ×4
  average-pooled; grouped strided 1-D convs; spectral norm on the raw scale (HiFi-GAN).
* MRD (UnivNet, Jang et al. 2021; the Vocos variant, gemelo-ai/vocos ``discriminators.py``):
  2-D convs over linear magnitude spectrograms at three STFT resolutions.

``width`` scales every channel count so that tests train tiny discriminators of the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

SLOPE = 0.1
Output = list[tuple[torch.Tensor, list[torch.Tensor]]]


def _norm(module: nn.Module, spectral: bool) -> nn.Module:
    return spectral_norm(module) if spectral else weight_norm(module)


def _ch(channels: int, width: float, groups: int = 1) -> int:
    """Channels scaled by ``width``, kept a positive multiple of ``groups``."""
    return max(groups, round(channels * width / groups) * groups)


def conv_stack(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor, slope: float
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The body every sub-discriminator shares: each conv then LeakyReLU, then ``post``;
    returns (flattened logits (B, N), every layer's feature map for feature matching)."""
    fmaps = []
    for conv in convs:
        x = F.leaky_relu(conv(x), slope)
        fmaps.append(x)
    x = post(x)
    fmaps.append(x)
    return x.flatten(1), fmaps


@dataclass(frozen=True)
class ScaleLayout:
    """One 1-D scale discriminator: per layer (channels, kernel, stride, groups); then a
    post conv to one channel; LeakyReLU of ``slope`` after each layer. Zero padding throughout
    (MelGAN reflect-pads its first conv: a boundary detail left out here)."""

    layers: tuple[tuple[int, int, int, int], ...]
    post_kernel: int = 3
    slope: float = SLOPE


#: HiFi-GAN's DiscriminatorS (jik876/hifi-gan models.py).
HIFIGAN_MSD = ScaleLayout(layers=(
    (128, 15, 1, 1), (128, 41, 2, 4), (256, 41, 2, 16), (512, 41, 4, 16),
    (1024, 41, 4, 16), (1024, 41, 1, 16), (1024, 5, 1, 1),
))
#: MelGAN's NLayerDiscriminator(ndf=16, n_layers=4, downsampling_factor=4)
#: (descriptinc/melgan-neurips mel2wav/modules.py).
MELGAN_MSD = ScaleLayout(layers=(
    (16, 15, 1, 1), (64, 41, 4, 4), (256, 41, 4, 16), (1024, 41, 4, 64),
    (1024, 41, 4, 256), (1024, 5, 1, 1),
), slope=0.2)


class ScaleDiscriminator(nn.Module):
    """(B, 1, T) → score (B, 1, T') and the activations of every layer."""

    def __init__(self, layout: ScaleLayout, width: float = 1.0, spectral: bool = False) -> None:
        super().__init__()
        self.slope = layout.slope
        convs, ch_in = [], 1
        for channels, kernel, stride, groups in layout.layers:
            groups = min(groups, max(1, _ch(channels, width) // 4))
            ch_out = _ch(channels, width, groups)
            while ch_in % groups:
                groups //= 2
            convs.append(_norm(nn.Conv1d(ch_in, ch_out, kernel, stride, padding=kernel // 2,
                                         groups=groups), spectral))
            ch_in = ch_out
        self.convs = nn.ModuleList(convs)
        self.post = _norm(nn.Conv1d(ch_in, 1, layout.post_kernel,
                                    padding=layout.post_kernel // 2), spectral)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return conv_stack(self.convs, self.post, x, self.slope)


class MultiScaleDiscriminator(nn.Module):
    """``scales`` copies of a scale discriminator on the raw, 2×, 4×… average-pooled input."""

    def __init__(self, layout: ScaleLayout = HIFIGAN_MSD, scales: int = 3, width: float = 1.0,
                 spectral_first: bool = True) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(layout, width, spectral=spectral_first and i == 0)
            for i in range(scales)
        )

    def forward(self, x: torch.Tensor) -> Output:
        out = []
        for i, d in enumerate(self.discriminators):
            if i:
                x = F.avg_pool1d(x, 4, 2, padding=2)
            out.append(d(x))
        return out


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's DiscriminatorP: (B, 1, T) reflect-padded to a multiple of ``period``, folded
    to (B, 1, T/p, p), then 2-D convs with (5, 1) kernels, stride (3, 1)."""

    CHANNELS = (32, 128, 512, 1024, 1024)

    def __init__(self, period: int, width: float = 1.0) -> None:
        super().__init__()
        self.period = period
        convs, ch_in = [], 1
        for i, channels in enumerate(self.CHANNELS):
            ch_out = _ch(channels, width)
            stride = 1 if i == len(self.CHANNELS) - 1 else 3
            convs.append(weight_norm(nn.Conv2d(ch_in, ch_out, (5, 1), (stride, 1),
                                               padding=(2, 0))))
            ch_in = ch_out
        self.convs = nn.ModuleList(convs)
        self.post = weight_norm(nn.Conv2d(ch_in, 1, (3, 1), padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        x = x.view(b, c, -1, self.period)
        return conv_stack(self.convs, self.post, x, SLOPE)


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, periods: Sequence[int] = (2, 3, 5, 7, 11), width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, width) for p in periods)

    def forward(self, x: torch.Tensor) -> Output:
        return [d(x) for d in self.discriminators]


class ResolutionDiscriminator(nn.Module):
    """Vocos' DiscriminatorR: |STFT| (B, 1, F, frames) → 2-D convs with (3, 9) kernels, three
    of them striding 2 along frames (gemelo-ai/vocos ``discriminators.py``)."""

    def __init__(self, n_fft: int, hop: int, width: float = 1.0) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        c = _ch(32, width)
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
            *(weight_norm(nn.Conv2d(c, c, (3, 9), (1, 2), padding=(1, 4))) for _ in range(3)),
            weight_norm(nn.Conv2d(c, c, 3, padding=1)),
        ])
        self.post = weight_norm(nn.Conv2d(c, 1, 3, padding=1))
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spec = torch.stft(x.squeeze(1), self.n_fft, self.hop, window=self.window,
                          center=True, return_complex=True).abs()
        x = spec.unsqueeze(1)
        return conv_stack(self.convs, self.post, x, SLOPE)


class MultiResolutionDiscriminator(nn.Module):
    """(n_fft, hop) = (2048, 512), (1024, 256), (512, 128) as in Vocos."""

    def __init__(self, resolutions: Sequence[tuple[int, int]] = ((2048, 512), (1024, 256),
                                                                   (512, 128)),
                 width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ResolutionDiscriminator(n, h, width) for n, h in resolutions)

    def forward(self, x: torch.Tensor) -> Output:
        return [d(x) for d in self.discriminators]


def build_discriminator(kind: str, width: float = 1.0) -> nn.Module:
    """``mpd``, ``msd`` (HiFi-GAN's), ``melgan-msd`` or ``mrd``."""
    if kind == "mpd":
        return MultiPeriodDiscriminator(width=width)
    if kind == "msd":
        return MultiScaleDiscriminator(HIFIGAN_MSD, width=width)
    if kind == "melgan-msd":
        return MultiScaleDiscriminator(MELGAN_MSD, width=width, spectral_first=False)
    if kind == "mrd":
        return MultiResolutionDiscriminator(width=width)
    raise ValueError(f"unknown discriminator {kind!r}")
