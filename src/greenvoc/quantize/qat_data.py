"""Speech for quantization-aware distillation: espeak-ng sentences in many voices, augmented.

Distillation needs no labels, only mels like those the vocoder will meet, so the material is
spoken on the spot: :data:`SENTENCES` (Harvard sentences, IEEE 1969, public domain, and the
ARCTIC prompts of the default corpus's espeak-ng clips) × :data:`VOICES` (espeak-ng accents and
voice variants), plus the default corpus's own espeak-ng clips. The default corpus's real
recordings (CMU ARCTIC awb a0007 and slt a0009) are the project's held-out speech: they are
never used here, and neither are their prompts.

Each draw cuts a segment and augments it (gain, pitch and tempo together by resampling, noise),
its parameters drawn from the caller's seeded generator, so a run is reproducible from its seed
(:class:`Augmentation` ranges are recorded with the variant).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from greenvoc.audio.default import ESPEAK_CLIPS, cache_dir, espeak_version, synthesize_espeak
from greenvoc.audio.io import load_audio, resample
from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.errors import DataFileError

#: Harvard sentences, lists 1–3 (IEEE Recommended Practice for Speech Quality Measurements,
#: 1969; public domain).
HARVARD = (
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.", "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.", "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.", "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.", "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
)

#: The default corpus's real clips: held-out speech, never trained or calibrated on.
HELD_OUT_CLIPS = ("awb_arctic_a0007", "slt_arctic_a0009")
HELD_OUT_PROMPTS = ("arctic_a0007", "arctic_a0009")

#: espeak-ng accents × voice variants (``VOICE+VARIANT``; variants change pitch, formants and
#: breathiness).
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd")
VARIANTS = ("", "+m1", "+m3", "+m7", "+f1", "+f2", "+f3", "+f4", "+klatt")


def sentences() -> tuple[str, ...]:
    from greenvoc.audio.default import ARCTIC_PROMPTS

    arctic = tuple(t for k, t in sorted(ARCTIC_PROMPTS.items()) if k not in HELD_OUT_PROMPTS)
    return HARVARD + arctic


@dataclass(frozen=True)
class Augmentation:
    """Ranges the draws come from: gain (dB, after peak normalisation to 0.9), resampling
    factor (pitch and tempo together, > 1 is higher and faster), noise SNR (dB, white) and the
    probability that a segment gets noise."""

    gain_db: tuple[float, float] = (-24.0, 0.0)
    rate: tuple[float, float] = (0.85, 1.2)
    noise_snr_db: tuple[float, float] = (15.0, 45.0)
    noise_probability: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Material:
    """clips: (T,) float32 waveforms at the model's rate; record: what they are."""

    clips: tuple[np.ndarray, ...]
    record: dict


def espeak_material(sample_rate: int, n_clips: int = 64, seed: int = 0) -> Material:
    """``n_clips`` espeak-ng clips (sentence × voice drawn by ``seed``, cached like the default
    corpus's clips) and the default corpus's espeak-ng clips, at ``sample_rate``."""
    version = espeak_version()
    if version is None:
        raise DataFileError("int8-qat trains on espeak-ng speech: install the espeak-ng program "
                            "(Debian package espeak-ng)")
    rng = np.random.default_rng(seed)
    texts, out_dir = sentences(), cache_dir() / "qat" / "espeak"
    drawn = []
    for i in range(n_clips):
        text = texts[i % len(texts)] if i < len(texts) else texts[rng.integers(len(texts))]
        voice = ACCENTS[rng.integers(len(ACCENTS))] + VARIANTS[rng.integers(len(VARIANTS))]
        drawn.append((text, voice))
    from greenvoc.audio.default import ARCTIC_PROMPTS

    drawn += [(" ".join(ARCTIC_PROMPTS[p] for p in prompts), voice)
              for _, voice, prompts in ESPEAK_CLIPS]  # the default corpus's espeak-ng clips
    clips = []
    for text, voice in drawn:
        try:
            path = synthesize_espeak(text, voice, out_dir, version)
        except Exception as e:  # subprocess and OS errors: name the voice
            raise DataFileError(f"espeak-ng {version} failed for voice {voice!r}: {e}") from e
        x = load_audio(path, sample_rate=sample_rate).samples.astype(np.float32)
        clips.append(0.9 * x / max(float(np.abs(x).max()), 1e-6))
    record = {"source": f"espeak-ng {version}", "clips": len(clips), "seed": seed,
              "voices": sorted({v for _, v in drawn}), "sentences": len({t for t, _ in drawn}),
              "seconds": round(sum(len(c) for c in clips) / sample_rate, 1),
              "held_out_never_used": list(HELD_OUT_CLIPS),
              "excluded_prompts": list(HELD_OUT_PROMPTS)}
    return Material(tuple(clips), record)


def augment(x: np.ndarray, sample_rate: int, aug: Augmentation, g: torch.Generator
            ) -> np.ndarray:
    """Resample by a drawn factor, scale by a drawn gain, add noise at a drawn SNR."""

    def uniform(lo_hi: tuple[float, float]) -> float:
        lo, hi = lo_hi
        return lo + (hi - lo) * float(torch.rand((), generator=g))

    rate = uniform(aug.rate)
    if abs(rate - 1) > 1e-3:
        x = resample(x, round(sample_rate * rate), sample_rate)
    x = x * 10 ** (uniform(aug.gain_db) / 20)
    if float(torch.rand((), generator=g)) < aug.noise_probability:
        power = float(np.mean(x ** 2)) + 1e-12
        snr = uniform(aug.noise_snr_db)
        noise = torch.randn(len(x), generator=g).numpy() * math.sqrt(power / 10 ** (snr / 10))
        x = x + noise
    return np.clip(x, -1.0, 1.0).astype(np.float32)


class DistillationSampler:
    """Batches of augmented segments' mels (B, n_mels, segment / hop) from :class:`Material`."""

    def __init__(self, material: Material, segment: int, mel_config: MelConfig,
                 aug: Augmentation) -> None:
        self.clips, self.segment, self.mel_config, self.aug = (material.clips, segment,
                                                               mel_config, aug)

    def batch(self, size: int, g: torch.Generator) -> torch.Tensor:
        sr, waves = self.mel_config.sample_rate, []
        for _ in range(size):
            x = self.clips[int(torch.randint(len(self.clips), (1,), generator=g))]
            span = int(self.segment * self.aug.rate[1]) + 1  # enough for the fastest rate
            if len(x) > span:
                start = int(torch.randint(len(x) - span + 1, (1,), generator=g))
                x = x[start:start + span]
            x = augment(x, sr, self.aug, g)
            x = np.pad(x, (0, max(0, self.segment - len(x))))[: self.segment]
            waves.append(torch.from_numpy(np.ascontiguousarray(x)))
        with torch.no_grad():
            return mel_spectrogram(torch.stack(waves), self.mel_config)
