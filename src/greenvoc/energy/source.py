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

One failing component never voids the others: :meth:`EnergySource.read_components` returns the
components it could read and, for each one it could not, why. The meter charges only the failed
component's unread span from the estimate (or the source's :meth:`fallback_power`) and labels it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from greenvoc.errors import CounterUnavailable

#: Methods whose figures come from a hardware counter (``measured``); anything else is an estimate
#: (``estimate``, ``<counter>+estimate`` for a span a counter missed, ``nvml-instant`` for a window
#: shorter than the GPU counter's update period).
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


@dataclass(frozen=True)
class Reading:
    """One read of a source.

    energy_j: cumulative joules of each component that could be read.
    errors: component name → why it could not be read this time (file, error, fix).
    """

    energy_j: Mapping[str, float]
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PowerFigure:
    """A power (W) charged in place of a counter (an unread span, a too short window), and
    where it comes from, in words."""

    power_w: float
    basis: str


class EnergySource(abc.ABC):
    """A provider of cumulative energy readings for one or more components."""

    #: ``"rapl"``, ``"nvml"`` or ``"estimate"``; labels every figure this source produces.
    method: str = ""

    #: The sampler must call :meth:`read` at least this often (seconds); ``None``: never needed.
    poll_interval_s: float | None = None

    #: What a reader of this source's figures must know (mirrors merged, a range unreadable).
    notes: Sequence[str] = ()

    #: Domains this source would cover but cannot, with the reason; the estimate covers them.
    uncovered: Mapping[str, str] = MappingProxyType({})

    @abc.abstractmethod
    def components(self) -> Mapping[str, ComponentInfo]:
        """The components this source reports, by name."""

    @abc.abstractmethod
    def read(self) -> dict[str, float]:
        """Cumulative joules per component name since the source was opened.

        Monotonic non-decreasing between calls. Thread-safe. Raises
        :class:`greenvoc.errors.CounterUnavailable` when the underlying counter cannot be read.
        """

    def read_components(self) -> Reading:
        """Like :meth:`read`, but a component that cannot be read is reported in
        ``Reading.errors`` while the others are returned. Sources whose components fail
        together keep this default."""
        try:
            return Reading(self.read())
        except CounterUnavailable as e:
            return Reading({}, dict.fromkeys(self.components(), str(e)))

    def counts_through_gap(self, component: str) -> bool:
        """After a failed read, does the next good read of ``component`` include the energy of
        the span it missed (a hardware counter that kept counting, as NVML's)? If not (RAPL
        restarts from the recovered value, since a reset cannot be told from a wrap; polled power
        cannot know what it did not sample), the meter charges that span and labels it."""
        return False

    def fallback_power(self, component: str) -> PowerFigure | None:
        """A power to charge for a span this component could not be read, when no estimate
        source covers its domain (e.g. a GPU's power limit). ``None``: leave it uncounted."""
        return None

    def short_window_power(self, component: str) -> PowerFigure | None:
        """For a counter too coarse for windows shorter than ``detail["min_window_s"]``: the power
        now, which the meter multiplies by such a window's duration. ``None``: the counter's
        difference stands (with a warning). Raises :class:`CounterUnavailable` if unreadable."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release handles (NVML shutdown, file descriptors)."""
