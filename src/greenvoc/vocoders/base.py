"""What a vocoder is in greenvoc: a spec in the registry, and a ``Vocoder`` that synthesizes.

A :class:`VocoderSpec` names the model, its family, its typed config, its mel front-end (a
preset of :mod:`greenvoc.audio.presets`), where its weights come from, and how to build it and
load a checkpoint into it. Variants (HiFi-GAN V1/V2/V3) are several specs over one builder with
different configs, never copied classes.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.audio.presets import get_mel_config
from greenvoc.errors import GreenvocError, UsageError
from greenvoc.vocoders.chunked import (
    ChunkPlan,
    ChunkPolicy,
    chunk_count,
    plan_chunks,
    resolve_chunk_frames,
    stitch,
)

log = logging.getLogger(__name__)

Family = Literal["gan", "flow", "autoregressive", "diffusion", "fourier", "dsp"]
FAMILIES: tuple[str, ...] = ("gan", "flow", "autoregressive", "diffusion", "fourier", "dsp")


class VocoderError(GreenvocError):
    """A vocoder cannot be built, loaded or run (bad checkpoint, bad mel, non-finite output)."""


class CheckpointError(VocoderError):
    """A checkpoint does not fit the model: the message lists missing and unexpected keys."""


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's weights come from.

    kind: ``"bundled"`` (data files of an installed package: ``package`` + ``path``),
        ``"url"`` (public checkpoint: ``url`` + ``sha256``, cached by ``greenvoc zoo pull``),
        ``"user"`` (a path the user gives), or ``"none"`` (architecture only: cost, no quality).
    layout: the checkpoint's key layout, e.g. ``"jik876/hifi-gan"``, read by the spec's loader.
    filename: the cached file's name, where the URL's last segment is not one (Google Drive's
        ``uc?id=…``).
    sha256_source: where ``sha256`` was taken from (the authors' README, or the file's bytes at
        a pinned commit of its repository); a hash with no source is never entered.
    config_url: the release's config where its authors publish it as a file of its own (r9y9's
        hyper-parameter json, a Hub repository's ``config.json`` beside the checkpoint);
        ``greenvoc zoo pull`` fetches it beside the checkpoint, where the loader reads it.
    """

    kind: Literal["bundled", "url", "user", "none"]
    layout: str = ""
    package: str | None = None
    path: str | None = None
    url: str | None = None
    sha256: str | None = None
    licence: str | None = None
    notes: str = ""
    filename: str | None = None
    sha256_source: str = ""
    config_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VocoderSpec:
    """A registry entry.

    build: config → ``torch.nn.Module`` (or any object the ``wrap`` understands) with random
        weights; a torch module's ``forward(mel: (B, n_mels, T)) -> (B, T·hop)`` or (B, 1, T·hop).
    load: (module, checkpoint path) → None; fills the module from a checkpoint of
        ``weights.layout``; raises :class:`CheckpointError` listing keys on mismatch.
    published_params: the parameter count the paper/official code reports (inference
        generator, weight norm removed), checked within 2 % by the tests; None if none is known.
    uses_waveform: the model analyses the waveform, not the mel (WORLD): copy-synthesis only.
    configure: (spec, checkpoint path) → the config to build for that checkpoint, read from the
        release's own config (config.yml/config.json beside or inside it); raises
        :class:`CheckpointError` naming both values when it does not fit the entry's front-end.
    chunking: overrides of the family's chunking for long inputs (:mod:`.chunked`), only where
        the measured receptive field does not serve the model.
    delay_samples: samples the output lags its input in copy-synthesis, where the recipe
        trains on a padded target (r9y9's WaveNet: the lws STFT's n_fft − hop leading zeros);
        pairing with the reference allows for it (:attr:`Vocoder.length_tolerance_s`).
    """

    name: str
    family: Family
    config: Any
    mel_preset: str
    build: Callable[[Any], Any]
    weights: WeightsSource = field(default_factory=lambda: WeightsSource("none"))
    load: Callable[[Any, Path], None] | None = None
    published_params: int | None = None
    paper: str = ""
    description: str = ""
    uses_waveform: bool = False
    wrap: Callable[[VocoderSpec, Any, bool], Vocoder] | None = None
    configure: Callable[[VocoderSpec, Path], Any] | None = None
    chunking: ChunkPolicy | None = None
    delay_samples: int = 0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: family {self.family!r} not in {FAMILIES}")

    @property
    def mel_config(self) -> MelConfig:
        return get_mel_config(self.mel_preset)

    @property
    def sample_rate(self) -> int:
        return self.mel_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.mel_config.hop_length

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config) if is_dataclass(self.config) else dict(self.config or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            "mel_preset": self.mel_preset,
            "weights": self.weights.kind,
            "weights_source": self.weights.to_dict(),
            "published_params": self.published_params,
            "paper": self.paper,
            "description": self.description,
            "uses_waveform": self.uses_waveform,
            "config": self.config_dict(),
        }


class Vocoder(abc.ABC):
    """A ready-to-run model: mel (or waveform, for analysis–synthesis) in, waveform out."""

    def __init__(self, spec: VocoderSpec, has_weights: bool) -> None:
        self.spec = spec
        self.has_weights = has_weights
        self.mel_config = spec.mel_config

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def sample_rate(self) -> int:
        return self.mel_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.mel_config.hop_length

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> Vocoder:
        return self

    def params(self) -> int:
        """Trainable parameters at inference (0 for DSP)."""
        return 0

    def mel(self, waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Mel of a waveform at ``sample_rate`` with this model's front-end: (n_mels, frames)."""
        return mel_spectrogram(torch.as_tensor(waveform, dtype=torch.float32), self.mel_config)

    def check_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(n_mels, T) or (B, n_mels, T) → (B, n_mels, T); wrong bands → an error naming the
        model's MelConfig."""
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        if mel.dim() != 3 or mel.shape[1] != self.mel_config.n_mels:
            raise VocoderError(
                f"{self.name} expects a mel of shape (B, {self.mel_config.n_mels}, frames) from "
                f"the {self.spec.mel_preset!r} front-end ({self.mel_config.n_mels} bands, "
                f"{self.mel_config.sample_rate} Hz, hop {self.mel_config.hop_length}); got "
                f"{tuple(mel.shape)}"
            )
        check_mel_range(self.name, self.spec.mel_preset, self.mel_config, mel)
        return mel

    @abc.abstractmethod
    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (n_mels, T) or (B, n_mels, T) log-mel from ``mel_config``; returns (T·hop,) or
        (B, T·hop) float32 in [-1, 1] at ``sample_rate``."""

    def synthesize_long(
        self,
        mel: torch.Tensor,
        *,
        chunk_frames: int | None = None,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """:meth:`synthesize` for a mel of any length, in bounded memory: same shapes in and
        out. Up to ``chunk_frames`` frames (default: the spec's, else 1,024) it is one call;
        longer mels go in overlapping chunks (:mod:`greenvoc.vocoders.chunked`), each forward
        seeing at most ``chunk_frames`` + 2·context frames. ``on_chunk(done, total)`` is
        called after each chunk."""
        batched = mel.dim() == 3
        frames = mel.shape[-1]
        chunk = resolve_chunk_frames(self.spec, chunk_frames)
        if frames <= chunk:  # synthesize checks the mel
            audio = self.synthesize(mel)
            if on_chunk is not None:
                on_chunk(1, 1)
            return audio
        mel = self.check_mel(mel)
        audio = stitch(self.synthesize, mel, self.chunk_plan(chunk), self.hop_length, on_chunk,
                       self.name)
        return audio if batched else audio[0]

    def chunk_plan(self, chunk_frames: int | None = None) -> ChunkPlan:
        """How :meth:`synthesize_long` cuts long mels; the first call for an architecture may
        measure its receptive field (two forwards of a probe mel of 64 frames or more)."""
        return plan_chunks(self, chunk_frames)

    def chunk_count(self, frames: int, chunk_frames: int | None = None) -> int:
        """Chunks :meth:`synthesize_long` cuts a ``frames``-long mel into (1: one pass)."""
        return chunk_count(frames, resolve_chunk_frames(self.spec, chunk_frames))

    @property
    def length_tolerance_s(self) -> float:
        """How much a copy-synthesis may differ in length from its input and still be paired
        with it for scoring: a model returns T·hop or (T−1)·hop samples for the T frames of N
        input samples (within one hop of N), plus its documented delay, plus 2 samples for the
        rounding of resampling either file (``score_pair(max_length_diff_s=...)``)."""
        return (self.hop_length + self.spec.delay_samples + 2) / self.sample_rate

    @property
    def max_offset_samples(self) -> int:
        """The alignment search a pair of this model's output needs (``score_pair``): one hop
        plus the documented delay."""
        return self.hop_length + self.spec.delay_samples

    def copy_synthesize(self, waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Waveform at ``sample_rate`` → its mel → :meth:`synthesize_long`. Analysis–synthesis
        models (WORLD) override this and never see a mel."""
        return self.synthesize_long(self.mel(waveform).to(self.device))

    @staticmethod
    def check_output(name: str, audio: torch.Tensor) -> torch.Tensor:
        if not torch.isfinite(audio).all():
            bad = int((~torch.isfinite(audio)).sum())
            raise VocoderError(
                f"{name} produced {bad} non-finite samples (NaN/inf); refusing to write them. "
                "Check the mel's front-end and the checkpoint"
            )
        return audio


def check_mel_range(name: str, preset: str, config: MelConfig, mel: torch.Tensor) -> None:
    """A mel outside its front-end's range is an error where the range is bounded (the [0, 1]
    mels of DiffWave, WaveNet, WaveRNN); a log-mel wholly inside [0, 1] looks like one of those
    and is warned about."""
    if mel.numel() == 0:
        return
    low, high = float(mel.min()), float(mel.max())
    bounds = config.value_range
    if bounds is not None and (low < bounds[0] - 1e-4 or high > bounds[1] + 1e-4):
        raise VocoderError(
            f"{name} expects a mel in [{bounds[0]:g}, {bounds[1]:g}] from the {preset!r} "
            f"front-end (dB mapped from [{config.min_level_db:g}, 0] to [0, 1]); got values "
            f"in [{low:.3g}, {high:.3g}]: compute it with that preset (Vocoder.mel)")
    if bounds is None and config.log_base is not None and config.mel_mean is None and (
            mel.shape[-1] > 1 and low >= 0.0 and high <= 1.0):
        log.warning("%s: the mel lies in [0, 1] like a normalised dB mel, but the %r front-end "
                    "gives log-mels (floor %g); was it computed with another front-end?",
                    name, preset, config.clamp_min)


def unknown_name(kind: str, name: str, valid: list[str]) -> UsageError:
    return UsageError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")
