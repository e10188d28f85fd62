"""The contract every energy source fulfils: cumulative joules per component.

A source (RAPL, NVML, the CPU/RAM estimate) exposes one or more *components*, each a named
energy consumer in a *domain* (``cpu``, ``ram``, ``gpu:N``). :meth:`EnergySource.read` returns
the energy of each component accumulated since the source was opened, in joules, monotonic
non-decreasing: counter wraparound and power integration are the source's business. A window's
energy is then the difference of two reads, so windows nest and overlap freely.

Sources that must be read regularly to stay correct (a counter that may wrap between two window
boundaries, a power reading integrated over time) say so through ``poll_interval_s``; the
meter's background sampler then calls :meth:`read` at least that often. Others leave it ``None``
and cost nothing between window boundaries.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Methods whose figures come from a hardware counter (``measured``); anything else is an estimate.
COUNTER_METHODS = frozenset({"rapl", "nvml"})


@dataclass(frozen=True)
class ComponentInfo:
    """What a component is.

    name: unique across sources, e.g. ``"cpu:package-0"``, ``"ram:package-0"``, ``"gpu:0"``.
    domain: the hardware it covers: ``"cpu"``, ``"ram"`` or ``"gpu:N"`` (N the physical index).
    detail: how it is obtained (counter path, device name, constants used), shown in reports.
    """

    name: str
    domain: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class EnergySource(abc.ABC):
    """A provider of cumulative energy readings for one or more components."""

    #: ``"rapl"``, ``"nvml"`` or ``"estimate"``; labels every figure this source produces.
    method: str = ""

    #: The sampler must call :meth:`read` at least this often (seconds); ``None``: never needed.
    poll_interval_s: float | None = None

    #: After a failed read, does the next good read include the energy of the span it missed
    #: (a hardware counter that kept counting, as NVML's)? If not (RAPL restarts from the
    #: recovered value, since a reset cannot be told from a wrap), the meter charges that span
    #: from the estimate and labels it.
    counts_through_gaps: bool = False

    @abc.abstractmethod
    def components(self) -> Mapping[str, ComponentInfo]:
        """The components this source reports, by name."""

    @abc.abstractmethod
    def read(self) -> dict[str, float]:
        """Cumulative joules per component name since the source was opened.

        Monotonic non-decreasing between calls. Thread-safe. Raises
        :class:`greenvoc.errors.CounterUnavailable` when the underlying counter cannot be read.
        """

    def fallback_power_w(self, component: str) -> float | None:
        """A power (W) to charge for a span this component could not be read, if no estimate
        source covers its domain (e.g. a GPU's power limit). ``None``: leave the span uncounted."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release handles (NVML shutdown, file descriptors)."""
