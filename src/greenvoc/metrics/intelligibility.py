"""STOI and extended STOI through ``pystoi``.

Sources: Taal et al., "An Algorithm for Intelligibility Prediction of Time–Frequency Weighted
Noisy Speech", IEEE TASLP 2011 (STOI); Jensen & Taal, IEEE TASLP 2016 (ESTOI); implementation
``pystoi.stoi(x=clean, y=processed, fs_sig, extended)``, which resamples to 10 kHz itself,
removes silent frames (40 dB range) and works on 384 ms segments of a one-third-octave
spectrogram. The signals given here are the aligned, equal-length pair, at their own rate.

When fewer than 30 frames are left after silence removal pystoi warns and returns 1e-5; that
case is raised as :class:`MetricError` so it is not averaged in as a score.
"""

from __future__ import annotations

import warnings

import numpy as np

from greenvoc.metrics.base import Metric, MetricError, require_rate

STOI_RATE_HZ = 10000


def stoi_score(
    estimate: np.ndarray, reference: np.ndarray, sample_rate: int, extended: bool = False
) -> float:
    """(E)STOI of ``estimate`` against ``reference``: equal-length ``(T,)`` at ``sample_rate``."""
    from pystoi import stoi

    name = "estoi" if extended else "stoi"
    require_rate(name, sample_rate, STOI_RATE_HZ)
    if estimate.shape != reference.shape:
        raise MetricError(f"{name} needs equal lengths, got {estimate.shape} and {reference.shape}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(reference, estimate, sample_rate, extended=extended))
    for w in caught:
        if "Not enough STFT frames" in str(w.message):
            raise MetricError(
                f"{name}: fewer than 30 frames (384 ms) of speech left after silence removal"
            )
    return value


def _stoi_group(estimate, reference, sample_rate):
    return {"stoi": stoi_score(estimate, reference, sample_rate, extended=False)}


def _estoi_group(estimate, reference, sample_rate):
    return {"estoi": stoi_score(estimate, reference, sample_rate, extended=True)}


METRICS = (
    Metric(
        name="stoi", higher_is_better=True, sample_rate=STOI_RATE_HZ, needs_reference=True,
        range=(-1.0, 1.0), unit="", group="stoi", compute_group=_stoi_group,
        min_input_rate_hz=STOI_RATE_HZ,
        detail="STOI (Taal et al. 2011) via pystoi.stoi(extended=False); pystoi resamples to "
        "10 kHz; mean clipped correlation, in practice 0..1",
    ),
    Metric(
        name="estoi", higher_is_better=True, sample_rate=STOI_RATE_HZ, needs_reference=True,
        range=(-1.0, 1.0), unit="", group="estoi", compute_group=_estoi_group,
        min_input_rate_hz=STOI_RATE_HZ,
        detail="extended STOI (Jensen & Taal 2016) via pystoi.stoi(extended=True); 10 kHz",
    ),
)
