"""Mel-cepstral distortion (MCD, dB), ParallelWaveGAN's recipe with c0 excluded.

Source: kan-bayashi/ParallelWaveGAN ``parallel_wavegan/bin/evaluate_mcd.py`` (``sptk_extract``,
``_get_best_mcep_params``, ``calculate``). MCD values compare only within one recipe (feature,
order, alpha, c0, DTW differ between toolkits); this one is:

1. samples scaled to the int16 range (×32768), as that script reads its files as int16;
2. frames of n_fft = 1024 samples every 256 samples, no padding, ``n = (T − 1024) // 256 + 1``,
   times SPTK's Hamming window (``pysptk.sptk.hamming``, power-normalised);
3. ``pysptk.mcep(frame, order, alpha, eps=1e-6, etype=1)``, (order, alpha) by sample rate:
   16 kHz (23, 0.42), 22.05 kHz (34, 0.45), 24 kHz (34, 0.46), 44.1 kHz (39, 0.53),
   48 kHz (39, 0.55); another rate is resampled down to the nearest listed rate below it,
   and rates under 16 kHz are refused;
4. c0 (energy) is dropped: coefficients c1..c_order only (the script keeps c0; we follow the
   common "c0 excluded" convention so that level differences do not count);
5. alignment: exact dynamic time warping on the Euclidean distance between cepstra
   (``librosa.sequence.dtw``) where the script uses ``fastdtw`` (an approximation of it);
6. MCD = mean over the aligned frame pairs of ``10/ln 10 · sqrt(2 · Σ_d (c_d − c'_d)²)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from greenvoc.metrics.base import Metric, MetricError, at_rate

N_FFT = 1024
HOP = 256
#: sample rate (Hz) → (mcep order, all-pass alpha); evaluate_mcd.py ``_get_best_mcep_params``.
MCEP_PARAMS = {
    16000: (23, 0.42),
    22050: (34, 0.45),
    24000: (34, 0.46),
    44100: (39, 0.53),
    48000: (39, 0.55),
}


def analysis_rate(sample_rate: int) -> int:
    """The listed rate MCD runs at for input at ``sample_rate`` (the nearest at or below it)."""
    usable = [r for r in MCEP_PARAMS if r <= sample_rate]
    if not usable:
        raise MetricError(
            f"mcd_db needs audio at >= 16000 Hz (its recipe lists {sorted(MCEP_PARAMS)} Hz), "
            f"got {sample_rate} Hz"
        )
    return max(usable)


def mel_cepstra(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mel-cepstra c1..c_order of ``samples`` at a listed rate, ``(frames, order)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysptk imports the deprecated pkg_resources
        import pysptk

    order, alpha = MCEP_PARAMS[sample_rate]
    x = np.asarray(samples, dtype=np.float64) * 32768.0
    if len(x) < N_FFT:
        raise MetricError(f"mcd_db needs at least {N_FFT} samples, got {len(x)}")
    n_frames = (len(x) - N_FFT) // HOP + 1
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = x[index] * pysptk.sptk.hamming(N_FFT)
    cepstra = pysptk.mcep(frames, order, alpha, eps=1e-6, etype=1)  # (frames, order + 1)
    return np.asarray(cepstra)[:, 1:]


def mcd_db(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """MCD in dB between ``estimate`` and ``reference`` (``(T,)`` at ``sample_rate``)."""
    import librosa

    rate = analysis_rate(sample_rate)
    est = mel_cepstra(at_rate(estimate, sample_rate, rate), rate)
    ref = mel_cepstra(at_rate(reference, sample_rate, rate), rate)
    _, path = librosa.sequence.dtw(X=est.T, Y=ref.T, metric="euclidean")
    diff2 = np.sum((est[path[:, 0]] - ref[path[:, 1]]) ** 2, axis=1)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * diff2)))


METRICS = (
    Metric(
        name="mcd_db", higher_is_better=False, sample_rate=None, needs_reference=True,
        range=(0.0, float("inf")), unit="dB", group="mcd",
        compute_group=lambda e, r, sr: {"mcd_db": mcd_db(e, r, sr)},
        min_input_rate_hz=16000,
        detail="ParallelWaveGAN evaluate_mcd.py recipe: int16-scaled samples, SPTK Hamming "
        "frames n_fft 1024 / hop 256, pysptk.mcep(eps=1e-6, etype=1) with (order, alpha) "
        "(23, 0.42) at 16 kHz, (34, 0.45) at 22.05 kHz, (34, 0.46) at 24 kHz, (39, 0.53) at "
        "44.1 kHz, (39, 0.55) at 48 kHz; c0 excluded; exact DTW (librosa) on Euclidean "
        "distance; MCD = mean 10/ln10*sqrt(2*sum d^2)",
    ),
)
