"""What a vocoder is in greenvoc: a spec in the registry, and a ``Vocoder`` that synthesizes.

A :class:`VocoderSpec` names the model, its family, its typed config, its mel front-end (a
preset of :mod:`greenvoc.audio.presets`), where its weights come from, and how to build it and
load a checkpoint into it. Variants (HiFi-GAN V1/V2/V3) are several specs over one builder with
different configs, never copied classes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.audio.presets import get_mel_config
from greenvoc.errors import GreenvocError, UsageError

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
        return mel

    @abc.abstractmethod
    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (n_mels, T) or (B, n_mels, T) log-mel from ``mel_config``; returns (T·hop,) or
        (B, T·hop) float32 in [-1, 1] at ``sample_rate``."""

    def copy_synthesize(self, waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Waveform at ``sample_rate`` → its mel → synthesis. Analysis–synthesis models
        (WORLD) override this and never see a mel."""
        return self.synthesize(self.mel(waveform).to(self.device))

    @staticmethod
    def check_output(name: str, audio: torch.Tensor) -> torch.Tensor:
        if not torch.isfinite(audio).all():
            bad = int((~torch.isfinite(audio)).sum())
            raise VocoderError(
                f"{name} produced {bad} non-finite samples (NaN/inf); refusing to write them. "
                "Check the mel's front-end and the checkpoint"
            )
        return audio


def unknown_name(kind: str, name: str, valid: list[str]) -> UsageError:
    return UsageError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")
