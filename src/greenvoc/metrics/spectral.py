"""Spectral distances: log-mel L1 and the multi-resolution STFT distance.

``mel_l1``
    Mean absolute difference of natural-log mel spectrograms, the HiFi-GAN validation "mel error"
    (jik876/hifi-gan ``train.py``: ``F.l1_loss(y_mel, y_g_hat_mel)``), computed with greenvoc's
    ``hifigan`` mel preset (22.05 kHz, n_fft 1024, hop 256, 80 Slaney mels 0–8 kHz,
    ``log(clamp(·, 1e-5))``; :mod:`greenvoc.audio.presets`). Both signals are resampled to
    22.05 kHz first, so values compare only between inputs at one rate.
``mrstft``
    ParallelWaveGAN's multi-resolution STFT loss (kan-bayashi/ParallelWaveGAN
    ``parallel_wavegan/losses/stft_loss.py``), at the input's own rate: for (n_fft, hop, win) in
    (1024, 120, 600), (2048, 240, 1200), (512, 50, 240), Hann window, ``torch.stft`` centred
    with reflect padding, magnitude ``sqrt(clamp(re² + im², 1e-7))``; spectral convergence
    ``‖|Y| − |X|‖_F / ‖|Y|‖_F`` plus log-magnitude L1 ``mean|ln|Y| − ln|X||``; the value is
    the mean over the three resolutions of (SC + log-mag L1), Y the reference, X the estimate.
"""

from __future__ import annotations

import functools

import numpy as np

from greenvoc.metrics.base import Metric, MetricError, at_rate

MEL_PRESET = "hifigan"

#: (n_fft, hop, win) in samples, ParallelWaveGAN's MultiResolutionSTFTLoss defaults.
MRSTFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


@functools.lru_cache(maxsize=1)
def _mel_config():
    from greenvoc.audio.presets import get_mel_config

    return get_mel_config(MEL_PRESET)


def mel_l1(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Mean |ln mel(est) − ln mel(ref)| over ``(80, F)``, hifigan preset, in nats."""
    import torch

    from greenvoc.audio.mel import mel_spectrogram

    config = _mel_config()
    est = at_rate(estimate, sample_rate, config.sample_rate).astype(np.float32)
    ref = at_rate(reference, sample_rate, config.sample_rate).astype(np.float32)
    if min(len(est), len(ref)) < config.n_fft:
        raise MetricError(
            f"mel_l1 needs at least {config.n_fft} samples at {config.sample_rate} Hz"
        )
    with torch.no_grad():
        mel_est = mel_spectrogram(est, config)
        mel_ref = mel_spectrogram(ref, config)
    frames = min(mel_est.shape[-1], mel_ref.shape[-1])
    return float((mel_est[:, :frames] - mel_ref[:, :frames]).abs().mean())


def _magnitude(x, n_fft: int, hop: int, win: int):
    import torch

    window = torch.hann_window(win, dtype=x.dtype)
    spec = torch.stft(
        x, n_fft, hop_length=hop, win_length=win, window=window, center=True,
        pad_mode="reflect", return_complex=True,
    )
    return torch.sqrt(torch.clamp(spec.real.square() + spec.imag.square(), min=1e-7))


def mrstft(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Multi-resolution STFT distance (SC + log-magnitude L1, mean over 3 resolutions)."""
    import torch

    longest = max(n for n, _, _ in MRSTFT_RESOLUTIONS)
    if min(len(estimate), len(reference)) <= longest // 2:
        raise MetricError(f"mrstft needs more than {longest // 2} samples of audio")
    x = torch.from_numpy(np.ascontiguousarray(estimate, dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    total = 0.0
    with torch.no_grad():
        for n_fft, hop, win in MRSTFT_RESOLUTIONS:
            x_mag, y_mag = _magnitude(x, n_fft, hop, win), _magnitude(y, n_fft, hop, win)
            sc = torch.linalg.norm(y_mag - x_mag) / torch.linalg.norm(y_mag)
            log_mag = (y_mag.log() - x_mag.log()).abs().mean()
            total += float(sc + log_mag)
    return total / len(MRSTFT_RESOLUTIONS)


METRICS = (
    Metric(
        name="mel_l1", higher_is_better=False, sample_rate=22050, needs_reference=True,
        range=(0.0, float("inf")), unit="nats", group="mel_l1",
        compute_group=lambda e, r, sr: {"mel_l1": mel_l1(e, r, sr)},
        detail="mean |ln mel(est) - ln mel(ref)|, greenvoc 'hifigan' mel preset (22.05 kHz, "
        "1024/256, 80 Slaney mels 0-8 kHz, clamp 1e-5); HiFi-GAN's validation mel error",
    ),
    Metric(
        name="mrstft", higher_is_better=False, sample_rate=None, needs_reference=True,
        range=(0.0, float("inf")), unit="", group="mrstft",
        compute_group=lambda e, r, sr: {"mrstft": mrstft(e, r, sr)},
        detail="ParallelWaveGAN multi-resolution STFT distance at the input rate: mean over "
        "(fft, hop, win) = (1024,120,600), (2048,240,1200), (512,50,240) of spectral "
        "convergence + log-magnitude L1 (Hann, centred, |.| clamped at sqrt(1e-7))",
    ),
)
