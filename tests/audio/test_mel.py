"""Each mel preset equals an independent float64 computation of its documented recipe.

The references frame with numpy and transform with ``np.fft.rfft``, never ``torch.stft``;
Vocos' HTK filterbank is written out the way torchaudio's ``melscale_fbanks`` builds it, not
taken from librosa. The Slaney basis is ``librosa.filters.mel``, which the recipes call.
"""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from greenvoc.audio.default import package_dir
from greenvoc.audio.io import load_audio
from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.audio.presets import MEL_PRESET_SOURCES, MEL_PRESETS, get_mel_config
from greenvoc.errors import UsageError


@pytest.fixture(scope="module")
def speech():
    """1.5 s of the real pysptk ARCTIC clip (or, without pysptk, a harmonic signal), per rate."""
    root = package_dir("pysptk")
    clip = root / "example_audio_data" / "arctic_a0007.wav" if root else None

    def at(sample_rate: int) -> np.ndarray:
        if clip is not None and clip.is_file():
            x = load_audio(clip, sample_rate=sample_rate).samples[
                sample_rate // 2 : 2 * sample_rate
            ]
        else:
            t = np.arange(int(1.5 * sample_rate)) / sample_rate
            x = sum(np.sin(2 * np.pi * 130 * k * t) / k for k in range(1, 30)) * 0.05
        return np.asarray(x, dtype=np.float64)

    return at


def _frames(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    return sliding_window_view(y, n_fft)[::hop]  # (F, n_fft)


def _periodic_hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def ref_hifigan(x, sr, n_fft, hop, n_mels, fmin, fmax):
    """jik876/hifi-gan meldataset.py, in numpy."""
    p = (n_fft - hop) // 2
    spec = np.fft.rfft(
        _frames(np.pad(x, (p, p), mode="reflect"), n_fft, hop) * _periodic_hann(n_fft), axis=-1
    )
    mag = np.sqrt(spec.real**2 + spec.imag**2 + 1e-9).T
    basis = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64
    )
    return np.log(np.clip(basis @ mag, 1e-5, None))


def torchaudio_htk_fbank(n_freqs, f_min, f_max, n_mels, sr):
    """torchaudio.functional.melscale_fbanks(norm=None, mel_scale='htk'), in numpy: (freq, mel)."""
    all_freqs = np.linspace(0, sr // 2, n_freqs)
    m_min, m_max = (2595.0 * np.log10(1.0 + f / 700.0) for f in (f_min, f_max))
    f_pts = 700.0 * (10 ** (np.linspace(m_min, m_max, n_mels + 2) / 2595.0) - 1.0)
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up))


def ref_vocos(x, sr=24000, n_fft=1024, hop=256, n_mels=100):
    """torchaudio MelSpectrogram(power=1) defaults + safe_log, in numpy."""
    y = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    mag = np.abs(np.fft.rfft(_frames(y, n_fft, hop) * _periodic_hann(n_fft), axis=-1))
    mel = mag @ torchaudio_htk_fbank(n_fft // 2 + 1, 0.0, sr / 2, n_mels, sr)
    return np.log(np.clip(mel, 1e-7, None)).T


def ref_pwg(x, sr=22050, n_fft=1024, hop=256, n_mels=80, fmin=80, fmax=7600):
    """ParallelWaveGAN preprocess.py logmelfilterbank: (n_mels, F).

    Its ``librosa.stft(center=True, pad_mode="reflect", window="hann")`` written out: reflect-pad
    n_fft//2 each side, periodic Hann, rfft (librosa.stft itself costs a numba warm-up here).
    """
    y = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    spc = np.abs(np.fft.rfft(_frames(y, n_fft, hop) * _periodic_hann(n_fft), axis=-1))
    basis = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64
    )
    return np.log10(np.maximum(1e-10, spc @ basis.T)).T


def ref_melgan(x, sr=22050, n_fft=1024, hop=256, n_mels=80):
    """descriptinc/melgan-neurips Audio2Mel: HiFi-GAN's framing, no 1e-9, log10, fmax sr/2."""
    p = (n_fft - hop) // 2
    spec = np.fft.rfft(
        _frames(np.pad(x, (p, p), mode="reflect"), n_fft, hop) * _periodic_hann(n_fft), axis=-1
    )
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0, fmax=None,
                                dtype=np.float64)
    return np.log10(np.clip(basis @ np.abs(spec).T, 1e-5, None))


def ref_tacotron2(x, sr=22050, n_fft=1024, hop=256, n_mels=80):
    """NVIDIA/tacotron2 TacotronSTFT: reflect-pad n_fft/2 each side (centred), periodic Hann,
    |X| without eps, Slaney mels 0–8000 Hz, natural log clamped at 1e-5."""
    y = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    spec = np.fft.rfft(_frames(y, n_fft, hop) * _periodic_hann(n_fft), axis=-1)
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0, fmax=8000,
                                dtype=np.float64)
    return np.log(np.clip(basis @ np.abs(spec).T, 1e-5, None))


def _entry_reference(name: str):
    """The per-checkpoint front-ends' references, written in tests/vocoders/test_frontends.py."""
    def reference(x):
        from tests.vocoders import test_frontends

        return getattr(test_frontends, name)(x)

    return reference


REFERENCES = {
    "melgan": ref_melgan,
    "tacotron2": ref_tacotron2,
    "diffwave": _entry_reference("lmnt_reference"),
    "wavenet-r9y9": _entry_reference("lws_reference"),
    "wavegrad": _entry_reference("wavegrad_reference"),
    "wavernn": _entry_reference("fatchord_reference"),
    "hifigan": lambda x: ref_hifigan(x, 22050, 1024, 256, 80, 0, 8000),
    "bigvgan-22k-80": lambda x: ref_hifigan(x, 22050, 1024, 256, 80, 0, 8000),
    "bigvgan-v2-22k-80": lambda x: ref_hifigan(x, 22050, 1024, 256, 80, 0, None),
    "bigvgan-24k-100": lambda x: ref_hifigan(x, 24000, 1024, 256, 100, 0, 12000),
    "bigvgan-v2-44k-128": lambda x: ref_hifigan(x, 44100, 1024, 256, 128, 0, None),
    "vocos": ref_vocos,
    "pwg": ref_pwg,
}


def test_every_preset_has_a_reference_and_a_source():
    assert set(REFERENCES) == set(MEL_PRESETS) == set(MEL_PRESET_SOURCES)


@pytest.mark.parametrize("name", sorted(MEL_PRESETS))
def test_preset_matches_independent_float64_reference(name, speech):
    config = get_mel_config(name)
    x = speech(config.sample_rate)
    got = mel_spectrogram(x, config)
    want = REFERENCES[name](x)
    assert got.dtype == torch.float64
    assert tuple(got.shape) == want.shape == (config.n_mels, config.num_frames(len(x)))
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["hifigan", "vocos", "pwg"])
def test_float32_batched_close_to_reference(name, speech):
    config = get_mel_config(name)
    x = speech(config.sample_rate)
    batch = torch.from_numpy(np.stack([x, 0.5 * x])).float()
    got = mel_spectrogram(batch, config)
    assert got.dtype == torch.float32 and tuple(got.shape[:2]) == (2, config.n_mels)
    log = np.log10 if config.log_base == "10" else np.log
    for row, scale in ((0, 1.0), (1, 0.5)):
        want = REFERENCES[name](scale * x)
        # float32 resolves bands within ~60 dB of the loudest; below, rounding dominates the log
        loud = want > want.max() + log(1e-3)
        assert loud.mean() > 0.3
        np.testing.assert_allclose(got[row].numpy()[loud], want[loud], atol=1e-3)


def test_pwg_statistics_standardise_each_band(speech):
    x = speech(22050)
    rng = np.random.default_rng(0)
    mean, std = rng.normal(-2, 1, 80), rng.uniform(0.5, 2, 80)
    config = dataclasses.replace(MEL_PRESETS["pwg"], mel_mean=tuple(mean), mel_std=tuple(std))
    want = (ref_pwg(x) - mean[:, None]) / std[:, None]
    np.testing.assert_allclose(mel_spectrogram(x, config).numpy(), want, atol=1e-5)


def test_preset_facts():
    h, v, p = MEL_PRESETS["hifigan"], MEL_PRESETS["vocos"], MEL_PRESETS["pwg"]
    assert (h.sample_rate, h.n_fft, h.hop_length, h.win_length, h.n_mels, h.fmax) == (
        22050,
        1024,
        256,
        1024,
        80,
        8000,
    )
    assert (h.padding, h.center, h.magnitude_eps, h.clamp_min) == (384, False, 1e-9, 1e-5)
    assert (v.mel_scale, v.mel_norm, v.center, v.clamp_min, v.fmax_hz) == (
        "htk",
        None,
        True,
        1e-7,
        12000,
    )
    assert (p.fmin, p.fmax, p.log_base, p.clamp_min) == (80, 7600, "10", 1e-10)
    assert MEL_PRESETS["bigvgan-24k-100"].fmax == 12000
    assert MEL_PRESETS["bigvgan-v2-22k-80"].fmax_hz == 11025


def test_config_round_trip_and_errors():
    config = dataclasses.replace(MEL_PRESETS["pwg"], mel_mean=(0.0,) * 80, mel_std=(1.0,) * 80)
    assert MelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UsageError, match=r"unknown mel preset .*hifigan.*vocos"):
        get_mel_config("waveglow")
    with pytest.raises(UsageError, match="unknown MelConfig fields"):
        MelConfig.from_dict({**config.to_dict(), "nfft": 1})
    with pytest.raises(UsageError, match="fmax"):
        MelConfig(sample_rate=16000, n_fft=512, hop_length=128, n_mels=40, fmax=9000)
    with pytest.raises(UsageError, match="mel_scale"):
        MelConfig(sample_rate=16000, n_fft=512, hop_length=128, n_mels=40, mel_scale="bark")
    with pytest.raises(UsageError, match="n_mels"):
        MelConfig(sample_rate=16000, n_fft=512, hop_length=128, n_mels=40, mel_mean=(0.0,))


def test_shape_and_length_errors():
    config = MEL_PRESETS["hifigan"]
    with pytest.raises(UsageError, match="too short"):
        mel_spectrogram(np.zeros(100), config)
    with pytest.raises(UsageError, match=r"\(T,\) or \(B, T\)"):
        mel_spectrogram(np.zeros((1, 2, 4096)), config)
    with pytest.raises(UsageError, match="float"):
        mel_spectrogram(np.zeros(4096, dtype=np.int16), config)
    assert mel_spectrogram(np.zeros(22050, dtype=np.float32), config).shape == (80, 86)


@pytest.mark.parametrize("name", ["hifigan", "vocos", "pwg"])
def test_gradient_is_finite_through_digital_silence(name):
    """A mel loss on a zero-padded batch must not produce NaN gradients."""
    config = get_mel_config(name)
    x = torch.zeros(2, 8192, dtype=torch.float64)
    x[0, :4096] = 0.1 * torch.randn(4096, generator=torch.Generator().manual_seed(0))
    x.requires_grad_()
    mel_spectrogram(x, config).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[0].abs().sum() > 0


def test_cached_basis_is_read_only():
    from greenvoc.audio.mel import mel_basis

    basis = mel_basis(MEL_PRESETS["hifigan"])
    assert basis.shape == (80, 513) and not basis.flags.writeable


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu(speech):
    config = MEL_PRESETS["hifigan"]
    x = torch.from_numpy(speech(config.sample_rate))
    got = mel_spectrogram(x.cuda(), config)
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), mel_spectrogram(x, config).numpy(), atol=1e-8)


def test_package_exports_mel_names_lazily():
    import greenvoc.audio as audio

    assert audio.mel_spectrogram is mel_spectrogram and audio.get_mel_config is get_mel_config
    with pytest.raises(AttributeError):
        audio.no_such_name  # noqa: B018
