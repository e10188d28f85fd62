"""Real speech for the metric tests: CMU ARCTIC a0007 (16 kHz) as shipped inside pysptk."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 16000
SNRS_DB = (30, 15, 5, 0)


def arctic_path() -> Path:
    spec = importlib.util.find_spec("pysptk")  # finds the folder without importing pysptk
    assert spec is not None and spec.submodule_search_locations, "pysptk is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "example_audio_data"
    return path / "arctic_a0007.wav"


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """The whole clip, float32 (64000,) at 16 kHz."""
    x, sr = sf.read(arctic_path(), dtype="float32")
    assert sr == SR
    return x


def add_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``x`` plus white Gaussian noise at ``snr_db`` dB SNR (seeded)."""
    noise = np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return x + noise


def write(path: Path, samples: np.ndarray, sr: int = SR) -> Path:
    """Write float samples: 32-bit float wav (exact round trip), 16-bit for other formats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, sr, subtype="FLOAT" if path.suffix == ".wav" else "PCM_16")
    return path
