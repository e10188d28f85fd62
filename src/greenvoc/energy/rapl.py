"""CPU package and DRAM energy from Intel/AMD RAPL counters, read through Linux powercap sysfs.

The powercap class folder (``/sys/class/powercap``) lists every zone flat: ``intel-rapl:X`` is a
top-level zone, ``intel-rapl:X:Y`` a sub-zone of X, ``intel-rapl-mmio:X`` the MMIO view of a
zone. Each zone holds ``name``, ``energy_uj`` (a wrapping counter, µJ) and
``max_energy_range_uj`` (its range, µJ).

Counted: every ``package-N`` (or ``package-N-die-M``) zone as ``cpu:<name>`` and its ``dram``
sub-zone as ``ram:<name>``; a top-level ``dram`` zone as ``ram:dram-K``. Never counted:
``core`` and ``uncore`` (inside the package) and ``psys`` (the platform, which includes the
package). A domain seen through both MSR and MMIO is counted once, MSR preferred.

Known double counting: multi-die AMD parts (Threadripper, EPYC Zen 1/2) may expose one package
zone per die that all mirror the same socket counter (CodeCarbon #1274, #1379). Zones of one
domain with the same range whose raw values are equal and nonzero in two samples taken at open
are treated as one counter and only the first is kept (``detail["mirrors"]`` lists the others).
Two distinct 32-bit counters agreeing to the microjoule twice is vanishingly unlikely; a mirror
that ticks between our two file reads escapes detection and is double counted as before.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from greenvoc.energy.source import ComponentInfo, EnergySource
from greenvoc.errors import CounterUnavailable

DEFAULT_POWERCAP_ROOT = "/sys/class/powercap"
ROOT_ENV = "GREENVOC_POWERCAP_ROOT"

#: Assumed upper bound on the power of any one zone (W): generous, the largest server sockets
#: draw about 400 W. With the smallest counter range it bounds how soon a counter can wrap.
MAX_ZONE_POWER_W = 500.0
#: The sampler reads at least every (time to wrap at MAX_ZONE_POWER_W) / POLL_SAFETY_FACTOR s.
POLL_SAFETY_FACTOR = 2.0
#: ...but never less often than this (s), even for counters that take hours to wrap.
MAX_POLL_INTERVAL_S = 60.0
#: Delay (s) between the two samples that confirm a mirrored counter at open.
MIRROR_CONFIRM_S = 0.005

_ZONE_RE = re.compile(r"^(intel-rapl|intel-rapl-mmio):(\d+)(?::(\d+))?$")
_PACKAGE_RE = re.compile(r"^package-\d+(?:-die-\d+)?$")
_VIEWS = {"intel-rapl": "msr", "intel-rapl-mmio": "mmio"}


def _read_text(path: Path) -> str:
    """The one place this module opens a powercap file (symlinks followed, as sysfs needs)."""
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def _permission_message(path: Path, root: Path) -> str:
    zone = path.parent.name
    return (
        f"permission denied reading {path}: RAPL counters are root-only on many distributions "
        f"since CVE-2020-8694. Grant read access for this boot with "
        f"`sudo chmod a+r {root}/intel-rapl*/{path.name}`, or persist it with a udev rule or a "
        f"/etc/sysfs.conf line `mode class/powercap/{zone}/{path.name} = 0444` (one per zone). "
        f"Until then the meter uses the labelled CPU/RAM estimate instead."
    )


def _read_uj(path: Path, root: Path) -> int:
    """A non-negative integer (µJ) from a powercap file, or :class:`CounterUnavailable`."""
    try:
        text = _read_text(path)
    except PermissionError as e:
        raise CounterUnavailable(_permission_message(path, root)) from e
    except FileNotFoundError as e:
        raise CounterUnavailable(
            f"RAPL counter file {path} is missing (zone removed or powercap driver unloaded); "
            f"the meter uses the labelled estimate for this span"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise CounterUnavailable(
            f"cannot read RAPL counter file {path}: {e}; the meter uses the labelled estimate"
        ) from e
    if not text.isdigit():
        raise CounterUnavailable(f"RAPL counter file {path} holds {text!r}, not a count of µJ")
    return int(text)


@dataclass
class _Counter:
    component: str
    domain: str
    zone: str
    view: str
    name: str
    path: Path
    max_range_uj: int | None = None
    prev_raw_uj: int = 0
    total_uj: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def energy_path(self) -> Path:
        return self.path / "energy_uj"


class RaplReader(EnergySource):
    """Cumulative joules per RAPL package (``cpu:package-N``) and DRAM (``ram:package-N``) zone.

    ``root``: the powercap class folder; default ``$GREENVOC_POWERCAP_ROOT``, else
    ``/sys/class/powercap``. Opening raises :class:`CounterUnavailable` with a reason (no tree,
    no package zone, permission denied with the fix) when no package counter is readable. A
    domain (``cpu`` or ``ram``) with any unreadable zone is left out whole, so a partly read
    domain is never labelled measured; ``notes`` says why.

    After a failed :meth:`read`, the next successful one re-baselines: the energy between the
    last good read and the recovery read is not added (the meter estimates that span).
    """

    method = "rapl"

    def __init__(self, root: str | os.PathLike[str] | None = None, *, dedupe_mirrors: bool = True):
        if root is None:
            root = os.environ.get(ROOT_ENV) or DEFAULT_POWERCAP_ROOT
        self.root = Path(root)
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._stale = False
        self._counters = self._open(dedupe_mirrors)
        ranges_uj = [c.max_range_uj for c in self._counters if c.max_range_uj]
        self.poll_interval_s: float | None = poll_interval_for(ranges_uj)
        self._info = {
            c.component: ComponentInfo(
                name=c.component,
                domain=c.domain,
                detail={
                    "zone_path": str(c.path),
                    "zone_name": c.name,
                    "view": c.view,
                    "max_energy_range_uj": c.max_range_uj,
                    **c.extra,
                },
            )
            for c in self._counters
        }

    def _open(self, dedupe_mirrors: bool) -> list[_Counter]:
        if not self.root.is_dir():
            raise CounterUnavailable(
                f"no powercap tree at {self.root}: RAPL is not exposed here (a VM or container "
                f"without /sys/class/powercap, a non-Linux OS, or the intel_rapl modules not "
                f"loaded); the meter uses the labelled CPU/RAM estimate"
            )
        try:
            entries = os.listdir(self.root)
        except OSError as e:
            raise CounterUnavailable(f"cannot list powercap tree {self.root}: {e}") from e
        zones = sorted(
            (_VIEWS[m[1]] != "msr", int(m[2]), int(m[3] or -1), m[1], e)
            for e in entries
            if (m := _ZONE_RE.match(e)) and (self.root / e).is_dir()
        )
        names: dict[tuple[str, int], str] = {}
        candidates: list[_Counter] = []
        dram_ordinal = dict.fromkeys(_VIEWS.values(), 0)
        for _, top, sub, kind, zone in zones:
            view, path = _VIEWS[kind], self.root / zone
            try:
                name = _read_text(path / "name")
            except (OSError, UnicodeDecodeError) as e:
                self.notes.append(f"skipped {path}: cannot read its name ({e})")
                continue
            if sub < 0:
                names[(kind, top)] = name
            if sub < 0 and _PACKAGE_RE.match(name):
                candidates.append(_Counter(f"cpu:{name}", "cpu", zone, view, name, path))
            elif sub < 0 and name == "dram":
                label = f"ram:dram-{dram_ordinal[view]}"
                dram_ordinal[view] += 1
                candidates.append(_Counter(label, "ram", zone, view, name, path))
            elif name == "dram" and _PACKAGE_RE.match(parent := names.get((kind, top), "")):
                candidates.append(_Counter(f"ram:{parent}", "ram", zone, view, name, path))
        if not any(c.domain == "cpu" for c in candidates):
            found = ", ".join(sorted(set(names.values()))) or "none"
            raise CounterUnavailable(
                f"no RAPL package zone under {self.root} (top-level zones: {found}); "
                f"the meter uses the labelled CPU/RAM estimate"
            )
        chosen = self._choose_views(candidates)
        for c in chosen:
            try:
                c.max_range_uj = _read_uj(c.path / "max_energy_range_uj", self.root) or None
            except CounterUnavailable as e:
                self.notes.append(f"{c.component}: {e}; a counter wrap will be reported unreadable")
        if dedupe_mirrors:
            chosen = self._drop_mirrors(chosen)
        return chosen

    def _choose_views(self, candidates: list[_Counter]) -> list[_Counter]:
        """One readable counter per component (MSR first), then drop domains not fully read."""
        by_component: dict[str, list[_Counter]] = {}
        for c in candidates:
            same = by_component.setdefault(c.component, [])
            if any(o.view == c.view for o in same):  # same name twice in one view: keep both
                c.component = f"{c.component}@{c.zone}"
                by_component[c.component] = [c]
            else:
                same.append(c)
        chosen: list[_Counter] = []
        failed: dict[str, str] = {}
        for views in by_component.values():
            errors = []
            for c in views:
                try:
                    c.prev_raw_uj = _read_uj(c.energy_path, self.root)
                except CounterUnavailable as e:
                    errors.append(str(e))
                    continue
                if len(views) > 1:
                    c.extra["shadowed"] = [o.zone for o in views if o is not c]
                chosen.append(c)
                break
            else:
                failed.setdefault(views[0].domain, errors[0])
        for domain, reason in failed.items():
            self.notes.append(f"{domain} left to the estimate: {reason}")
        if "cpu" in failed:
            raise CounterUnavailable(failed["cpu"])
        return [c for c in chosen if c.domain not in failed]

    def _drop_mirrors(self, counters: list[_Counter]) -> list[_Counter]:
        def groups(raws: dict[str, int]) -> set[tuple[str, ...]]:
            by_key: dict[tuple[str, int | None, int], list[str]] = {}
            for c in counters:
                if raws[c.component]:
                    by_key.setdefault((c.domain, c.max_range_uj, raws[c.component]), []).append(
                        c.component
                    )
            return {tuple(v) for v in by_key.values() if len(v) > 1}

        first = groups({c.component: c.prev_raw_uj for c in counters})
        if not first:
            return counters
        time.sleep(MIRROR_CONFIRM_S)
        try:
            second = {c.component: _read_uj(c.energy_path, self.root) for c in counters}
        except CounterUnavailable:
            return counters  # read() will report it; keep everything, conservatively
        confirmed = first & groups(second)
        dropped: set[str] = set()
        for group in confirmed:
            keep = next(c for c in counters if c.component == group[0])
            keep.extra["mirrors"] = [c.zone for c in counters if c.component in group[1:]]
            dropped.update(group[1:])
            self.notes.append(f"{', '.join(group[1:])} mirror {group[0]}: counted once")
        for c in counters:
            c.prev_raw_uj = second[c.component]
        return [c for c in counters if c.component not in dropped]

    def components(self) -> Mapping[str, ComponentInfo]:
        return dict(self._info)

    def read(self) -> dict[str, float]:
        """Joules per component since open; wraps corrected with ``max_energy_range_uj``."""
        with self._lock:
            new: list[tuple[_Counter, int, int]] = []
            try:
                for c in self._counters:
                    raw_uj = _read_uj(c.energy_path, self.root)
                    new.append((c, raw_uj, 0 if self._stale else self._delta_uj(c, raw_uj)))
            except CounterUnavailable:
                self._stale = True
                raise
            for c, raw_uj, delta_uj in new:
                c.total_uj += delta_uj
                c.prev_raw_uj = raw_uj
            self._stale = False
            return {c.component: c.total_uj / 1e6 for c in self._counters}

    def _delta_uj(self, c: _Counter, raw_uj: int) -> int:
        if raw_uj >= c.prev_raw_uj:
            return raw_uj - c.prev_raw_uj
        if c.max_range_uj is None:
            raise CounterUnavailable(
                f"{c.energy_path} wrapped but {c.path / 'max_energy_range_uj'} could not be read "
                f"at open, so the energy of this span is unknown"
            )
        # The hardware modulus is the range plus one energy unit (about 15-61 µJ), an error
        # accepted per wrap, as every powercap reader does.
        delta_uj = raw_uj + c.max_range_uj - c.prev_raw_uj
        if delta_uj < 0:
            raise CounterUnavailable(
                f"{c.energy_path} went from {c.prev_raw_uj} to {raw_uj} µJ, more than its range "
                f"{c.max_range_uj} µJ ({c.path / 'max_energy_range_uj'}): not a counter wrap"
            )
        return delta_uj


def poll_interval_for(max_ranges_uj: list[int]) -> float:
    """Seconds between reads so that no counter can wrap twice: the time the smallest range
    takes to fill at ``MAX_ZONE_POWER_W``, divided by ``POLL_SAFETY_FACTOR``, at most
    ``MAX_POLL_INTERVAL_S`` (also when no range is known)."""
    if not max_ranges_uj:
        return MAX_POLL_INTERVAL_S
    fill_s = min(max_ranges_uj) / 1e6 / MAX_ZONE_POWER_W
    return min(MAX_POLL_INTERVAL_S, fill_s / POLL_SAFETY_FACTOR)


def probe_rapl(root: str | os.PathLike[str] | None = None) -> tuple[RaplReader | None, str]:
    """A reader if at least one package counter is readable, else ``None``; and why, in words."""
    try:
        reader = RaplReader(root)
    except CounterUnavailable as e:
        return None, str(e)
    summary = f"RAPL via {reader.root}: {', '.join(reader.components())}"
    return reader, "; ".join([summary, *reader.notes])
