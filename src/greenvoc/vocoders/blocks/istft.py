"""Inverse STFT heads: a complex spectrogram (B, n_fft/2+1, frames) → waveform.

Two framings are supported, as the Fourier-domain vocoders use them:

``"center"``
    ``torch.istft(center=True)``: frame f is centred on sample f·hop; F frames give (F−1)·hop
    samples (iSTFTNet, HiFi-GAN-style front-ends).
``"same"``
    Vocos's framing (gemelo-ai/vocos ``vocos/spectral_ops.py::ISTFT``): overlap-add of all
    frames, then (win − hop)/2 samples trimmed from each end, so F frames give exactly F·hop
    samples. ``torch.istft(center=False)`` cannot do this (it rejects the zero window envelope at
    the edges), so the overlap-add is written out with ``F.fold``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

PADDINGS = ("center", "same")


def polar(magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """magnitude · e^{i·phase}, element-wise; both real (B, bins, frames). Computed in float32:
    complex half is not supported by ``torch.polar`` nor by the FFTs that follow, so an fp16 or
    bf16 model keeps its Fourier head in full precision."""
    return torch.polar(magnitude.float(), phase.float())


class ISTFT(nn.Module):
    """Complex spectrogram (B, n_fft//2+1, F) → waveform (B, samples), Hann window.

    persistent_window: keep the window in the state dict (Vocos's checkpoints carry
    ``head.istft.window``; iSTFTNet's do not).
    """

    def __init__(self, n_fft: int, hop_length: int, padding: str = "same",
                 persistent_window: bool = True) -> None:
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"ISTFT padding must be one of {PADDINGS}, got {padding!r}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.padding = padding
        self.register_buffer("window", torch.hann_window(n_fft), persistent=persistent_window)

    def output_length(self, frames: int) -> int:
        """Samples produced from ``frames`` spectrogram frames."""
        if self.padding == "center":
            return (frames - 1) * self.hop_length
        return frames * self.hop_length

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if self.padding == "center":
            return torch.istft(spec, self.n_fft, self.hop_length, self.n_fft,
                               window=self.window.float(), center=True)
        return self._same(spec)

    def _same(self, spec: torch.Tensor) -> torch.Tensor:
        n_fft, hop = self.n_fft, self.hop_length
        frames = spec.shape[-1]
        total = (frames - 1) * hop + n_fft
        trim = (n_fft - hop) // 2
        window = self.window.float()  # an fp16/bf16 model keeps its head in float32
        segments = torch.fft.irfft(spec, n=n_fft, dim=1) * window[None, :, None]
        audio = F.fold(segments, output_size=(1, total), kernel_size=(1, n_fft),
                       stride=(1, hop))[:, 0, 0, trim:total - trim]
        squared = window.square()[None, :, None].expand(1, n_fft, frames)
        envelope = F.fold(squared, output_size=(1, total), kernel_size=(1, n_fft),
                          stride=(1, hop))[0, 0, 0, trim:total - trim]
        # With hop ≤ win/2 the trimmed envelope is bounded away from zero; the floor only
        # guards degenerate configurations.
        return audio / envelope.clamp(min=1e-11)
