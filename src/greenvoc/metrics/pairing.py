"""Getting an (estimate, reference) pair ready to score: load, check, match rates, align.

Every check raises :class:`PairError` with a message naming the file and the reason; the runner
turns it into a per-file error and goes on with the other files. Lengths must agree within a
tolerance (:func:`check_lengths`) before the pair is trimmed to the shorter: an estimate cut to
half its reference would otherwise be scored on that half alone, and score as perfect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from greenvoc.metrics.base import MetricError

#: RMS below this (dB re full scale) counts as a silent file: nothing to score.
SILENCE_DBFS = -70.0
#: Default half-width of the alignment search, samples (one hop of the common 256-hop mels).
MAX_OFFSET_SAMPLES = 256
#: Default tolerance on |len(estimate) − len(reference)| where the model is unknown. A vocoder
#: fed the mel of N samples returns T·hop or (T−1)·hop samples, within one hop of N; one hop is
#: 11.6 ms at 22.05 kHz (256), 10.7 ms at 24 kHz (256), 16 ms at 16 kHz (256), 13.6 ms for
#: WaveGrad's hop 300 at 22.05 kHz: 20 ms covers each with room for a few ms of delay.
MAX_LENGTH_DIFF_S = 0.020
#: Suffixes matched in folders.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class PairError(MetricError):
    """A file of a pair cannot be scored at all (unreadable, empty, silent, NaN...)."""


class LengthMismatch(PairError):
    """Estimate and reference differ in length by more than the tolerance."""


@dataclass(frozen=True)
class Signal:
    """A loaded, checked mono signal. samples: float32 ``(T,)``; sample_rate: Hz; source: the
    file it came from, for messages."""

    samples: np.ndarray
    sample_rate: int
    notes: tuple[str, ...] = ()
    source: str = ""


def load_signal(path: str | Path) -> Signal:
    """Load ``path`` as mono float32; multi-channel files are mixed down (and noted).

    Raises :class:`PairError` for an unreadable, corrupt or empty file, NaN/inf samples, or
    a silent file (RMS below :data:`SILENCE_DBFS`).
    """
    from greenvoc.audio.io import AudioError, load_audio

    path = Path(path)
    try:
        audio = load_audio(path, mono=False)
    except AudioError as e:
        raise PairError(str(e)) from e
    notes = []
    samples = audio.samples
    if audio.num_channels > 1:
        samples = samples.mean(axis=0, dtype=np.float32)
        notes.append(f"{path.name}: {audio.num_channels} channels mixed down to mono")
    else:
        samples = samples[0]
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    level_dbfs = 20 * np.log10(rms) if rms > 0 else -np.inf
    if level_dbfs < SILENCE_DBFS:
        raise PairError(
            f"{path}: silent (RMS {level_dbfs:.1f} dBFS < {SILENCE_DBFS:.0f} dBFS), "
            "nothing to score"
        )
    return Signal(np.ascontiguousarray(samples, dtype=np.float32), audio.sample_rate,
                  tuple(notes), str(path))


def common_rate(estimate: Signal, reference: Signal) -> tuple[Signal, Signal, list[str]]:
    """Both signals at the lower of their two rates (soxr), so no band is invented."""
    from greenvoc.audio.io import resample

    rate = min(estimate.sample_rate, reference.sample_rate)
    notes = []
    out = []
    for what, sig in (("estimate", estimate), ("reference", reference)):
        if sig.sample_rate != rate:
            notes.append(f"{what} resampled from {sig.sample_rate} Hz to {rate} Hz")
            sig = Signal(resample(sig.samples, sig.sample_rate, rate), rate, sig.notes,
                         sig.source)
        out.append(sig)
    return out[0], out[1], notes


def check_lengths(estimate: Signal, reference: Signal,
                  max_diff_s: float = MAX_LENGTH_DIFF_S) -> None:
    """Raise :class:`LengthMismatch` when the two signals (at one rate) differ in length by
    more than ``max_diff_s`` seconds; the message gives both lengths and both files."""
    rate = reference.sample_rate
    if estimate.sample_rate != rate:
        raise ValueError("check_lengths compares signals at one rate: call common_rate first")
    n_est, n_ref = len(estimate.samples), len(reference.samples)
    diff = n_est - n_ref
    if abs(diff) <= max_diff_s * rate:
        return
    what = "shorter" if diff < 0 else "longer"
    raise LengthMismatch(
        f"{estimate.source or 'estimate'}: {n_est} samples ({n_est / rate:.3f} s) against "
        f"{n_ref} samples ({n_ref / rate:.3f} s) in the reference "
        f"{reference.source or '(unnamed)'}, at {rate} Hz: {abs(diff)} samples "
        f"({abs(diff) / rate * 1000:.1f} ms) {what}, over the {max_diff_s * 1000:g} ms "
        "tolerance. Trimming both to the shorter would score only part of the utterance; "
        "check that the estimate is complete, or raise max_length_diff_s where the model's "
        "delay explains the difference"
    )


def find_offset(estimate: np.ndarray, reference: np.ndarray, max_offset_samples: int) -> int:
    """Lag k in [−max, max] maximising Σ_n est[n + k]·ref[n] (k > 0: the estimate is late)."""
    from scipy.signal import correlate

    if max_offset_samples <= 0:
        return 0
    corr = correlate(estimate.astype(np.float64), reference.astype(np.float64), "full", "fft")
    zero = len(reference) - 1  # index of lag 0
    lo = max(0, zero - max_offset_samples)
    hi = min(len(corr), zero + max_offset_samples + 1)
    return int(np.argmax(corr[lo:hi]) + lo - zero)


def align(
    estimate: np.ndarray, reference: np.ndarray, max_offset_samples: int = MAX_OFFSET_SAMPLES
) -> tuple[np.ndarray, np.ndarray, int]:
    """Shift by the cross-correlation offset, then trim both to the shorter length.

    Returns (estimate, reference, offset_samples), the two arrays of equal length ``(T',)``.
    """
    offset = find_offset(estimate, reference, max_offset_samples)
    if offset > 0:
        estimate = estimate[offset:]
    elif offset < 0:
        reference = reference[-offset:]
    n = min(len(estimate), len(reference))
    if n == 0:
        raise PairError("nothing left to compare after alignment")
    return estimate[:n], reference[:n], offset


def audio_files(folder: Path) -> dict[str, Path]:
    """Audio files under ``folder`` (recursively), keyed by relative path without suffix."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            found[path.relative_to(folder).with_suffix("").as_posix()] = path
    return found
