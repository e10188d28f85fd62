"""CPU package and DRAM energy from Intel/AMD RAPL counters, read through Linux powercap sysfs.

The powercap class folder (``/sys/class/powercap``) lists every zone flat: ``intel-rapl:X`` is a
top-level zone, ``intel-rapl:X:Y`` a sub-zone of X, ``intel-rapl-mmio:X`` the MMIO view of a
zone, ``amd-rapl:X`` the same tree where the kernel names it after AMD. Each zone holds
``name``, ``energy_uj`` (a wrapping counter, µJ) and ``max_energy_range_uj`` (its range, µJ).

Counted: every ``package-N`` (or ``package-N-die-M``) zone as ``cpu:<name>`` and its ``dram``
sub-zone as ``ram:<name>``; a top-level ``dram`` zone as ``ram:dram-K``. Never counted:
``core`` and ``uncore`` (inside the package) and ``psys`` (the platform, which includes the
package).

Zones are grouped by the package their ``name`` file gives (``package-N``, ``package-N-die-M``),
never by their values: two sockets whose counters happen to read the same are two sockets.
Within a package:

* the MSR (``intel-rapl``, then ``amd-rapl``) and MMIO (``intel-rapl-mmio``) views of one zone
  count once, MSR preferred (``detail["shadowed"]``);
* on AMD (vendor ``AuthenticAMD``/``HygonGenuine``, or an ``amd-rapl`` tree) the per-die zones of
  one package all mirror the socket's counter (Threadripper, EPYC Zen 1/2; CodeCarbon #1274,
  #1379): the first readable one counts, the others are listed in ``detail["mirrors"]``;
* elsewhere per-die zones are distinct counters (Intel Cascade Lake-AP has one per die); zones of
  one package that read equal and nonzero in two samples at open are still taken for mirrors.
  An unknown vendor, or two zones of one name in one view, is ambiguous and said so in the notes.

A zone that cannot be read affects its own component only: the others keep counting.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from greenvoc.energy.source import ComponentInfo, EnergySource, Reading
from greenvoc.energy.tdp import read_cpu_vendor
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
#: AMD die zones that are read at open more than this apart (µJ, 1 J: 500 W for 2 ms) are still
#: merged as mirrors, with a note that they may be distinct counters.
MIRROR_SLACK_UJ = 1_000_000
#: ``vendor_id`` values of CPUs whose per-die package zones mirror one socket counter.
AMD_VENDORS = frozenset({"AuthenticAMD", "HygonGenuine"})

_ZONE_RE = re.compile(r"^(intel-rapl|amd-rapl|intel-rapl-mmio):(\d+)(?::(\d+))?$")
_PACKAGE_RE = re.compile(r"^package-(\d+)(?:-die-(\d+))?$")
_VIEWS = {"intel-rapl": "msr", "amd-rapl": "amd", "intel-rapl-mmio": "mmio"}
_VIEW_ORDER = {"msr": 0, "amd": 1, "mmio": 2}


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
    package: int | None = None  # from the name of the zone or of its parent package zone
    max_range_uj: int | None = None
    prev_raw_uj: int = 0
    total_uj: int = 0
    stale: bool = False  # the last read failed: the next good one re-baselines
    extra: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def energy_path(self) -> Path:
        return self.path / "energy_uj"


class RaplReader(EnergySource):
    """Cumulative joules per RAPL package (``cpu:package-N``) and DRAM (``ram:package-N``) zone.

    ``root``: the powercap class folder; default ``$GREENVOC_POWERCAP_ROOT``, else
    ``/sys/class/powercap``. Opening raises :class:`CounterUnavailable` with a reason (no tree,
    no package zone, permission denied with the fix) when no package counter is readable. A
    domain (``cpu`` or ``ram``) with any zone unreadable at open is left out whole, so a partly
    read domain is never labelled measured; ``uncovered`` and ``notes`` say why.
    ``poll_interval_s``: read at least this often (the meter's sampling interval), and always
    often enough that no counter wraps twice between reads. ``cpu_vendor``: ``vendor_id`` of the
    CPU (default: from ``/proc/cpuinfo``); decides whether per-die zones mirror one counter.

    A zone that fails a read is reported by :meth:`read_components` while the others count on;
    its next good read re-baselines: the energy of the span it missed is not added (the meter
    charges that span from the estimate and labels it).
    """

    method = "rapl"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        dedupe_mirrors: bool = True,
        poll_interval_s: float | None = None,
        cpu_vendor: str | None = None,
    ):
        if root is None:
            root = os.environ.get(ROOT_ENV) or DEFAULT_POWERCAP_ROOT
        self.root = Path(root)
        self.cpu_vendor = cpu_vendor if cpu_vendor is not None else read_cpu_vendor()
        self.notes: list[str] = []
        self.uncovered: dict[str, str] = {}
        self._lock = threading.Lock()
        self._counters = self._open(dedupe_mirrors)
        ranges_uj = [c.max_range_uj for c in self._counters if c.max_range_uj]
        self.poll_interval_s: float | None = poll_interval_for(ranges_uj)
        if poll_interval_s is not None:
            self.poll_interval_s = min(self.poll_interval_s, poll_interval_s)
        self._info = {
            c.component: ComponentInfo(
                name=c.component,
                domain=c.domain,
                detail={
                    "zone_path": str(c.path),
                    "zone_name": c.name,
                    "view": c.view,
                    "max_energy_range_uj": c.max_range_uj,
                    "poll_interval_s": self.poll_interval_s,
                    **c.extra,
                    **({"notes": list(c.notes)} if c.notes else {}),
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
            (_VIEW_ORDER[_VIEWS[m[1]]], int(m[2]), int(m[3] or -1), m[1], e)
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
            if sub < 0 and (package := _PACKAGE_RE.match(name)):
                candidates.append(
                    _Counter(f"cpu:{name}", "cpu", zone, view, name, path, int(package[1]))
                )
            elif sub < 0 and name == "dram":
                label = f"ram:dram-{dram_ordinal[view]}"
                dram_ordinal[view] += 1
                candidates.append(_Counter(label, "ram", zone, view, name, path))
            elif name == "dram" and (
                package := _PACKAGE_RE.match(parent := names.get((kind, top), ""))
            ):
                candidates.append(
                    _Counter(f"ram:{parent}", "ram", zone, view, name, path, int(package[1]))
                )
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
                self._note(c, f"its range is unknown ({e.__cause__ or e}): a wrap of this "
                              f"counter will be reported as unreadable and that span charged "
                              f"from the estimate")
        if dedupe_mirrors:
            chosen = self._merge_mirrors(chosen)
        return chosen

    def _note(self, c: _Counter, text: str) -> None:
        c.notes.append(text)
        self.notes.append(f"{c.component}: {text}")

    def _choose_views(self, candidates: list[_Counter]) -> list[_Counter]:
        """One readable counter per component (MSR first), then drop domains not fully read."""
        by_component: dict[str, list[_Counter]] = {}
        for c in candidates:
            same = by_component.setdefault(c.component, [])
            if any(o.view == c.view for o in same):  # same name twice in one view: keep both
                twin = next(o for o in same if o.view == c.view)
                c.component = f"{c.component}@{c.zone}"
                by_component[c.component] = [c]
                self._note(c, f"{c.zone} and {twin.zone} are both named {c.name!r} in one view: "
                              f"ambiguous; kept as two counters unless they turn out to mirror "
                              f"one counter")
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
            self.uncovered[domain] = reason
        if "cpu" in failed:
            raise CounterUnavailable(failed["cpu"])
        if not any(c.domain == "ram" for c in candidates):
            reason = (f"no dram zone under {self.root} (client CPUs and AMD parts expose none); "
                      f"the meter uses the labelled RAM estimate")
            self.notes.append(f"ram left to the estimate: {reason}")
            self.uncovered["ram"] = reason
        return [c for c in chosen if c.domain not in failed]

    def _merge_mirrors(self, counters: list[_Counter]) -> list[_Counter]:
        """Count once the zones of one package that mirror one counter (see the module doc)."""
        groups: dict[tuple[str, int], list[_Counter]] = {}
        for c in counters:
            if c.package is not None:
                groups.setdefault((c.domain, c.package), []).append(c)
        groups = {k: g for k, g in groups.items() if len(g) > 1}
        if not groups:
            return counters
        amd = self.cpu_vendor in AMD_VENDORS or any(c.view == "amd" for c in counters)
        second: dict[str, int] | None = None
        if not amd:
            time.sleep(MIRROR_CONFIRM_S)
            try:
                second = {c.component: _read_uj(c.energy_path, self.root) for c in counters}
            except CounterUnavailable:
                second = {}  # read_components will report it; merge nothing, conservatively
        dropped: set[str] = set()
        for (_, package), group in groups.items():
            if amd:
                self._merge_amd(package, group)
                dropped.update(c.component for c in group[1:])
            else:
                dropped.update(self._merge_equal(package, group, second or {}))
        if second:
            for c in counters:
                c.prev_raw_uj = second[c.component]
        return [c for c in counters if c.component not in dropped]

    def _merge_amd(self, package: int, group: list[_Counter]) -> None:
        keep, mirrors = group[0], group[1:]
        keep.extra["mirrors"] = [c.zone for c in mirrors]
        self._note(keep, f"{', '.join(c.zone for c in mirrors)} mirror {keep.zone}: counted once "
                         f"(AMD exposes package {package}'s counter once per die)")
        spread_uj = max(c.prev_raw_uj for c in group) - min(c.prev_raw_uj for c in group)
        if spread_uj > MIRROR_SLACK_UJ:
            self._note(keep, f"ambiguous: the zones of package {package} read "
                             f"{spread_uj / 1e6:.3f} J apart at open; if they are distinct "
                             f"counters, this package's energy is undercounted")

    def _merge_equal(self, package: int, group: list[_Counter], second: dict[str, int]) -> set[str]:
        """Zones of one package (not AMD) that read equal and nonzero twice are one counter."""
        by_value: dict[tuple[int | None, int, int], list[_Counter]] = {}
        for c in group:
            if c.prev_raw_uj and c.component in second:
                key = (c.max_range_uj, c.prev_raw_uj, second[c.component])
                by_value.setdefault(key, []).append(c)
        dropped: set[str] = set()
        for same in by_value.values():
            if len(same) < 2:
                continue
            keep, mirrors = same[0], same[1:]
            keep.extra["mirrors"] = [c.zone for c in mirrors]
            self._note(keep, f"{', '.join(c.zone for c in mirrors)} read the same as {keep.zone} "
                             f"in two samples at open: taken for mirrors of one counter, "
                             f"counted once")
            dropped.update(c.component for c in mirrors)
        if not self.cpu_vendor and len(group) - len(dropped) > 1:
            kept = [c.zone for c in group if c.component not in dropped]
            self._note(group[0], f"ambiguous: package {package} has zones {', '.join(kept)} and "
                                 f"the CPU vendor is unknown; counted as distinct per-die counters "
                                 f"(as on Intel); if they mirror one counter (AMD), this package "
                                 f"is counted {len(kept)}×")
        return dropped

    def components(self) -> Mapping[str, ComponentInfo]:
        return dict(self._info)

    def read(self) -> dict[str, float]:
        """Joules per component since open; wraps corrected with ``max_energy_range_uj``.
        Raises :class:`CounterUnavailable` naming every zone that failed (the others are
        updated all the same)."""
        reading = self.read_components()
        if reading.errors:
            raise CounterUnavailable("; ".join(reading.errors.values()))
        return dict(reading.energy_j)

    def read_components(self) -> Reading:
        """Joules of every zone that could be read; why each other one could not."""
        with self._lock:
            errors: dict[str, str] = {}
            for c in self._counters:
                try:
                    raw_uj = _read_uj(c.energy_path, self.root)
                    delta_uj = 0 if c.stale else self._delta_uj(c, raw_uj)
                except CounterUnavailable as e:
                    c.stale = True
                    errors[c.component] = str(e)
                    continue
                c.total_uj += delta_uj
                c.prev_raw_uj = raw_uj
                c.stale = False
            energy_j = {
                c.component: c.total_uj / 1e6 for c in self._counters if c.component not in errors
            }
            return Reading(energy_j, errors)

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


def probe_rapl(
    root: str | os.PathLike[str] | None = None, *, poll_interval_s: float | None = None
) -> tuple[RaplReader | None, str]:
    """A reader if at least one package counter is readable, else ``None``; and why, in words
    (with the reader's notes: a domain left to the estimate, mirrors merged, ranges missing)."""
    try:
        reader = RaplReader(root, poll_interval_s=poll_interval_s)
    except CounterUnavailable as e:
        return None, str(e)
    summary = f"RAPL via {reader.root}: {', '.join(reader.components())}"
    return reader, "; ".join([summary, *reader.notes])
