"""``EnergyMeter``: named, nestable windows over counters, a labelled estimate where none exist.

Every source reports cumulative joules per component; a window is the difference of two
snapshots. Counter sources (RAPL, NVML) cover their domains (``cpu``, ``ram``, ``gpu:N``); the
estimate covers ``cpu`` and ``ram`` wherever no counter does, with the reason. Failures are
tracked per component: when one counter fails, the others keep counting, and only the failed
component's unread span (from its last good read to its recovery or the window's end) is charged
from the estimate of its domain (or the source's fallback power) and labelled
``<counter>+estimate`` with ``gap_s``, ``gap_energy_j`` and the error.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from greenvoc.energy.estimate import CpuEstimate, CpuPowerModel, Mode, RamEstimate
from greenvoc.energy.measurement import Component, Measurement
from greenvoc.energy.nvml import cuda_synchronize
from greenvoc.energy.outages import Key, OutageLog, Snapshot, Span
from greenvoc.energy.process_tree import ProcessTree
from greenvoc.energy.sampler import Sampler
from greenvoc.energy.source import ComponentInfo, EnergySource, Reading
from greenvoc.errors import CounterUnavailable, UsageError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.1


@dataclass
class _Window:
    name: str
    begin: Snapshot
    start_unix_s: float


class EnergyMeter:
    """Meters energy over named windows.

    >>> with EnergyMeter() as meter:
    ...     with meter.window("work"):
    ...         sum(i * i for i in range(10**5))
    >>> meter.measurement.energy_j >= 0 and meter["work"].duration_s > 0
    True

    sources: counter sources to use (default: probe RAPL and NVML, see
        :func:`greenvoc.energy.probe.probe`); pass ``[]`` for the estimate alone.
    interval_s: sampling period of every polled source the meter opens: the RAM estimate, and
        with probed sources NVML power polling and RAPL (read at least this often, and often
        enough not to miss a wrap), so a counter that fails is charged from the estimate from at
        most ``interval_s`` before it failed. Sources passed in keep their own periods.
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
        if sources is None:
            from greenvoc.energy.probe import probe

            found = probe(interval_s=interval_s)
            sources, self.notes, self.uncovered = found.sources, found.notes, found.uncovered
        else:
            self.notes = [note for s in sources for note in s.notes]
            self.uncovered = {d: why for s in sources for d, why in s.uncovered.items()}
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
        self._outages = OutageLog()
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

    def _snapshot(self) -> Snapshot:
        snap = Snapshot(time.monotonic(), [])
        self._last_read_s = [snap.time_s] * len(self.sources)
        for i, source in enumerate(self.sources):
            try:
                reading = source.read_components()
            except CounterUnavailable as e:
                reading = Reading({}, dict.fromkeys(source.components(), str(e)))
            snap.values.append(dict(reading.energy_j))
            snap.errors.update({(i, name): why for name, why in reading.errors.items()})
        for i, source in enumerate(self.sources):
            for name in source.components():
                if (error := self._outages.track((i, name), snap)) is not None:
                    log.warning("%s; the span it misses is estimated and labelled so", error)
        return snap

    def _estimate_delta(self, domain: str, start: Snapshot, end: Snapshot) -> float | None:
        """Joules the estimate sources attribute to ``domain`` between two snapshots."""
        offset = len(self.counters)
        for j, source in enumerate(self.estimates):
            for comp, info in source.components().items():
                key = (offset + j, comp)
                if info.domain == domain and start.has(key) and end.has(key):
                    return end.value(key) - start.value(key)
        return None

    def _measure(self, window: _Window, end: Snapshot) -> Measurement:
        begin, components, warnings = window.begin, {}, []
        estimated = {i.domain for src in self.estimates for i in src.components().values()}
        # A domain no counter could read when the window opened falls to the estimate whole.
        live = {
            info.domain
            for i, src in enumerate(self.counters)
            for name, info in src.components().items()
            if begin.has((i, name))
        }
        reasons: dict[str, list[str]] = {d: [why] for d, why in self.uncovered.items()}
        for i, source in enumerate(self.counters):
            for name, info in source.components().items():
                if info.domain in estimated and info.domain not in live:
                    reasons.setdefault(info.domain, []).append(begin.errors.get((i, name), ""))
                    continue
                components[name] = self._counter_component((i, name), info, begin, end, warnings)
        covered = {c.domain for c in components.values()}
        offset = len(self.counters)
        for j, source in enumerate(self.estimates):
            for name, info in source.components().items():
                key = (offset + j, name)
                if info.domain in covered or not (begin.has(key) and end.has(key)):
                    continue
                detail = dict(info.detail)
                why = "; ".join(reasons.get(info.domain) or ["no counter source was given"])
                detail["fallback_reason"] = why
                detail["notes"] = [
                    *detail.get("notes", ()), f"{name}: no counter covers {info.domain}: {why}"
                ]
                energy_j = end.value(key) - begin.value(key)
                components[name] = Component(energy_j, "estimate", info.domain, detail)
        return Measurement(
            window.name, end.time_s - begin.time_s, components, window.start_unix_s,
            tuple(warnings), tuple(self.notes),
        )

    def _counter_component(
        self, key: Key, info: ComponentInfo, begin: Snapshot, end: Snapshot,
        warnings: list[str],
    ) -> Component:
        """The counted energy of one component over the window, plus its unread spans charged
        from the estimate or the source's fallback power."""
        source, name = self.counters[key[0]], key[1]
        bounds = self._outages.good_bounds(key, begin, end)
        counted_j = bounds[1].value(key) - bounds[0].value(key) if bounds else 0.0
        spans = self._outages.unread_spans(key, source.counts_through_gap(name), begin, end)
        detail = dict(info.detail)
        if not spans:
            component = Component(counted_j, source.method, info.domain, detail)
            return self._short_window(key, component, end.time_s - begin.time_s, warnings)
        gap_s = gap_j = 0.0
        how, errors = "", []
        for span in spans:
            joules, how, power_w = self._gap_energy(key, info.domain, span)
            gap_s += span.duration_s
            gap_j += joules
            if power_w is not None:
                detail["gap_power_w"] = power_w
            if span.error not in errors:
                errors.append(span.error)
        error = "; ".join(errors)
        detail.update(counted_j=counted_j, gap_s=gap_s, gap_energy_j=gap_j, gap_method=how,
                      error=error)
        note = (f"{name}: unreadable for {gap_s:.3f} s of this window ({error}); that span is "
                f"charged {gap_j:.3f} J from {how}")
        detail["notes"] = [*detail.get("notes", ()), note]
        warnings.append(f"{name}: unreadable for {gap_s:.3f} s, estimated: {error}")
        return Component(counted_j + gap_j, f"{source.method}+estimate", info.domain, detail)

    def _gap_energy(self, key: Key, domain: str, span: Span) -> tuple[float, str, float | None]:
        """Joules to charge for an unread span, how they were obtained, and the fallback power
        (W) used, if any. The domain's estimate is split evenly among the source's components
        of that domain (the estimate does not know which package or DIMM was busy)."""
        source, name = self.counters[key[0]], key[1]
        estimated = self._estimate_delta(domain, span.start, span.end)
        if estimated is not None:
            n = sum(1 for inf in source.components().values() if inf.domain == domain)
            return estimated / n, f"the {domain} estimate over the span ÷ {n} counter(s)", None
        fallback = source.fallback_power(name)
        if fallback is not None:
            joules = fallback.power_w * span.duration_s
            return joules, f"{fallback.power_w:g} W × span ({fallback.basis})", fallback.power_w
        return 0.0, "nothing: no estimate or fallback power for this domain (not counted)", None

    def _short_window(
        self, key: Key, component: Component, duration_s: float, warnings: list[str]
    ) -> Component:
        """A window shorter than the counter's update period: the counter difference may be 0 or
        a whole step, so charge the source's power now × the duration where it offers one."""
        name = key[1]
        min_window_s = component.detail.get("min_window_s")
        if not min_window_s or duration_s >= min_window_s:
            return component
        source = self.counters[key[0]]
        try:
            power = source.short_window_power(name)
        except CounterUnavailable as e:
            power, why = None, f"; no power reading either ({e})"
        else:
            why = ""
        if power is None:
            warnings.append(f"{name}: window of {duration_s:.3f} s is shorter than the counter's "
                            f"update period ({min_window_s} s){why}")
            return component
        power_w = power.power_w
        detail = dict(component.detail)
        approximation = (f"{power_w:g} W × {duration_s:.4f} s, because the window is shorter "
                         f"than the counter's update period ({min_window_s} s); power from "
                         f"{power.basis}")
        detail.update(counter_j=component.energy_j, instant_power_w=power_w,
                      approximation=approximation)
        detail["notes"] = [*detail.get("notes", ()), f"{name}: {approximation}; not measured"]
        warnings.append(f"{name}: {approximation}; labelled {source.method}-instant, estimated")
        return Component(power_w * duration_s, f"{source.method}-instant", component.domain,
                         detail)
