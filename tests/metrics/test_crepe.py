"""The CREPE tracker on signals whose pitch is known."""

import numpy as np
import pytest

from greenvoc.metrics import crepe

SR = 16000


def harmonic_tone(f0_hz: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0_hz * t) for k in range(1, 6)).astype(np.float32)


@pytest.mark.parametrize("f0_hz", [110.0, 220.0])
def test_tracks_a_harmonic_tone(f0_hz):
    pitch, periodicity = crepe.track(harmonic_tone(f0_hz), capacity="tiny")
    assert pitch.shape == periodicity.shape == (1 + 8000 // 160,)
    inner = slice(5, -5)
    cents = 1200 * np.abs(np.log2(pitch[inner] / f0_hz))
    assert np.median(cents) < 25
    assert crepe.hysteresis_voiced(pitch, periodicity)[inner].mean() > 0.9


def test_silence_is_unvoiced():
    quiet = np.zeros(8000, np.float32)
    pitch, periodicity = crepe.track(quiet, capacity="tiny")
    assert (periodicity == 0).all()
    assert not crepe.hysteresis_voiced(pitch, periodicity).any()


def test_unknown_capacity():
    with pytest.raises(crepe.MetricError, match="tiny"):
        crepe.weights_path("huge")
