"""``EnergyMeter``: named, nestable windows over counters, a labelled estimate where none exist.

Every source reports cumulative joules per component; a window is the difference of two
snapshots. Counter sources (RAPL, NVML) cover their domains (``cpu``, ``ram``, ``gpu:N``); the
estimate covers ``cpu`` and ``ram`` wherever no counter does. When a counter fails mid-window,
the span after its last good read is charged from the estimate (or the source's fallback power)
and the component is labelled ``<counter>+estimate`` with the gap's length.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from greenvoc.energy.estimate import CpuEstimate, CpuPowerModel, Mode, RamEstimate
from greenvoc.energy.measurement import Component, Measurement
from greenvoc.energy.nvml import cuda_synchronize
from greenvoc.energy.process_tree import ProcessTree
from greenvoc.energy.sampler import Sampler
from greenvoc.energy.source import EnergySource
from greenvoc.errors import CounterUnavailable, UsageError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.1


@dataclass
class _Snapshot:
    time_s: float
    values: list[dict[str, float] | None]  # per source index; None: read failed
    errors: dict[int, str] = field(default_factory=dict)


@dataclass
class _Window:
    name: str
    begin: _Snapshot
    start_unix_s: float


class EnergyMeter:
    """Meters energy over named windows.

    >>> with EnergyMeter() as meter:
    ...     with meter.window("work"):
    ...         sum(i * i for i in range(10**5))
    >>> meter.measurement.energy_j >= 0 and meter["work"].duration_s > 0
    True

    sources: counter sources to use (default: probe RAPL and NVML, see
        :func:`greenvoc.energy.probe.probe_counters`); pass ``[]`` for the estimate alone.
    interval_s: sampling period for the sources that need one (RAM estimate, NVML power
        polling); counters are read at window boundaries only.
    mode: ``"process"`` (the metered process tree) or ``"machine"`` for the estimate.
    pid / include_root: the process tree the estimate charges (default: this process).
    cpu_tdp_w: override the TDP table (W per CPU package).
    """

    def __init__(
        self,
        sources: Sequence[EnergySource] | None = None,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        mode: Mode = "process",
        pid: int | None = None,
        include_root: bool = True,
        cpu_tdp_w: float | None = None,
        estimate_ram: bool = True,
    ) -> None:
        if mode not in ("process", "machine"):
            raise UsageError(f"unknown meter mode {mode!r}; valid modes: process, machine")
        self.notes: list[str] = []
        if sources is None:
            from greenvoc.energy.probe import probe_counters

            sources, self.notes = probe_counters()
        self.counters = list(sources)
        tree = ProcessTree(pid, include_root=include_root)
        self.estimates: list[EnergySource] = [
            CpuEstimate(CpuPowerModel.for_this_machine(cpu_tdp_w), mode=mode, tree=tree)
        ]
        if estimate_ram:
            self.estimates.append(RamEstimate(mode=mode, tree=tree, interval_s=interval_s))
        self.sources = self.counters + self.estimates
        self.interval_s = interval_s
        self._lock = threading.RLock()
        self._last_good: dict[int, _Snapshot] = {}
        self._failed: dict[int, str] = {}
        self._down: dict[int, _Snapshot] = {}  # failing source → its last good snapshot
        self._gaps: dict[int, list[tuple[_Snapshot, _Snapshot]]] = {}  # recovered failures
        self._windows: dict[str, _Window] = {}
        self.results: dict[str, Measurement] = {}
        self.measurement: Measurement | None = None
        self._last_read_s = [0.0] * len(self.sources)
        polled = [s.poll_interval_s for s in self.sources if s.poll_interval_s]
        self._sampler = Sampler(self._poll, min(polled)) if polled else None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> EnergyMeter:
        """Start sampling now (windows also start it, and the last one to close stops it)."""
        if self._sampler is not None:
            self._sampler.start()
        return self

    def stop(self) -> None:
        """Stop sampling and release the sources; the meter cannot be used afterwards."""
        if self._sampler is not None:
            self._sampler.stop()
        for source in self.sources:
            try:
                source.close()
            except Exception as e:  # closing must never break the metered program
                log.debug("closing %s failed: %s", source, e)

    def __enter__(self) -> EnergyMeter:
        self.start()
        self.begin_window("total")
        return self

    def __exit__(self, *exc: object) -> None:
        self.measurement = self.end_window("total")
        self.stop()

    # -- windows ---------------------------------------------------------------------------
    def begin_window(self, name: str) -> None:
        """Open a window; names are unique among open windows, windows may nest and overlap."""
        with self._lock:
            if name in self._windows:
                raise UsageError(f"window {name!r} is already open; end it or use another name")
            cuda_synchronize()
            self._windows[name] = _Window(name, self._snapshot(), time.time())
        if self._sampler is not None and not self._sampler.running:
            self._sampler.start()

    def end_window(self, name: str) -> Measurement:
        """Close a window and return its :class:`Measurement` (also kept in ``self[name]``)."""
        with self._lock:
            if name not in self._windows:
                open_ = ", ".join(self._windows) or "none"
                raise UsageError(f"no open window named {name!r} (open windows: {open_})")
            cuda_synchronize()
            end = self._snapshot()
            window = self._windows.pop(name)
            result = self._measure(window, end)
            self.results[name] = result
            idle = not self._windows
        if idle and self._sampler is not None:
            self._sampler.stop()  # nothing open: no thread left behind
        return result

    @contextmanager
    def window(self, name: str) -> Iterator[None]:
        self.begin_window(name)
        try:
            yield
        finally:
            self.end_window(name)

    def measure(self, name: str | None = None) -> Callable:
        """Decorator: each call of the function is a window (named after it by default)."""

        def decorate(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self.window(name or fn.__qualname__):
                    return fn(*args, **kwargs)

            return wrapper

        return decorate

    def __getitem__(self, name: str) -> Measurement:
        return self.results[name]

    # -- internals -------------------------------------------------------------------------
    def read_now(self) -> None:
        """Read every source now (what the sampler does when a counter is due)."""
        with self._lock:
            self._snapshot()

    def _poll(self) -> None:
        """A sampler tick: read only the sources whose poll interval has elapsed. A due counter
        triggers a full snapshot, so a later gap can be estimated from the same instant."""
        try:
            now = time.monotonic()
            due = [
                i for i, src in enumerate(self.sources)
                if src.poll_interval_s and now - self._last_read_s[i] >= 0.999 * src.poll_interval_s
            ]
            if any(i < len(self.counters) for i in due):
                self.read_now()
                return
            for i in due:
                self.sources[i].read()
                self._last_read_s[i] = now
        except Exception as e:  # the sampler thread must never die or crash the program
            log.warning("energy sampler: %s", e)

    def _snapshot(self) -> _Snapshot:
        snap = _Snapshot(time.monotonic(), [])
        self._last_read_s = [snap.time_s] * len(self.sources)
        for i, source in enumerate(self.sources):
            try:
                snap.values.append(source.read())
            except CounterUnavailable as e:
                snap.values.append(None)
                snap.errors[i] = str(e)
                if i not in self._failed:
                    self._failed[i] = str(e)
                    log.warning("%s; the span it misses is estimated and labelled so", e)
        for i, values in enumerate(snap.values):
            if values is None:
                if i in self._last_good:
                    self._down.setdefault(i, self._last_good[i])
                continue
            if i in self._down:
                self._gaps.setdefault(i, []).append((self._down.pop(i), snap))
            self._last_good[i] = snap
        return snap

    def _estimate_delta(self, domain: str, start: _Snapshot, end: _Snapshot) -> float | None:
        """Joules the estimate sources attribute to ``domain`` between two snapshots."""
        offset = len(self.counters)
        for j, source in enumerate(self.estimates):
            for comp, info in source.components().items():
                a, b = start.values[offset + j], end.values[offset + j]
                if info.domain == domain and a is not None and b is not None:
                    return b[comp] - a[comp]
        return None

    def _measure(self, window: _Window, end: _Snapshot) -> Measurement:
        begin, components, warnings = window.begin, {}, []
        covered: set[str] = set()
        for i, source in enumerate(self.counters):
            if begin.values[i] is None:
                continue  # dead before the window opened: its domains fall to the estimate
            infos = source.components()
            covered |= {info.domain for info in infos.values()}
            end_values = end.values[i]
            for name, info in infos.items():
                detail = dict(info.detail)
                if end_values is not None:
                    energy_j = end_values[name] - begin.values[i][name]
                    method = source.method
                    if not source.counts_through_gaps:
                        gap_s, gap_j = self._recovered_gaps(i, info.domain, begin, end)
                        if gap_s > 0:
                            energy_j += gap_j
                            method = f"{source.method}+estimate"
                            detail.update(gap_s=gap_s, gap_energy_j=gap_j,
                                          error=self._failed.get(i, ""))
                            warnings.append(f"{name}: unreadable for {gap_s:.3f} s, estimated")
                    components[name] = Component(energy_j, method, info.domain, detail)
                    min_window_s = detail.get("min_window_s")
                    if min_window_s and end.time_s - begin.time_s < min_window_s:
                        warnings.append(
                            f"{name}: window of {end.time_s - begin.time_s:.3f} s is shorter "
                            f"than the counter's update period ({min_window_s} s)"
                        )
                    continue
                components[name] = self._with_gap(i, name, info.domain, detail, begin, end)
                warnings.append(f"{name}: {end.errors.get(i, 'counter failed')}")
        offset = len(self.counters)
        for j, source in enumerate(self.estimates):
            a, b = begin.values[offset + j], end.values[offset + j]
            for name, info in source.components().items():
                if info.domain in covered or a is None or b is None:
                    continue
                energy_j = b[name] - a[name]
                components[name] = Component(energy_j, "estimate", info.domain, info.detail)
        return Measurement(
            window.name, end.time_s - begin.time_s, components, window.start_unix_s, tuple(warnings)
        )

    def _recovered_gaps(
        self, i: int, domain: str, begin: _Snapshot, end: _Snapshot
    ) -> tuple[float, float]:
        """Seconds and estimated joules of spans inside the window that source ``i`` missed
        and recovered from; the joules are split evenly among its components of ``domain``."""
        siblings = [c for c, inf in self.counters[i].components().items() if inf.domain == domain]
        gap_s = gap_j = 0.0
        for lost, back in self._gaps.get(i, []):
            if lost.time_s >= begin.time_s and back.time_s <= end.time_s:
                gap_s += back.time_s - lost.time_s
                gap_j += (self._estimate_delta(domain, lost, back) or 0.0) / len(siblings)
        return gap_s, gap_j

    def _with_gap(
        self, i: int, name: str, domain: str, detail: dict, begin: _Snapshot, end: _Snapshot
    ) -> Component:
        source = self.counters[i]
        last = self._last_good.get(i, begin)
        if last.time_s < begin.time_s:
            last = begin
        counted_j = last.values[i][name] - begin.values[i][name]
        gap_s = end.time_s - last.time_s
        siblings = [c for c, inf in source.components().items() if inf.domain == domain]
        estimated = self._estimate_delta(domain, last, end)
        if estimated is not None:
            gap_j, how = estimated / len(siblings), "estimate source for the domain"
        elif (power_w := source.fallback_power_w(name)) is not None:
            gap_j, how = power_w * gap_s, f"fallback power {power_w:g} W × gap"
        else:
            gap_j, how = 0.0, "not counted: no estimate for this domain"
        detail.update(
            counted_j=counted_j, gap_s=gap_s, gap_energy_j=gap_j, gap_method=how,
            error=self._failed.get(i, ""),
        )
        return Component(counted_j + gap_j, f"{source.method}+estimate", domain, detail)
