"""Fake Linux powercap trees for testing RAPL readers without RAPL hardware.

:class:`FakePowercap` writes, in a folder, what ``/sys/class/powercap`` shows: one folder per zone
(``intel-rapl:0``, ``intel-rapl:0:0``, ``intel-rapl-mmio:0``, ``amd-rapl:0``...) laid out flat,
each with ``name``, ``energy_uj`` and ``max_energy_range_uj``. With ``symlinks=True`` the zone
folders live nested under ``<root>/.devices`` and the flat entries are symlinks to them, as in
real sysfs.

Layouts the meter must get right: two sockets (:meth:`FakePowercap.add_package` twice, equal
values or not), an MMIO copy of a package (``view="intel-rapl-mmio"``), a multi-die AMD part
whose die zones all mirror one ticking socket counter (:meth:`FakePowercap.add_mirrored_dies`).

Failures are made real rather than mocked: :meth:`FakePowercap.remove` deletes files or zones,
:meth:`FakePowercap.vanish` removes a package with its sub-zones mid-run (a driver unbinding it),
and :meth:`FakePowercap.make_unreadable` sets a file's mode to 000, which the kernel enforces for
any process that is not root. Inside :func:`unprivileged`, a root test process drops its
effective uid so that the mode binds to it too; the tree's folders must then be reachable by
others (pytest's ``tmp_path`` is not: use a ``tempfile.mkdtemp()`` chmod-ed to 0o755).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

#: A package counter's range on recent Intel parts (µJ): 2**32 units of 61.035 µJ.
PACKAGE_RANGE_UJ = 262_143_328_850
#: A DRAM counter's range on Intel servers (µJ): 2**32 units of 15.3 µJ.
DRAM_RANGE_UJ = 65_712_999_613


class FakePowercap:
    """A powercap class folder under ``root`` whose counters the test sets by hand (µJ)."""

    def __init__(self, root: str | os.PathLike[str], *, symlinks: bool = False):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self.symlinks = symlinks
        self._ranges_uj: dict[str, int | None] = {}
        self._mirrors: dict[str, list[str]] = {}  # zone -> zones showing the same counter

    def zone_path(self, zone: str) -> Path:
        """The flat entry of ``zone`` (``<root>/intel-rapl:0``)."""
        return self.root / zone

    def _device_path(self, zone: str) -> Path:
        if not self.symlinks:
            return self.root / zone
        # Nested like /sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0.
        kind, *indices = zone.split(":")
        parts = [":".join([kind, *indices[: i + 1]]) for i in range(len(indices))]
        return self.root.joinpath(".devices", kind, *parts)

    def add_zone(
        self,
        zone: str,
        *,
        name: str,
        energy_uj: int = 0,
        max_energy_range_uj: int | None = PACKAGE_RANGE_UJ,
    ) -> Path:
        """Create zone ``zone`` (e.g. ``"intel-rapl:0:1"``) named ``name`` (``"package-0"``,
        ``"dram"``, ``"core"``, ``"psys"``...). ``max_energy_range_uj=None`` leaves the range
        file out. Returns the flat entry."""
        device = self._device_path(zone)
        device.mkdir(parents=True, exist_ok=True)
        for d in (device, *device.parents):
            if d == self.root:
                break
            d.chmod(0o755)
        (device / "name").write_text(f"{name}\n")
        self._ranges_uj[zone] = max_energy_range_uj
        if max_energy_range_uj is not None:
            (device / "max_energy_range_uj").write_text(f"{max_energy_range_uj}\n")
        (device / "enabled").write_text("1\n")
        entry = self.zone_path(zone)
        if self.symlinks and not entry.is_symlink():
            entry.symlink_to(os.path.relpath(device, self.root))
        self.set_energy(zone, energy_uj)
        return entry

    def add_package(
        self,
        index: int,
        *,
        energy_uj: int = 0,
        dram_uj: int | None = None,
        subzones: tuple[str, ...] = (),
        view: str = "intel-rapl",
    ) -> None:
        """Zone ``<view>:<index>`` named ``package-<index>``; a ``dram`` sub-zone if ``dram_uj``
        is given; then one sub-zone per name in ``subzones`` (``"core"``, ``"uncore"``)."""
        top = f"{view}:{index}"
        self.add_zone(top, name=f"package-{index}", energy_uj=energy_uj)
        names = [*(["dram"] if dram_uj is not None else []), *subzones]
        for sub, name in enumerate(names):
            range_uj = DRAM_RANGE_UJ if name == "dram" else PACKAGE_RANGE_UJ
            uj = dram_uj if name == "dram" and dram_uj is not None else 0
            self.add_zone(f"{top}:{sub}", name=name, energy_uj=uj, max_energy_range_uj=range_uj)

    def add_mirrored_dies(
        self,
        package: int,
        dies: int,
        *,
        energy_uj: int,
        skew_uj: int = 0,
        view: str = "intel-rapl",
        first_index: int | None = None,
    ) -> list[str]:
        """A multi-die AMD package (Threadripper, EPYC Zen 1/2): ``dies`` top-level zones
        ``<view>:<k>`` named ``package-<package>-die-<m>``, all showing one socket counter.
        ``skew_uj``: die ``m`` shows ``energy_uj + m × skew_uj``, what a counter ticking between
        the reads of the die files looks like. :meth:`add_energy` on the first zone advances
        them all. ``first_index``: ``k`` of the first zone (default: the next free one).
        Returns the zones, first one first."""
        if first_index is None:
            taken = [int(e.name.split(":")[1]) for e in self.root.glob(f"{view}:*")
                     if e.name.count(":") == 1]
            first_index = max(taken, default=-1) + 1
        zones = [f"{view}:{first_index + m}" for m in range(dies)]
        for m, zone in enumerate(zones):
            self.add_zone(zone, name=f"package-{package}-die-{m}",
                          energy_uj=energy_uj + m * skew_uj)
        self._mirrors[zones[0]] = zones[1:]
        return zones

    def set_energy(self, zone: str, energy_uj: int) -> None:
        """Write the raw counter value (µJ), as the hardware would."""
        # Atomic like sysfs: a reader on another thread never sees a half-written file.
        target = self.zone_path(zone) / "energy_uj"
        tmp = target.with_name(f".energy_uj.{threading.get_ident()}.tmp")
        tmp.write_text(f"{energy_uj}\n")
        os.replace(tmp, target)

    def energy(self, zone: str) -> int:
        """The raw counter value (µJ)."""
        return int((self.zone_path(zone) / "energy_uj").read_text())

    def add_energy(self, zone: str, delta_uj: int) -> int:
        """Advance the counter by ``delta_uj``, wrapping modulo the zone's range, and every zone
        mirroring it by the same; returns the zone's new value."""
        for mirror in self._mirrors.get(zone, []):
            self._advance(mirror, delta_uj)
        return self._advance(zone, delta_uj)

    def _advance(self, zone: str, delta_uj: int) -> int:
        range_uj = self._ranges_uj.get(zone) or PACKAGE_RANGE_UJ
        value_uj = (self.energy(zone) + delta_uj) % range_uj
        self.set_energy(zone, value_uj)
        return value_uj

    def make_unreadable(self, zone: str, file: str = "energy_uj") -> Path:
        """Mode 000 on one file of ``zone``: unreadable to any non-root reader (the state of
        ``energy_uj`` since CVE-2020-8694 on many distributions). Returns the file's path."""
        path = self.zone_path(zone) / file
        path.chmod(0)
        return path

    def remove(self, zone: str, file: str | None = None) -> Path:
        """Delete one file of ``zone``, or the whole zone (a driver unloaded). Returns the path."""
        if file is not None:
            path = self.zone_path(zone) / file
            path.unlink()
            return path
        entry = self.zone_path(zone)
        shutil.rmtree(self._device_path(zone))
        if entry.is_symlink():
            entry.unlink()
        return entry

    def vanish(self, zone: str) -> list[Path]:
        """Remove ``zone`` and all its sub-zones (``intel-rapl:1`` takes ``intel-rapl:1:0``
        with it), as when a package's powercap device goes away mid-run. Returns the entries."""
        subzones = sorted(e.name for e in self.root.glob(f"{zone}:*"))
        return [self.remove(z) for z in [*subzones, zone] if self.zone_path(z).exists()]


@contextlib.contextmanager
def unprivileged(uid: int | None = None) -> Iterator[None]:
    """Run the block with the effective uid of ``nobody`` (or ``uid``) if the process is root,
    so file modes bind as they do for an ordinary user; a no-op otherwise. The effective uid is
    process-wide: do not use it while other threads touch files."""
    if os.geteuid() != 0:
        yield
        return
    if uid is None:
        try:
            uid = pwd.getpwnam("nobody").pw_uid
        except KeyError:
            uid = 65534
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
