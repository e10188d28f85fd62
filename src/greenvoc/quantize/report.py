"""How far a variant is from its fp32 reference, and how fast it is next to it.

Quality here is *fidelity to fp32* (SNR and log-mel L1 of the variant's audio against the fp32
model's audio on the same mel), not quality against real speech: that is the benchmark's job.
Speed is measured interleaved (fp32, variant, fp32, variant, …) so that drift of the machine
(turbo, other load) hits both alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from greenvoc.vocoders.base import Vocoder


def snr_db(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """10·log10(Σ ref² / Σ (est − ref)²) in dB over the common length; inf when equal."""
    n = min(estimate.shape[-1], reference.shape[-1])
    ref = reference[..., :n].double()
    err = (estimate[..., :n].double() - ref).pow(2).sum()
    if err == 0:
        return float("inf")
    return float(10 * torch.log10(ref.pow(2).sum() / err))


@dataclass(frozen=True)
class Fidelity:
    """snr_db: variant vs fp32 audio; mel_l1_nats: log-mel L1 (hifigan preset) between them;
    max_abs: largest sample difference; samples: length compared."""

    snr_db: float
    mel_l1_nats: float
    max_abs: float
    samples: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def fidelity(variant_audio: torch.Tensor, reference_audio: torch.Tensor,
             sample_rate: int) -> Fidelity:
    """Compare two (T,) waveforms of one model's output (variant vs fp32)."""
    from greenvoc.metrics.spectral import mel_l1

    n = min(variant_audio.shape[-1], reference_audio.shape[-1])
    est, ref = variant_audio[..., :n].float(), reference_audio[..., :n].float()
    return Fidelity(
        snr_db=snr_db(est, ref),
        mel_l1_nats=mel_l1(est.numpy(), ref.numpy(), sample_rate),
        max_abs=float((est - ref).abs().max()),
        samples=n,
    )


def interleaved_seconds(vocoders: Mapping[str, Vocoder], mel: torch.Tensor, repeats: int = 5,
                        warmup: int = 1) -> dict[str, float]:
    """Median wall seconds of ``synthesize(mel)`` per vocoder, run in turn ``repeats`` times
    after ``warmup`` untimed rounds."""
    times: dict[str, list[float]] = {name: [] for name in vocoders}
    for round_ in range(warmup + repeats):
        for name, voc in vocoders.items():
            start = time.perf_counter()
            voc.synthesize(mel)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def speech_mels(voc: Vocoder, paths: list[Path], max_frames: int | None = None
                ) -> list[torch.Tensor]:
    """(n_mels, T) mels of audio files with ``voc``'s front-end, for calibration or testing;
    ``max_frames`` crops each (calibration memory grows with T)."""
    from greenvoc.audio.io import load_audio

    mels = []
    for path in paths:
        audio = load_audio(path, sample_rate=voc.sample_rate)
        mel = voc.mel(np.asarray(audio.samples, dtype=np.float32))
        mels.append(mel[:, :max_frames] if max_frames else mel)
    return mels
