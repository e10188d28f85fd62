"""PESQ (ITU-T P.862), wide-band and narrow-band, through the ``pesq`` package.

Source: ``pesq`` (ludlows/python-pesq), ``pesq.pesq(fs, ref, deg, mode)`` with ``mode="wb"`` at
16 kHz (P.862.2 MOS-LQO, 1.04–4.64) and ``mode="nb"`` at 8 kHz (P.862.1 MOS-LQO, 1.02–4.55).
Inputs at another rate are resampled with soxr (:func:`greenvoc.audio.io.resample`); inputs
below the metric's rate are refused. The library's failures (``NoUtterancesError``,
``BufferTooShortError``...) are raised as :class:`MetricError` for that file: never replaced
by −1 and averaged, which is what ``on_error=RETURN_VALUES`` invites (Vocos does this).
"""

from __future__ import annotations

import warnings

import numpy as np

from greenvoc.metrics.base import Metric, MetricError, at_rate, require_rate

_MODES = {"pesq_wb": ("wb", 16000), "pesq_nb": ("nb", 8000)}


def pesq_score(estimate: np.ndarray, reference: np.ndarray, sample_rate: int, mode: str) -> float:
    """PESQ MOS-LQO of ``estimate`` against ``reference`` (both ``(T,)`` at ``sample_rate``).

    mode: "wb" (runs at 16 kHz) or "nb" (runs at 8 kHz).
    """
    import pesq

    name = f"pesq_{mode}"
    rate = _MODES[name][1]
    require_rate(name, sample_rate, rate)
    ref = at_rate(reference, sample_rate, rate)
    est = at_rate(estimate, sample_rate, rate)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # its peak normalisation of zeros
            return float(pesq.pesq(rate, ref, est, mode, on_error=pesq.PesqError.RAISE_EXCEPTION))
    except pesq.PesqError as e:
        raise MetricError(f"{name}: {type(e).__name__}: {e}") from e
    except (ValueError, RuntimeError) as e:  # cypesq reports some failures this way
        raise MetricError(f"{name}: {e}") from e


def _group_for(name: str):
    mode = _MODES[name][0]

    def group(estimate, reference, sample_rate):
        return {name: pesq_score(estimate, reference, sample_rate, mode)}

    return group


METRICS = (
    Metric(
        name="pesq_wb", higher_is_better=True, sample_rate=16000, needs_reference=True,
        range=(1.04, 4.64), unit="MOS-LQO", group="pesq_wb", compute_group=_group_for("pesq_wb"),
        min_input_rate_hz=16000,
        detail="ITU-T P.862.2 wide-band PESQ at 16 kHz via the pesq package (pesq.pesq mode "
        "'wb'); soxr resampling; failures reported per file, never scored as -1",
    ),
    Metric(
        name="pesq_nb", higher_is_better=True, sample_rate=8000, needs_reference=True,
        range=(1.02, 4.55), unit="MOS-LQO", group="pesq_nb", compute_group=_group_for("pesq_nb"),
        min_input_rate_hz=8000,
        detail="ITU-T P.862 narrow-band PESQ (P.862.1 mapping) at 8 kHz via the pesq package "
        "(mode 'nb'); soxr resampling; failures reported per file, never scored as -1",
    ),
)
