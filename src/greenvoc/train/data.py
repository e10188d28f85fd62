"""Training data: random fixed-length segments of a corpus and their mels, and a held-out split.

Clips are read once, resampled to the model's rate, and kept in memory (the corpora this runs
on are small; a segment draw is then a slice). Segments of clips shorter than the segment are
zero-padded at the end, as HiFi-GAN's loader does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from greenvoc.audio.corpus import AUDIO_SUFFIXES, Corpus
from greenvoc.audio.formats import open_corpus
from greenvoc.audio.io import AudioError, load_audio
from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.errors import DataFileError, UsageError


@dataclass(frozen=True)
class Clip:
    id: str
    samples: np.ndarray  # (T,) float32 at the model's rate


@dataclass(frozen=True)
class Split:
    train: tuple[Clip, ...]
    validation: tuple[Clip, ...]
    record: dict  # which ids went where, and how


def _load_clips(corpus: Corpus, sample_rate: int, spec: str) -> tuple[list[Clip], list[str]]:
    clips, errors = [], []
    for utt in corpus.utterances:
        try:
            audio = load_audio(utt.path, sample_rate=sample_rate)
        except AudioError as e:
            errors.append(str(e))
            continue
        if audio.samples.size and np.abs(audio.samples).max() > 0:
            clips.append(Clip(utt.id, audio.samples.astype(np.float32)))
        else:
            errors.append(f"{utt.path}: silent")
    if not clips:
        detail = f" ({'; '.join(errors[:3])})" if errors else ""
        raise DataFileError(
            f"training data {spec!r}: no usable audio (looked for {', '.join(AUDIO_SUFFIXES)} "
            f"files that decode and are not silent){detail}")
    return clips, errors


def load_split(spec: str, sample_rate: int, val_clips: int = 1, seed: int = 0) -> Split:
    """Open ``spec`` (see :func:`greenvoc.audio.formats.open_corpus`), hold out ``val_clips``
    clips drawn by ``seed`` (none when the corpus has a single clip: validation then reuses the
    training clip, and the record says so)."""
    try:
        corpus = open_corpus(spec)
    except DataFileError as e:
        raise DataFileError(f"training data {spec!r}: no usable audio: {e}") from e
    clips, errors = _load_clips(corpus, sample_rate, spec)
    usable = {c.id for c in clips}
    if val_clips < 0:
        raise UsageError(f"--val-clips must be ≥ 0, got {val_clips}")
    n_val = min(val_clips, len(clips) - 1)
    order = sorted(usable)
    drawn = {order[i] for i in np.random.default_rng(seed).permutation(len(order))[:n_val]}
    train = tuple(c for c in clips if c.id not in drawn)
    val = tuple(c for c in clips if c.id in drawn)
    record = {"corpus": corpus.name, "spec": spec, "train_ids": [c.id for c in train],
              "validation_ids": [c.id for c in val], "seed": seed, "unusable": errors}
    if val_clips and not val:
        val = train[:1]
        record["note"] = "one usable clip: validation reuses the training clip"
    return Split(train, val, record)


class SegmentSampler:
    """Draws batches of random segments: waveform (B, segment) and its mel (B, n_mels, F)
    with the model's front-end (F = ``mel_config.num_frames(segment)``)."""

    def __init__(self, clips: tuple[Clip, ...], segment: int, mel_config: MelConfig) -> None:
        if segment % mel_config.hop_length:
            raise UsageError(f"--segment {segment} must be a multiple of the model's hop "
                             f"({mel_config.hop_length} samples)")
        if segment < mel_config.n_fft:
            raise UsageError(f"--segment {segment} is shorter than one STFT frame "
                             f"({mel_config.n_fft} samples)")
        self.clips, self.segment, self.mel_config = clips, segment, mel_config

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        waves = []
        for _ in range(size):
            clip = self.clips[int(torch.randint(len(self.clips), (1,), generator=generator))]
            x = clip.samples
            if len(x) > self.segment:
                start = int(torch.randint(len(x) - self.segment + 1, (1,), generator=generator))
                x = x[start:start + self.segment]
            else:
                x = np.pad(x, (0, self.segment - len(x)))
            waves.append(torch.from_numpy(np.ascontiguousarray(x)))
        wave = torch.stack(waves)
        with torch.no_grad():
            mel = mel_spectrogram(wave, self.mel_config)
        return wave, mel
