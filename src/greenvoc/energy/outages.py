"""Snapshots of every source, and per-component outages: what the meter could not read, when.

The meter reads every source at window boundaries and sampler ticks (a :class:`Snapshot`).
Each component (a RAPL zone, a GPU) is tracked on its own by :class:`OutageLog`: an outage opens
at the first snapshot that cannot read the component and closes at the first one that can, so a
window can tell the energy its counter counted from the spans it has to charge otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Key = tuple[int, str]  # (source index, component name)


@dataclass
class Snapshot:
    """One read of every source at ``time_s`` (monotonic clock)."""

    time_s: float
    values: list[dict[str, float]]  # per source index: joules of each component read
    errors: dict[Key, str] = field(default_factory=dict)  # components not read, and why

    def has(self, key: Key) -> bool:
        return key[1] in self.values[key[0]]

    def value(self, key: Key) -> float:
        return self.values[key[0]][key[1]]


@dataclass
class Outage:
    """A component unreadable from after ``lost`` (its last good snapshot; ``None``: none since
    the meter opened) until ``back`` (the snapshot it was read again in; ``None``: still down)."""

    lost: Snapshot | None
    error: str
    back: Snapshot | None = None


@dataclass(frozen=True)
class Span:
    """A part of a window whose energy a component's counter did not count, and why."""

    start: Snapshot
    end: Snapshot
    error: str

    @property
    def duration_s(self) -> float:
        return self.end.time_s - self.start.time_s


class OutageLog:
    """The last good snapshot and the outages of every component. Not thread-safe: the meter
    calls it under its lock."""

    def __init__(self) -> None:
        self._last_good: dict[Key, Snapshot] = {}
        self._outages: dict[Key, list[Outage]] = {}

    def track(self, key: Key, snap: Snapshot) -> str | None:
        """Record whether ``snap`` read the component; returns the error when an outage opens."""
        outages = self._outages.get(key, [])
        ongoing = outages[-1] if outages and outages[-1].back is None else None
        if key in snap.errors:
            if ongoing is not None:
                return None
            error = snap.errors[key]
            self._outages.setdefault(key, []).append(Outage(self._last_good.get(key), error))
            return error
        if ongoing is not None:
            ongoing.back = snap
        self._last_good[key] = snap
        return None

    def good_bounds(
        self, key: Key, begin: Snapshot, end: Snapshot
    ) -> tuple[Snapshot, Snapshot] | None:
        """The first and last snapshots of the window ``[begin, end]`` that read the component;
        ``None`` if none did."""
        first: Snapshot | None = begin if begin.has(key) else None
        if first is None:
            first = next(
                (o.back for o in self._outages.get(key, [])
                 if o.back is not None and begin.time_s < o.back.time_s <= end.time_s),
                None,
            )
        if first is None:
            return None
        if end.has(key):
            return first, end
        last = self._last_good.get(key)
        return (first, first) if last is None or last.time_s < first.time_s else (first, last)

    def unread_spans(
        self, key: Key, counts_through: bool, begin: Snapshot, end: Snapshot
    ) -> list[Span]:
        """The parts of the window whose energy the component's counter did not count.
        ``counts_through``: the counter kept counting while unreadable, so an outage that both
        began and ended inside the window cost nothing."""
        spans = []
        for o in self._outages.get(key, []):
            lost_inside = o.lost is not None and o.lost.time_s >= begin.time_s
            start = o.lost if lost_inside and o.lost is not None else begin
            stop = o.back if o.back is not None and o.back.time_s <= end.time_s else end
            if stop.time_s <= start.time_s or start.time_s >= end.time_s:
                continue  # outside the window
            if counts_through and lost_inside and o.back is stop:
                continue
            spans.append(Span(start, stop, o.error))
        return spans
