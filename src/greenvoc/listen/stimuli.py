"""Audio preparation for a listening test: level alignment, the low-pass anchor, trapping clips
and the headphone check. Every function takes and returns float32 ``(T,)`` samples in [-1, 1].
"""

from __future__ import annotations

import numpy as np

from greenvoc.audio.io import resample
from greenvoc.errors import GreenvocError

#: Level every stimulus of a study is brought to: RMS in dB re full scale (ITU-T P.56 tests
#: commonly use -26 dBov; RMS over the whole clip is used here, pyloudnorm is not a dependency).
TARGET_LEVEL_DBFS = -26.0
#: Peak ceiling after gain; a clip that would exceed it is scaled down (and so slightly quieter).
PEAK_CEILING = 0.99
#: BS.1534 low anchor: a 3.5 kHz low-pass of the reference.
ANCHOR_CUTOFF_HZ = 3500.0
#: ACR trapping clip: what it asks and the score that answers it (2 = "Poor").
TRAP_TEXT = "This is an attention check. Please select the answer poor."
TRAP_EXPECTED = 2.0


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level of ``x`` in dB re full scale (−inf for silence)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else -np.inf


def normalize_level(x: np.ndarray, target_dbfs: float = TARGET_LEVEL_DBFS) -> np.ndarray:
    """``x`` scaled to ``target_dbfs`` RMS, peak limited to :data:`PEAK_CEILING` by gain only."""
    level = rms_dbfs(x)
    if not np.isfinite(level):
        raise GreenvocError("a stimulus is silent: it cannot be brought to a listening level")
    gain = 10 ** ((target_dbfs - level) / 20)
    peak = float(np.max(np.abs(x))) * gain
    if peak > PEAK_CEILING:
        gain *= PEAK_CEILING / peak
    return (x * gain).astype(np.float32)


def lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float = ANCHOR_CUTOFF_HZ) -> np.ndarray:
    """Zero-phase 8th-order Butterworth low-pass (scipy ``sosfiltfilt``) at ``cutoff_hz``."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, x.astype(np.float64)).astype(np.float32)


def noisy(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """``x`` plus white noise at ``snr_db`` (a clearly bad training example)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def match_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or zero-padded to ``n`` samples (a reference next to a vocoded clip)."""
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


def to_rate(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    return x if from_hz == to_hz else resample(x, from_hz, to_hz)


def spoken(text: str, sample_rate: int) -> np.ndarray:
    """``text`` spoken by espeak-ng (cached like the default corpus), at ``sample_rate``."""
    from greenvoc.audio.default import cache_dir, espeak_version, synthesize_espeak
    from greenvoc.audio.io import load_audio

    version = espeak_version()
    if version is None:
        raise GreenvocError(
            "ACR trapping clips are spoken by espeak-ng, which is not on PATH: install it "
            "(Debian: apt-get install espeak-ng) or pass --no-trap"
        )
    path = synthesize_espeak(text, "en-us", cache_dir() / "listen", version)
    return load_audio(path, sample_rate=sample_rate).samples


def trapping_clip(lead: np.ndarray, sample_rate: int, lead_s: float = 1.5) -> np.ndarray:
    """P.808-style trap: the first ``lead_s`` of a rated clip, a pause, then the spoken
    :data:`TRAP_TEXT` (answer :data:`TRAP_EXPECTED`)."""
    instruction = normalize_level(spoken(TRAP_TEXT, sample_rate))
    pause = np.zeros(int(0.4 * sample_rate), dtype=np.float32)
    return np.concatenate([normalize_level(lead[: int(lead_s * sample_rate)]), pause,
                           instruction]).astype(np.float32)


def beeps(count: int, sample_rate: int, freq_hz: float = 1000.0) -> np.ndarray:
    """``count`` 1 kHz tones of 0.25 s, 0.45 s apart, with 5 ms ramps: the audibility check
    (the rater types how many tones they heard)."""
    tone_n, gap_n = int(0.25 * sample_rate), int(0.45 * sample_rate)
    t = np.arange(tone_n) / sample_rate
    tone = np.sin(2 * np.pi * freq_hz * t)
    ramp = min(int(0.005 * sample_rate), tone_n // 2)
    env = np.ones(tone_n)
    env[:ramp] = np.linspace(0, 1, ramp)
    env[-ramp:] = np.linspace(1, 0, ramp)
    parts = [np.zeros(gap_n)]
    for _ in range(count):
        parts += [tone * env, np.zeros(gap_n)]
    return normalize_level(np.concatenate(parts).astype(np.float32))
