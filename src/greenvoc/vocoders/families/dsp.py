"""Signal-processing baselines with nothing learned: Griffin-Lim and WORLD.

``griffin-lim``
    The mel (``hifigan`` front-end) is inverted to a linear magnitude by the pseudo-inverse of
    its Slaney mel basis (least squares, negatives clamped to 0), then the phase is estimated
    by the fast Griffin-Lim algorithm (Perraudin, Balazs & Søndergaard, "A fast Griffin-Lim
    algorithm", WASPAA 2013) with momentum 0.99, as ``librosa.griffinlim`` does. All in torch,
    batched.
``world``
    WORLD analysis–synthesis (Morise, Yokomori & Ozawa, IEICE Trans. 2016) through ``pyworld``:
    F0 (Harvest or DIO) + CheapTrick envelope + D4C aperiodicity, then synthesis. It reads the
    waveform, not the mel: copy-synthesis only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from greenvoc.audio.mel import mel_basis
from greenvoc.audio.presets import get_mel_config
from greenvoc.vocoders.base import Vocoder, VocoderError, VocoderSpec, WeightsSource
from greenvoc.vocoders.registry import register

GRIFFIN_LIM_PAPER = (
    "Griffin & Lim, IEEE TASSP 1984; fast variant: Perraudin, Balazs & Søndergaard, WASPAA 2013"
)
WORLD_PAPER = "Morise, Yokomori & Ozawa, WORLD, IEICE Trans. Inf. & Syst. E99-D(7), 2016"


@dataclass(frozen=True)
class GriffinLimConfig:
    """n_iter: Griffin-Lim iterations; momentum: the fast-GL extrapolation (0 = classic GL);
    seed: the random initial phase (drawn once per call, shared by every item of a batch so
    that batched and single calls agree)."""

    mel_preset: str = "hifigan"
    n_iter: int = 32
    momentum: float = 0.99
    seed: int = 0


class GriffinLim(nn.Module):
    """log-mel (B, n_mels, T) → waveform (B, T·hop) by mel pseudo-inverse + fast Griffin-Lim.

    The STFT is centred with zero padding (librosa's defaults; frame f at sample f·hop): T frames
    span (T−1)·hop samples, and the output is zero-padded to T·hop, the length the mel vocoders
    produce.
    """

    def __init__(self, config: GriffinLimConfig) -> None:
        super().__init__()
        self.config = config
        mel = get_mel_config(config.mel_preset)
        self.mel_config = mel
        basis = torch.tensor(mel_basis(mel), dtype=torch.float64)
        self.register_buffer("inverse_basis", torch.linalg.pinv(basis).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(mel.win_length_samples),
                             persistent=False)

    def magnitude(self, log_mel: torch.Tensor) -> torch.Tensor:
        """log-mel (B, n_mels, T) → linear magnitude (B, n_fft//2+1, T), ≥ 0."""
        if self.mel_config.log_base == "10":
            linear = torch.pow(10.0, log_mel)
        elif self.mel_config.log_base == "e":
            linear = log_mel.exp()
        else:
            linear = log_mel
        return torch.matmul(self.inverse_basis, linear).clamp(min=0.0)

    def _stft(self, audio: torch.Tensor) -> torch.Tensor:
        m = self.mel_config
        return torch.stft(audio, m.n_fft, m.hop_length, m.win_length_samples, self.window,
                          center=True, pad_mode="constant", return_complex=True)

    def _istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        m = self.mel_config
        return torch.istft(spec, m.n_fft, m.hop_length, m.win_length_samples, self.window,
                           center=True, length=length)

    def phase_retrieval(self, magnitude: torch.Tensor, angles: torch.Tensor, length: int
                        ) -> torch.Tensor:
        """Fast Griffin-Lim from unit-modulus ``angles``: |STFT| = ``magnitude`` (B, bins, T)
        → waveform (B, ``length``)."""
        alpha = self.config.momentum / (1 + self.config.momentum)
        previous = torch.zeros_like(angles)
        for _ in range(self.config.n_iter):
            rebuilt = self._stft(self._istft(magnitude * angles, length))
            angles = rebuilt - alpha * previous
            angles = angles / (angles.abs() + 1e-16)
            previous = rebuilt
        return self._istft(magnitude * angles, length)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        hop = self.mel_config.hop_length
        frames = log_mel.shape[-1]
        if frames < 2:
            raise VocoderError("griffin-lim needs at least 2 mel frames")
        mag = self.magnitude(log_mel)
        gen = torch.Generator(device="cpu").manual_seed(self.config.seed)
        phase = torch.rand(mag.shape[1:], generator=gen, dtype=mag.dtype) * (2 * torch.pi)
        angles = torch.polar(torch.ones_like(phase), phase).to(mag.device).expand_as(mag)
        audio = self.phase_retrieval(mag, angles, (frames - 1) * hop)
        return torch.nn.functional.pad(audio, (0, hop)).clamp(-1.0, 1.0)


# ---------------------------------------------------------------------------------- WORLD


@dataclass(frozen=True)
class WorldConfig:
    """f0_method: "harvest" (robust, slow) or "dio" (+ StoneMask refinement, fast);
    frame_period_ms: analysis hop (256 samples at 22.05 kHz ≈ 11.61 ms, the mel vocoders'
    hop); f0_floor_hz, f0_ceil_hz: the F0 search range (pyworld's defaults)."""

    f0_method: Literal["harvest", "dio"] = "harvest"
    frame_period_ms: float = 256 / 22050 * 1000
    f0_floor_hz: float = 71.0
    f0_ceil_hz: float = 800.0


class WorldVocoder(Vocoder):
    """Analysis–synthesis with WORLD: ``copy_synthesize(waveform)`` only."""

    def __init__(self, spec: VocoderSpec, config: WorldConfig, has_weights: bool) -> None:
        super().__init__(spec, has_weights)
        self.config = config

    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        raise VocoderError(
            f"{self.name} needs the waveform, not a mel: WORLD analyses F0, spectral envelope "
            "and aperiodicity from the audio. Use copy_synthesize(waveform)"
        )

    def _analyse_synthesize(self, x: np.ndarray) -> np.ndarray:
        try:
            import pyworld
        except ImportError as e:  # an optional backend: say how to get it
            raise VocoderError("the world vocoder needs pyworld: pip install pyworld") from e
        c, fs = self.config, self.sample_rate
        if c.f0_method == "harvest":
            f0, t = pyworld.harvest(x, fs, f0_floor=c.f0_floor_hz, f0_ceil=c.f0_ceil_hz,
                                    frame_period=c.frame_period_ms)
        else:
            f0, t = pyworld.dio(x, fs, f0_floor=c.f0_floor_hz, f0_ceil=c.f0_ceil_hz,
                                frame_period=c.frame_period_ms)
            f0 = pyworld.stonemask(x, f0, t, fs)
        envelope = pyworld.cheaptrick(x, f0, t, fs, f0_floor=c.f0_floor_hz)
        aperiodicity = pyworld.d4c(x, f0, t, fs)
        y = pyworld.synthesize(f0, envelope, aperiodicity, fs, c.frame_period_ms)
        out = np.zeros(len(x))
        n = min(len(x), len(y))
        out[:n] = y[:n]
        return out

    def copy_synthesize(self, waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
        """waveform (T,) or (B, T) at ``sample_rate`` → resynthesis of the same shape."""
        x = torch.as_tensor(waveform).detach().cpu().double().numpy()
        if x.ndim not in (1, 2) or x.shape[-1] < 2 * self.hop_length:
            raise VocoderError(
                f"{self.name} takes (T,) or (B, T) audio of at least {2 * self.hop_length} "
                f"samples, got shape {x.shape}"
            )
        rows = x.reshape(-1, x.shape[-1])
        out = np.stack([self._analyse_synthesize(np.ascontiguousarray(r)) for r in rows])
        audio = torch.from_numpy(out.reshape(x.shape)).float().clamp(-1.0, 1.0)
        return self.check_output(self.name, audio)


def _wrap_world(spec: VocoderSpec, config: WorldConfig, has_weights: bool) -> Vocoder:
    return WorldVocoder(spec, config, has_weights)


register(VocoderSpec(
    name="griffin-lim",
    family="dsp",
    config=GriffinLimConfig(),
    mel_preset="hifigan",
    build=GriffinLim,
    weights=WeightsSource("none"),
    published_params=0,
    paper=GRIFFIN_LIM_PAPER,
    description="Mel pseudo-inverse (least squares, clamped ≥ 0) of the hifigan front-end, then "
    "32 fast Griffin-Lim iterations (momentum 0.99, as librosa.griffinlim); no learned weights",
))

register(VocoderSpec(
    name="world",
    family="dsp",
    config=WorldConfig(),
    mel_preset="hifigan",
    build=lambda config: config,
    weights=WeightsSource("none"),
    published_params=0,
    paper=WORLD_PAPER,
    description="WORLD analysis–synthesis via pyworld (Harvest F0, CheapTrick, D4C) at 22.05 kHz "
    "with an 11.61 ms frame period (= hop 256); needs the waveform: copy-synthesis only",
    uses_waveform=True,
    wrap=_wrap_world,
))
