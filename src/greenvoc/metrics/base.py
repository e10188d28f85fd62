"""What a metric declares about itself, and the helpers every metric family shares.

A :class:`Metric` is a frozen declaration (torchmetrics-style): its name, its direction
(``higher_is_better``, which the Pareto code reads), the rate it runs at, whether it needs the
reference, its range and unit, and the recipe it follows (``detail``). The computation lives in
a *group* function shared by the metrics that come out of one analysis (DNSMOS's three P.835
scores come from one ONNX run; F0 RMSE, V/UV F1 and periodicity from one pair of pitch tracks),
so a runner computes each group once per file.

Audio convention everywhere in :mod:`greenvoc.metrics`: mono float ``(T,)`` samples in [-1, 1],
rates in Hz. ``estimate`` is the system's output, ``reference`` the natural recording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from greenvoc.errors import GreenvocError

#: A group function: (estimate, reference or None, sample_rate_hz) → {metric name: value}. A
#: value may be a :class:`MetricError` instance when one metric of the group is undefined for
#: this input while the others are not (no frame voiced in both: F0 RMSE only).
GroupFn = Callable[[np.ndarray, "np.ndarray | None", int], Mapping[str, "float | Exception"]]


class MetricError(GreenvocError):
    """A metric cannot score this input (too short, a rate it cannot use, no speech found...).

    The runner records the message per file and metric; other metrics and files go on.
    """


@dataclass(frozen=True)
class Metric:
    """One objective quality measure.

    name: registry key (``pesq_wb``). higher_is_better: direction for rankings and Pareto fronts.
    sample_rate: Hz the metric runs at (input is resampled to it), or ``None`` for "the input's
    own rate". min_input_rate_hz: inputs below this rate are refused rather than upsampled
    (upsampling would invent the band the metric judges). needs_reference: intrusive or not.
    range: (min, max) of possible values (``inf`` where unbounded). unit: printed unit.
    detail: the recipe and its source. group: the analysis this metric's value comes from;
    ``compute_group`` runs it and returns every metric of the group.
    """

    name: str
    higher_is_better: bool
    sample_rate: int | None
    needs_reference: bool
    range: tuple[float, float]
    unit: str
    detail: str
    group: str
    compute_group: GroupFn
    min_input_rate_hz: int = 0

    def compute(
        self, estimate: np.ndarray, reference: np.ndarray | None, sample_rate: int
    ) -> float:
        """This metric's value for one pair of aligned, equal-length ``(T,)`` signals.

        Raises :class:`MetricError` when the input cannot be scored.
        """
        if self.needs_reference and reference is None:
            raise MetricError(f"{self.name} needs a reference signal")
        value = self.compute_group(estimate, reference, sample_rate)[self.name]
        if isinstance(value, Exception):
            raise value
        return float(value)

    def to_dict(self) -> dict:
        """The declaration without the function, JSON-able."""
        return {
            "name": self.name,
            "higher_is_better": self.higher_is_better,
            "sample_rate": self.sample_rate,
            "needs_reference": self.needs_reference,
            "range": list(self.range),
            "unit": self.unit,
            "detail": self.detail,
        }


def require_rate(name: str, sample_rate: int, min_rate_hz: int) -> None:
    """Refuse an input whose rate is below what metric ``name`` needs."""
    if sample_rate < min_rate_hz:
        raise MetricError(
            f"{name} needs audio at >= {min_rate_hz} Hz, got {sample_rate} Hz; upsampling "
            "would invent the band it measures"
        )


def at_rate(samples: np.ndarray, from_hz: int, to_hz: int | None) -> np.ndarray:
    """``samples`` resampled (soxr, :func:`greenvoc.audio.io.resample`) to ``to_hz``; float64.

    ``to_hz`` ``None`` or equal to ``from_hz`` returns the samples unchanged (as float64).
    """
    x = np.asarray(samples)
    if to_hz is not None and to_hz != from_hz:
        from greenvoc.audio.io import resample

        x = resample(x.astype(np.float32), from_hz, to_hz)
    return x.astype(np.float64, copy=False)
