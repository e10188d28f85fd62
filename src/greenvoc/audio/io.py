"""Audio I/O: load, resample, check, save.

Samples are float32 in [-1, 1] (a file may hold louder float data: it is kept, and
:func:`check_audio` reports it as clipping). Shapes: mono ``(T,)``, multichannel ``(C, T)``
(channels first, the torch convention), T in samples. Rates are integers in Hz.

soundfile (libsndfile) reads and writes wav/flac/ogg (and mp3 where libsndfile supports it);
soxr resamples. Errors from either are translated into :class:`AudioError`, whose message names the
file and the reason.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from greenvoc.errors import DataFileError, UsageError

#: soxr quality used by :func:`resample` unless told otherwise ("HQ" or "VHQ").
DEFAULT_RESAMPLE_QUALITY = "VHQ"

#: |x| at or above this counts as clipped.
CLIP_LEVEL = 0.999


class AudioError(DataFileError):
    """An audio file cannot be read, is empty, or holds unusable samples (NaN/inf)."""


@dataclass(frozen=True, eq=False)
class Audio:
    """Decoded audio.

    samples: float32, ``(T,)`` mono or ``(C, T)`` channels first; T in samples.
    sample_rate: Hz, the rate of ``samples`` (after any resampling).
    path: the file it came from, ``None`` for audio made in memory.
    file_sample_rate: Hz, the rate stored in the file (differs from ``sample_rate`` when the
    loader resampled); ``None`` when unknown.
    """

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    file_sample_rate: int | None = None

    @property
    def num_samples(self) -> int:
        """T, samples per channel."""
        return int(self.samples.shape[-1])

    @property
    def num_channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        """Duration in seconds: T / sample_rate."""
        return self.num_samples / self.sample_rate


def _as_numpy(samples: Any) -> np.ndarray:
    if hasattr(samples, "detach"):  # a torch tensor, without importing torch here
        samples = samples.detach().cpu().numpy()
    return np.asarray(samples)


def _check_rate(rate: int, what: str) -> int:
    if isinstance(rate, bool) or int(rate) != rate or rate <= 0:
        raise UsageError(f"{what} must be a positive integer in Hz, got {rate!r}")
    return int(rate)


def load_audio(path: str | Path, sample_rate: int | None = None, mono: bool = True) -> Audio:
    """Read an audio file as float32.

    sample_rate: resample to this rate (Hz) with soxr; ``None`` keeps the file's rate.
    mono: mix channels down by their mean and return ``(T,)``; ``False`` returns ``(C, T)``
    even for a one-channel file.

    Raises :class:`AudioError` for a missing, unreadable, corrupt or empty file, or one whose
    samples hold NaN or infinity.
    """
    import soundfile as sf

    path = Path(path)
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate, "sample_rate")
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: cannot decode audio ({e}); is it a wav/flac/ogg file?") from e
    if data.size == 0:
        raise AudioError(f"{path}: the file holds no samples")
    samples = np.ascontiguousarray(data.T)  # (C, T)
    bad = ~np.isfinite(samples)
    if bad.any():
        raise AudioError(f"{path}: {int(bad.sum())} of {samples.size} samples are NaN or infinite")
    if mono:
        samples = samples.mean(axis=0, dtype=np.float32)
    rate = int(file_rate)
    if sample_rate is not None and sample_rate != rate:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
    return Audio(samples=samples, sample_rate=rate, path=path, file_sample_rate=int(file_rate))


def resample(
    samples: Any, from_hz: int, to_hz: int, quality: str = DEFAULT_RESAMPLE_QUALITY
) -> np.ndarray:
    """Resample ``(T,)`` or ``(C, T)`` audio from ``from_hz`` to ``to_hz`` with soxr.

    Returns float32 of shape ``(T',)`` or ``(C, T')`` with T' = round(T·to_hz/from_hz).
    quality: soxr's "HQ" or "VHQ" (default).
    """
    import soxr

    from_hz = _check_rate(from_hz, "from_hz")
    to_hz = _check_rate(to_hz, "to_hz")
    if quality not in ("HQ", "VHQ"):
        raise UsageError(f"resample quality must be 'HQ' or 'VHQ', got {quality!r}")
    x = _as_numpy(samples).astype(np.float32, copy=False)
    if x.ndim not in (1, 2):
        raise UsageError(f"resample takes (T,) or (C, T) samples, got shape {x.shape}")
    if from_hz == to_hz:
        return x.copy()
    # soxr wants channels last
    y = soxr.resample(x if x.ndim == 1 else x.T, from_hz, to_hz, quality=quality)
    y = np.asarray(y, dtype=np.float32)
    return np.ascontiguousarray(y if x.ndim == 1 else y.T)


def check_audio(
    audio: Audio | np.ndarray,
    max_clipped_share: float = 0.001,
    silence_dbfs: float = -60.0,
) -> list[str]:
    """Problems that make audio unfit for scoring; an empty list when there are none.

    Reports: no samples; NaN/inf samples; more than ``max_clipped_share`` of samples at
    |x| ≥ :data:`CLIP_LEVEL`; RMS level below ``silence_dbfs`` (dB re full scale).
    """
    x = _as_numpy(audio.samples if isinstance(audio, Audio) else audio)
    where = f"{audio.path}: " if isinstance(audio, Audio) and audio.path else ""
    if x.size == 0:
        return [f"{where}no samples"]
    problems = []
    finite = np.isfinite(x)
    if not finite.all():
        problems.append(f"{where}{int((~finite).sum())} NaN or infinite samples")
        x = x[finite]
        if x.size == 0:
            return problems
    x = x.astype(np.float64)
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    if clipped > max_clipped_share:
        problems.append(f"{where}clipping: {clipped:.2%} of samples at |x| >= {CLIP_LEVEL}")
    rms = float(np.sqrt(np.mean(x**2)))
    level_dbfs = 20 * np.log10(rms) if rms > 0 else -np.inf
    if level_dbfs < silence_dbfs:
        problems.append(f"{where}silent: RMS {level_dbfs:.1f} dBFS < {silence_dbfs:.0f} dBFS")
    return problems


def save_audio(path: str | Path, samples: Any, sample_rate: int, subtype: str = "PCM_16") -> Path:
    """Write ``(T,)`` or ``(C, T)`` samples; the format follows the suffix (.wav, .flac, .ogg).

    subtype: libsndfile subtype, "PCM_16" (default; samples are clipped to [-1, 1] first) or
    "FLOAT" for 32-bit float wav. Creates parent folders. Returns the path.
    """
    import soundfile as sf

    path = Path(path)
    sample_rate = _check_rate(sample_rate, "sample_rate")
    x = _as_numpy(samples).astype(np.float32, copy=False)
    if x.ndim not in (1, 2):
        raise UsageError(f"save_audio takes (T,) or (C, T) samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise AudioError(f"{path}: refusing to write NaN or infinite samples")
    if subtype.upper().startswith("PCM"):
        x = np.clip(x, -1.0, 1.0)  # libsndfile would wrap around, not clip
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed over it: a full disk or a kill mid-write never
    # leaves a truncated file under the final name (a rename within a folder is atomic).
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        sf.write(str(tmp), x if x.ndim == 1 else x.T, sample_rate, subtype=subtype)
        os.replace(tmp, path)
    except (sf.LibsndfileError, OSError, RuntimeError, TypeError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        free_mb = shutil.disk_usage(path.parent).free / 1e6
        raise AudioError(
            f"{path}: cannot write audio ({e}); {free_mb:.0f} MB free in {path.parent}: if the "
            "disk is full (or a file-size limit is set), free space and run again; nothing was "
            "written under that name") from e
    return path
