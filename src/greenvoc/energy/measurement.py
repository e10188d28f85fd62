"""Results of a metered window: frozen, with derived totals and an honest ``measured`` flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from greenvoc.energy.source import COUNTER_METHODS

J_PER_KWH = 3.6e6
J_PER_WH = 3.6e3


@dataclass(frozen=True)
class Component:
    """Energy of one consumer (a CPU package, its DRAM, a GPU, or an estimate) over a window.

    energy_j: joules over the window.
    method: ``"rapl"``, ``"nvml"``, ``"estimate"``; ``"<counter>+estimate"`` when a counter
        could not be read for part of the window and that span was charged from the estimate or
        the device's fallback power (``detail["gap_s"]``, ``["gap_energy_j"]``, ``["error"]``);
        ``"nvml-instant"`` for a window shorter than the GPU energy counter's update period,
        charged the power reading × duration (``detail["approximation"]``). Only ``rapl`` and
        ``nvml`` are measured.
    domain: ``"cpu"``, ``"ram"`` or ``"gpu:N"``.
    detail: how the figure was obtained: counter path or device, or the estimate's constants;
        ``detail["notes"]`` says in words what a reader must know (why a domain fell to the
        estimate, mirrors merged, a gap), and ``detail["fallback_reason"]`` why an estimate
        stands where a counter was expected.
    """

    energy_j: float
    method: str
    domain: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        """True only when the whole window came from a hardware counter."""
        return self.method in COUNTER_METHODS

    @property
    def notes(self) -> tuple[str, ...]:
        """What a reader of this figure must know, in words (from ``detail["notes"]``)."""
        return tuple(self.detail.get("notes", ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "method": self.method,
            "domain": self.domain,
            "measured": self.measured,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Measurement:
    """Energy of a named window.

    duration_s: wall-clock seconds between the window's boundaries (monotonic clock).
    components: component name → :class:`Component`.
    start_unix_s: when the window began (UNIX time), for the record.
    warnings: what went wrong in this window (a counter that failed, a window shorter than a
        counter's update period).
    notes: what the meter knew when it opened (a counter missing or partial, and why; mirrors
        merged; an unmetered GPU).
    """

    name: str
    duration_s: float
    components: Mapping[str, Component]
    start_unix_s: float = 0.0
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))

    @property
    def energy_j(self) -> float:
        """Total joules over every component."""
        return sum(c.energy_j for c in self.components.values())

    @property
    def energy_wh(self) -> float:
        return self.energy_j / J_PER_WH

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def measured(self) -> bool:
        """True only when every component came from a hardware counter for the whole window."""
        return bool(self.components) and all(c.measured for c in self.components.values())

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted({c.method for c in self.components.values()}))

    def energy_j_by_domain(self) -> dict[str, float]:
        """Joules summed per domain (``cpu``, ``ram``, ``gpu:N``)."""
        out: dict[str, float] = {}
        for c in self.components.values():
            out[c.domain] = out.get(c.domain, 0.0) + c.energy_j
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "duration_s": self.duration_s,
            "start_unix_s": self.start_unix_s,
            "energy_j": self.energy_j,
            "energy_kwh": self.energy_kwh,
            "mean_power_w": self.mean_power_w,
            "measured": self.measured,
            "components": {k: c.to_dict() for k, c in self.components.items()},
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def energy_label(methods: set[str], measured: bool) -> str:
    """How a run's energy was obtained, e.g. ``measured (nvml+rapl)`` or ``estimated (…)``:
    measured only when every window was."""
    return ("measured (" if measured else "estimated (") + "+".join(sorted(methods)) + ")"
