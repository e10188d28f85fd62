"""Real-speech corpora for the benchmark's tests: clips cut from a CMU ARCTIC recording."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from greenvoc.audio.io import load_audio, save_audio

RATE = 22050


def arctic() -> np.ndarray:
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    return load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=RATE).samples


def write_clips(folder: Path, n: int, dur_s: float = 0.75) -> Path:
    """``n`` clips ``clip0.wav`` … of ``dur_s`` seconds of real speech in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    wave, size = arctic(), int(dur_s * RATE)
    for i in range(n):
        start = (i * RATE // 2) % (len(wave) - size)
        save_audio(folder / f"clip{i}.wav", wave[start:start + size], RATE)
    return folder


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Six 0.75 s clips of real speech."""
    return write_clips(tmp_path / "corpus", 6)
