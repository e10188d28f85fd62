"""Each published checkpoint's own front-end: the zoo entry declares the mel its authors trained
on, `Vocoder.mel` computes it, and it equals an independent reference written here from the
official recipes (numpy + librosa, as the authors' code computes it; torchaudio and lws are not
dependencies, so their steps are spelled out: torchaudio's ``normalized=True`` divides by the
window's L2 norm, lws frames with its own window and zero padding)."""

from __future__ import annotations

import logging

import librosa
import numpy as np
import pytest
import torch

from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.audio.presets import get_mel_config
from greenvoc.errors import UsageError
from greenvoc.vocoders import VocoderError, get_spec, load_vocoder

SR = 22050


def speech_like(seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    """A voiced, amplitude-modulated signal with noise: spectra spread over the mel range."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 30 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 30)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (0.3 * x / np.abs(x).max() + 0.01 * rng.standard_normal(t.size)).astype(np.float64)


def db_normalised(mel: np.ndarray, ref_db: float) -> np.ndarray:
    return np.clip((20 * np.log10(np.maximum(1e-5, mel)) - ref_db + 100) / 100, 0, 1)


def lmnt_reference(x: np.ndarray) -> np.ndarray:
    """lmnt-com/diffwave preprocess.py: torchaudio MelSpectrogram(n_fft 1024, win 1024, hop 256,
    f_min 20, f_max sr/2, 80 mels, power 1, normalized=True), dB − 20, (dB + 100)/100 in [0, 1]."""
    window = np.hanning(1025)[:-1]  # periodic Hann (torch.hann_window)
    spec = librosa.stft(x, n_fft=1024, hop_length=256, win_length=1024, window=window,
                        center=True, pad_mode="reflect") / np.sqrt((window**2).sum())
    basis = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=20, fmax=SR / 2, htk=True,
                                norm=None, dtype=np.float64)
    return db_normalised(basis @ np.abs(spec), 20)


def lws_reference(x: np.ndarray) -> np.ndarray:
    """r9y9/wavenet_vocoder@2092a64 audio.melspectrogram after its 0.999-peak rescaling:
    lws.lws(1024, 256, mode="speech").stft(y) (lws 1.2: a = √hann_sym, window a/√Σa², 768
    zeros before, zeros to a whole hop, frame by frame FFT), Slaney mels 125–7600 Hz."""
    x = x / np.abs(x).max() * 0.999
    n, hop = 1024, 256
    a = np.sqrt(0.5 * (1 - np.cos(2 * np.pi * np.arange(1, 2 * n, 2) / (2 * n))))
    norm = np.zeros(hop)
    for q in range(n // hop):
        norm += (a * a)[q * hop:(q + 1) * hop]
    window = np.sqrt(a * (a / np.tile(norm, n // hop)))
    padded = np.concatenate([np.zeros(n - hop), x, np.zeros((-len(x)) % hop)])
    frames = len(padded) // hop
    padded = np.concatenate([padded, np.zeros((frames - 1) * hop + n - len(padded))])
    spec = np.stack([np.fft.fft(padded[m * hop:m * hop + n] * window)[: n // 2 + 1]
                     for m in range(frames)], axis=1)
    basis = librosa.filters.mel(sr=SR, n_fft=n, n_mels=80, fmin=125, fmax=7600, dtype=np.float64)
    return db_normalised(basis @ np.abs(spec), 20)


def wavegrad_reference(x: np.ndarray) -> np.ndarray:
    """ivanvovk/WaveGrad data.py MelSpectrogramFixed: torchaudio MelSpectrogram defaults (power
    2, HTK, no norm, centred reflect) with default.json's values, log10, last frame dropped."""
    spec = librosa.stft(x, n_fft=1024, hop_length=300, win_length=1024,
                        window=np.hanning(1025)[:-1], center=True, pad_mode="reflect")
    basis = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=80, fmax=8000, htk=True,
                                norm=None, dtype=np.float64)
    return np.log10(basis @ np.abs(spec) ** 2)[:, :-1]


def fatchord_reference(x: np.ndarray) -> np.ndarray:
    """fatchord/WaveRNN utils/dsp.py melspectrogram: librosa.stft(2048, 275, 1100) with the
    reflect padding of the librosa it ran on, Slaney mels from 40 Hz, dB, [0, 1]."""
    spec = librosa.stft(x, n_fft=2048, hop_length=275, win_length=1100, pad_mode="reflect")
    basis = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=80, fmin=40, dtype=np.float64)
    return db_normalised(basis @ np.abs(spec), 0)


CASES = {
    "diffwave": (lmnt_reference, 2e-5),
    "wavenet-mol": (lws_reference, 2e-5),
    "wavegrad-lj": (wavegrad_reference, 1e-4),
    "wavernn-lj": (fatchord_reference, 2e-5),
}


@pytest.mark.parametrize("name", CASES)
def test_entry_computes_its_authors_mel(name):
    """The issue's defect: diffwave and wavenet-mol ran their weights on the HiFi-GAN / PWG
    log-mel; their authors' mels are normalised dB in [0, 1]."""
    reference, atol = CASES[name]
    x = speech_like()
    voc = load_vocoder(name)
    ours = voc.mel(x.astype(np.float32)).double().numpy()
    expected = reference(x)
    assert ours.shape == expected.shape
    assert voc.mel_config.num_frames(len(x)) == expected.shape[1]
    np.testing.assert_allclose(ours, expected, atol=atol, rtol=0)
    # float64 input: the recipe itself, without float32 rounding
    exact = mel_spectrogram(torch.from_numpy(x), voc.mel_config).numpy()
    np.testing.assert_allclose(exact, expected, atol=1e-9, rtol=0)


def test_normalised_front_ends_refuse_a_log_mel_and_log_mel_models_warn_on_0_1(caplog):
    x = speech_like(0.2)
    log_mel = load_vocoder("hifigan-v1-lj").mel(x.astype(np.float32))
    with pytest.raises(VocoderError, match=r"diffwave expects a mel in \[0, 1\] from the "
                       r"'diffwave' front-end.*got values in \[-"):
        load_vocoder("diffwave").synthesize(log_mel[:, :2])
    unit = load_vocoder("diffwave").mel(x.astype(np.float32))
    with caplog.at_level(logging.WARNING):
        load_vocoder("hifigan-v2").synthesize(unit[:, :3])
    assert "lies in [0, 1]" in caplog.text and "'hifigan' front-end" in caplog.text


def test_wrong_band_count_names_the_front_end():
    with pytest.raises(VocoderError, match=r"\(B, 80, frames\) from the 'wavegrad' front-end "
                       r"\(80 bands, 22050 Hz, hop 300\)"):
        load_vocoder("wavegrad-lj").synthesize(torch.rand(1, 100, 2))


def test_each_official_entry_declares_its_own_front_end():
    expected = {"diffwave": "diffwave", "wavenet-mol": "wavenet-r9y9", "wavegrad-lj": "wavegrad",
                "wavernn-lj": "wavernn", "pwg": "pwg", "mb-melgan": "pwg", "melgan": "melgan",
                "waveglow": "tacotron2"}
    for name, preset in expected.items():
        spec = get_spec(name)
        assert spec.mel_preset == preset
        assert spec.hop_length == {"wavegrad": 300, "wavernn": 275}.get(preset, 256)


def test_new_mel_options_are_validated():
    base = get_mel_config("wavenet-r9y9")
    with pytest.raises(UsageError, match="stft='lws' frames by itself"):
        MelConfig(**{**base.to_dict(), "center": True})
    with pytest.raises(UsageError, match="min_level_db must be < 0"):
        MelConfig(**{**base.to_dict(), "min_level_db": 10.0})
    assert base.value_range == (0.0, 1.0) and get_mel_config("hifigan").value_range is None
    assert MelConfig.from_dict(base.to_dict()) == base
