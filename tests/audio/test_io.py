"""load_audio / resample / check_audio / save_audio on real files written by soundfile."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from greenvoc.audio.io import Audio, AudioError, check_audio, load_audio, resample, save_audio
from greenvoc.errors import GreenvocError, UsageError


def _sine(freq_hz: float, sample_rate: int, duration_s: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(sample_rate * duration_s)) / sample_rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sample_rate)[np.argmax(spectrum)])


def test_load_mono_float32_and_duration(tmp_path):
    x = _sine(440, 16000, 0.5)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="FLOAT")
    audio = load_audio(tmp_path / "a.wav")
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32 and audio.samples.shape == (8000,)
    assert audio.sample_rate == 16000 and audio.file_sample_rate == 16000
    assert audio.duration_s == pytest.approx(0.5)
    assert audio.path == tmp_path / "a.wav"
    np.testing.assert_array_equal(audio.samples, x)


def test_stereo_mixdown_is_channel_mean_and_mono_false_keeps_channels(tmp_path):
    left, right = _sine(300, 8000, 0.25), _sine(700, 8000, 0.25, amp=0.2)
    sf.write(tmp_path / "s.flac", np.stack([left, right], axis=1), 8000, subtype="PCM_24")
    mono = load_audio(tmp_path / "s.flac")
    both = load_audio(tmp_path / "s.flac", mono=False)
    assert mono.samples.shape == (2000,) and both.samples.shape == (2, 2000)
    np.testing.assert_allclose(mono.samples, (left + right) / 2, atol=1e-6)
    np.testing.assert_allclose(both.samples[1], right, atol=1e-6)
    assert both.num_channels == 2


def test_load_resamples_with_soxr(tmp_path):
    sf.write(tmp_path / "a.wav", _sine(1000, 16000, 1.0), 16000)
    audio = load_audio(tmp_path / "a.wav", sample_rate=22050)
    assert audio.sample_rate == 22050 and audio.file_sample_rate == 16000
    assert audio.samples.shape == (22050,)
    assert _peak_hz(audio.samples, 22050) == pytest.approx(1000, abs=2)
    middle = audio.samples[2000:-2000]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_resample_shapes_and_identity():
    x = _sine(500, 24000, 0.1)
    y = resample(np.stack([x, x]), 24000, 16000)
    assert y.shape == (2, 1600) and y.dtype == np.float32
    np.testing.assert_array_equal(resample(x, 24000, 24000), x)
    assert resample(x, 24000, 48000, quality="HQ").shape == (4800,)
    with pytest.raises(UsageError):
        resample(x, 24000, 0)
    with pytest.raises(UsageError):
        resample(x, 24000, 16000, quality="LQ")


def test_nan_samples_raise_naming_the_file(tmp_path):
    x = _sine(440, 8000, 0.1)
    x[10] = np.nan
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav.*NaN"):
        load_audio(tmp_path / "nan.wav")


def test_empty_corrupt_and_missing_files_raise(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 8000)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x01garbage that is not a wave file")
    with pytest.raises(AudioError, match=r"empty\.wav.*no samples"):
        load_audio(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match=r"corrupt\.wav.*cannot decode"):
        load_audio(tmp_path / "corrupt.wav")
    with pytest.raises(AudioError, match=r"missing\.wav.*no such"):
        load_audio(tmp_path / "missing.wav")
    assert issubclass(AudioError, GreenvocError)


def test_check_audio_reports_clipping_silence_and_nonfinite():
    assert check_audio(Audio(_sine(440, 8000, 0.5), 8000)) == []
    clipped = np.clip(_sine(440, 8000, 0.5, amp=2.0), -1, 1)
    assert any("clipping" in p for p in check_audio(clipped))
    assert any("silent" in p for p in check_audio(np.zeros(800, dtype=np.float32)))
    bad = _sine(440, 8000, 0.5)
    bad[:3] = [np.nan, np.inf, -np.inf]
    assert any("3 NaN or infinite" in p for p in check_audio(bad))
    assert check_audio(np.zeros(0)) == ["no samples"]


def test_save_pcm16_clips_and_float_round_trips(tmp_path):
    x = _sine(440, 8000, 0.1, amp=1.5)
    path = save_audio(tmp_path / "sub" / "pcm.wav", x, 8000)
    assert sf.info(path).subtype == "PCM_16"
    y = load_audio(path).samples
    assert y.max() <= 1.0 and y.min() >= -1.0 and y.max() > 0.99  # clipped, not wrapped
    z = _sine(440, 8000, 0.1)
    save_audio(tmp_path / "f.wav", np.stack([z, -z]), 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "f.wav", mono=False).samples[1], -z)
    with pytest.raises(AudioError):
        save_audio(tmp_path / "nan.wav", np.array([np.nan], dtype=np.float32), 8000)
