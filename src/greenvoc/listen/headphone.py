"""The headphone screening test of Woods et al. (2017), generated, drawn per rater and scored.

Woods, K. J. P., Siegel, M. H., Traer, J. & McDermott, J. H. (2017). Headphone screening to
facilitate web-based auditory experiments. *Attention, Perception, & Psychophysics* 79,
2064–2072. doi:10.3758/s13414-017-1361-2

A trial is three 200 Hz pure tones (1 s each, 100 ms raised-cosine ramps, 0.5 s apart); one is
6 dB softer (the answer to "which tone was the quietest?") and another is in antiphase between
the left and right channels. Over headphones the antiphase tone is as loud as the standard; over
loudspeakers the two channels cancel in the air and it becomes the quietest, so a rater without
headphones picks it. Six trials (each of the 3 × 2 orders of soft and antiphase tone once), at
least five correct to pass, as in the paper. A rater has :data:`DEFAULT_ATTEMPTS` attempts, each
with its own files; the answers stay on the server (the browser sees opaque ids).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

TONE_HZ = 200.0
TONE_S = 1.0
RAMP_S = 0.1
GAP_S = 0.5
SOFT_DB = -6.0
#: (soft position, antiphase position), 1-based: the six orders of one attempt.
ORDERS: tuple[tuple[int, int], ...] = tuple(
    (soft, anti) for soft, anti in itertools.permutations((1, 2, 3), 2))
TRIALS_PER_ATTEMPT = len(ORDERS)
PASS_MIN = 5
DEFAULT_ATTEMPTS = 2


@dataclass(frozen=True)
class HeadphoneTrial:
    """One trial: ``id`` (an opaque stimulus id) and ``file`` in the study's audio folder,
    ``answer`` the position (1–3) of the soft tone, ``antiphase`` that of the antiphase tone,
    ``attempt`` (0-based) the attempt it belongs to."""

    id: str
    file: str
    answer: int
    antiphase: int
    attempt: int


def _tone(rate: int, amplitude: float) -> np.ndarray:
    t = np.arange(int(TONE_S * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * TONE_HZ * t)
    n = int(RAMP_S * rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)  # raised cosine, 0 → 1
    tone[:n] *= ramp
    tone[-n:] *= ramp[::-1]
    return tone


def trial_audio(soft: int, antiphase: int, rate: int, level_dbfs: float) -> np.ndarray:
    """``(2, T)`` float32: three tones, the ``soft``-th 6 dB down, the ``antiphase``-th with its
    right channel inverted; the standard tone's RMS between its ramps is ``level_dbfs`` (the
    study's level)."""
    if soft == antiphase or not {soft, antiphase} <= {1, 2, 3}:
        raise ValueError(f"soft and antiphase are two different positions of 1–3, got "
                         f"{soft}, {antiphase}")
    amp = np.sqrt(2) * 10 ** (level_dbfs / 20)  # a sine's RMS is its amplitude / √2
    gap = np.zeros((2, int(GAP_S * rate)))
    parts = []
    for pos in (1, 2, 3):
        tone = _tone(rate, amp * (10 ** (SOFT_DB / 20) if pos == soft else 1.0))
        parts.append(np.stack([tone, -tone if pos == antiphase else tone]))
        if pos < 3:
            parts.append(gap)
    return np.concatenate(parts, axis=1).astype(np.float32)


def trials_for(trials: tuple[HeadphoneTrial, ...], seed: int, order_index: int, attempt: int
               ) -> list[HeadphoneTrial]:
    """The trials of one rater's ``attempt`` (0-based), in that rater's seeded order."""
    mine = [t for t in trials if t.attempt == attempt]
    rng = np.random.default_rng([seed, 11, order_index, attempt])
    return [mine[j] for j in rng.permutation(len(mine))]


def n_correct(trials: list[HeadphoneTrial], answers: list[int]) -> int:
    """How many of ``answers`` (one 1–3 per trial, in the trials' order) name the soft tone."""
    return sum(1 for t, a in zip(trials, answers, strict=True) if t.answer == a)
