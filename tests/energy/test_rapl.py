"""RaplReader against fake powercap trees: exact joules, wraps, topology, failures."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenvoc.energy import rapl
from greenvoc.energy.rapl import RaplReader, poll_interval_for, probe_rapl
from greenvoc.errors import CounterUnavailable, GreenvocError
from greenvoc.testing.powercap import (
    DRAM_RANGE_UJ,
    PACKAGE_RANGE_UJ,
    FakePowercap,
    unprivileged,
)

INTEL, AMD = "GenuineIntel", "AuthenticAMD"


@pytest.fixture
def root() -> Iterator[Path]:
    # Not tmp_path: its parents are 0700, and unprivileged() must be able to reach the tree.
    d = Path(tempfile.mkdtemp(prefix="greenvoc-powercap-"))
    d.chmod(0o755)
    yield d / "powercap"
    shutil.rmtree(d)


@pytest.fixture
def fake(root: Path) -> FakePowercap:
    return FakePowercap(root)


def test_two_packages_with_dram_sum_exact_deltas(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1_000_000, dram_uj=7_000_000)
    fake.add_package(1, energy_uj=2_000_000, dram_uj=9_000_000)
    reader = RaplReader(fake.root)

    assert set(reader.components()) == {
        "cpu:package-0",
        "ram:package-0",
        "cpu:package-1",
        "ram:package-1",
    }
    assert {n: c.domain for n, c in reader.components().items()} == {
        "cpu:package-0": "cpu",
        "ram:package-0": "ram",
        "cpu:package-1": "cpu",
        "ram:package-1": "ram",
    }
    assert reader.read() == {n: 0.0 for n in reader.components()}

    fake.add_energy("intel-rapl:0", 3_500_000)
    fake.add_energy("intel-rapl:0:0", 1_250_000)
    fake.add_energy("intel-rapl:1", 4_000_001)
    fake.add_energy("intel-rapl:1:0", 750_000)
    assert reader.read() == {
        "cpu:package-0": 3.5,
        "ram:package-0": 1.25,
        "cpu:package-1": 4.000001,
        "ram:package-1": 0.75,
    }
    fake.add_energy("intel-rapl:0", 500_000)
    assert reader.read()["cpu:package-0"] == 4.0

    detail = reader.components()["ram:package-1"].detail
    assert detail["zone_path"] == str(fake.root / "intel-rapl:1:0")
    assert detail["max_energy_range_uj"] == DRAM_RANGE_UJ
    assert reader.method == "rapl"


def test_wraparound_between_reads_uses_max_energy_range(fake: FakePowercap) -> None:
    fake.add_zone(
        "intel-rapl:0", name="package-0", energy_uj=9_000_000, max_energy_range_uj=10_000_000
    )
    reader = RaplReader(fake.root)
    fake.set_energy("intel-rapl:0", 500_000)  # 9.0 J -> 10.0 J wraps to 0 -> 0.5 J
    assert reader.read() == {"cpu:package-0": 1.5}
    fake.set_energy("intel-rapl:0", 250_000)  # a second wrap: 9.75 J more
    assert reader.read() == {"cpu:package-0": 11.25}


def test_wrap_with_unreadable_range_raises_and_never_goes_negative(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="package-0", energy_uj=9_000_000, max_energy_range_uj=None)
    reader = RaplReader(fake.root)
    assert reader.components()["cpu:package-0"].detail["max_energy_range_uj"] is None
    fake.set_energy("intel-rapl:0", 9_400_000)
    assert reader.read() == {"cpu:package-0": 0.4}
    fake.set_energy("intel-rapl:0", 100_000)
    with pytest.raises(CounterUnavailable, match="max_energy_range_uj"):
        reader.read()
    # Recovery re-baselines: the unmeasured span is the meter's, not added here.
    fake.set_energy("intel-rapl:0", 600_000)
    assert reader.read() == {"cpu:package-0": 0.4}
    fake.set_energy("intel-rapl:0", 700_000)
    assert reader.read() == {"cpu:package-0": 0.5}


def test_concurrent_reads_add_each_delta_once(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1)
    reader = RaplReader(fake.root)
    fake.add_energy("intel-rapl:0", 2_000_000)
    barrier = threading.Barrier(8)
    results: list[float] = []

    def worker() -> None:
        barrier.wait()
        results.append(reader.read()["cpu:package-0"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2.0] * 8


def test_core_uncore_psys_never_counted(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=100, dram_uj=200, subzones=("core", "uncore"))
    fake.add_zone("intel-rapl:1", name="psys", energy_uj=300)
    reader = RaplReader(fake.root)
    assert set(reader.components()) == {"cpu:package-0", "ram:package-0"}

    fake.add_energy("intel-rapl:0", 2_000_000)
    fake.add_energy("intel-rapl:0:0", 1_000_000)  # dram
    fake.add_energy("intel-rapl:0:1", 1_500_000)  # core
    fake.add_energy("intel-rapl:0:2", 300_000)  # uncore
    fake.add_energy("intel-rapl:1", 9_000_000)  # psys
    assert reader.read() == {"cpu:package-0": 2.0, "ram:package-0": 1.0}


def test_top_level_dram_zone_counted(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=100)
    fake.add_zone("intel-rapl:1", name="dram", energy_uj=5, max_energy_range_uj=DRAM_RANGE_UJ)
    reader = RaplReader(fake.root)
    assert reader.components()["ram:dram-0"].domain == "ram"
    fake.add_energy("intel-rapl:1", 2_000_000)
    assert reader.read() == {"cpu:package-0": 0.0, "ram:dram-0": 2.0}


def test_msr_and_mmio_views_of_package_counted_once(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=10)
    fake.add_package(0, energy_uj=20, view="intel-rapl-mmio")
    reader = RaplReader(fake.root)
    assert list(reader.components()) == ["cpu:package-0"]
    detail = reader.components()["cpu:package-0"].detail
    assert detail["view"] == "msr"
    assert detail["shadowed"] == ["intel-rapl-mmio:0"]

    fake.add_energy("intel-rapl:0", 3_000_000)
    fake.add_energy("intel-rapl-mmio:0", 2_900_000)
    assert reader.read() == {"cpu:package-0": 3.0}


def test_mmio_used_only_for_a_domain_msr_lacks(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="psys", energy_uj=1)
    fake.add_package(0, energy_uj=20, view="intel-rapl-mmio")
    reader = RaplReader(fake.root)
    assert reader.components()["cpu:package-0"].detail["view"] == "mmio"
    fake.add_energy("intel-rapl-mmio:0", 1_500_000)
    fake.add_energy("intel-rapl:0", 8_000_000)
    assert reader.read() == {"cpu:package-0": 1.5}


@pytest.mark.parametrize("vendor", [INTEL, AMD, ""])
def test_die_zones_of_one_package_equal_twice_counted_once(fake: FakePowercap, vendor) -> None:
    fake.add_zone("intel-rapl:0", name="package-0-die-0", energy_uj=123_456_789)
    fake.add_zone("intel-rapl:1", name="package-0-die-1", energy_uj=123_456_789)
    reader = RaplReader(fake.root, cpu_vendor=vendor)
    assert list(reader.components()) == ["cpu:package-0-die-0"]
    detail = reader.components()["cpu:package-0-die-0"].detail
    assert detail["mirrors"] == ["intel-rapl:1"]
    assert any("intel-rapl:1" in note and "counted once" in note for note in detail["notes"])
    for zone in ("intel-rapl:0", "intel-rapl:1"):
        fake.add_energy(zone, 68_000_000)
    assert reader.read() == {"cpu:package-0-die-0": 68.0}


def test_distinct_or_zero_die_counters_are_not_mirrors_on_intel(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="package-0-die-0", energy_uj=0)
    fake.add_zone("intel-rapl:1", name="package-0-die-1", energy_uj=0)
    fake.add_zone("intel-rapl:2", name="package-1-die-0", energy_uj=5)
    fake.add_zone("intel-rapl:3", name="package-1-die-1", energy_uj=6)
    reader = RaplReader(fake.root, cpu_vendor=INTEL)
    assert len(reader.components()) == 4
    # Cascade Lake-AP: one counter per die, nothing ambiguous; only the missing DRAM is noted.
    assert [n.split(":")[0] for n in reader.notes] == ["ram left to the estimate"]
    assert "no dram zone" in reader.uncovered["ram"]


@pytest.mark.parametrize(("view", "vendor"), [("intel-rapl", AMD), ("amd-rapl", "")])
def test_amd_dies_mirroring_one_ticking_counter_counted_once(
    fake: FakePowercap, view: str, vendor: str
) -> None:
    # Four dies show one socket counter; it ticks between the reads of the four files, so the
    # values at open differ and equal-value detection alone would count it four times.
    zones = fake.add_mirrored_dies(0, 4, energy_uj=50_000_000, skew_uj=1_234, view=view)
    reader = RaplReader(fake.root, cpu_vendor=vendor)
    assert list(reader.components()) == ["cpu:package-0-die-0"]
    detail = reader.components()["cpu:package-0-die-0"].detail
    assert detail["mirrors"] == zones[1:]
    assert any("AMD" in note and "counted once" in note for note in detail["notes"])
    fake.add_energy(zones[0], 15_500_000)
    assert reader.read() == {"cpu:package-0-die-0": 15.5}


def test_two_amd_sockets_with_mirrored_dies_count_each_socket_once(fake: FakePowercap) -> None:
    socket0 = fake.add_mirrored_dies(0, 2, energy_uj=10_000_000, skew_uj=7)
    socket1 = fake.add_mirrored_dies(1, 2, energy_uj=10_000_000, skew_uj=7)
    reader = RaplReader(fake.root, cpu_vendor=AMD)
    assert list(reader.components()) == ["cpu:package-0-die-0", "cpu:package-1-die-0"]
    fake.add_energy(socket0[0], 3_000_000)
    fake.add_energy(socket1[0], 4_000_000)
    assert reader.read() == {"cpu:package-0-die-0": 3.0, "cpu:package-1-die-0": 4.0}


@pytest.mark.parametrize("vendor", [INTEL, AMD, ""])
def test_two_sockets_reading_equal_at_open_both_count(fake: FakePowercap, vendor: str) -> None:
    fake.add_package(0, energy_uj=123_456_789, dram_uj=5_000_000)
    fake.add_package(1, energy_uj=123_456_789, dram_uj=5_000_000)
    reader = RaplReader(fake.root, cpu_vendor=vendor)
    assert set(reader.components()) == {
        "cpu:package-0", "ram:package-0", "cpu:package-1", "ram:package-1"
    }
    assert not any("mirror" in note for note in reader.notes)
    fake.add_energy("intel-rapl:0", 25_000_000)
    fake.add_energy("intel-rapl:1", 25_000_000)
    assert sum(v for k, v in reader.read().items() if k.startswith("cpu:")) == 50.0


def test_mmio_copy_of_one_socket_counted_once_next_to_another_socket(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=10, dram_uj=20)
    fake.add_package(1, energy_uj=30)
    fake.add_package(0, energy_uj=10, view="intel-rapl-mmio")
    reader = RaplReader(fake.root, cpu_vendor=INTEL)
    assert set(reader.components()) == {"cpu:package-0", "ram:package-0", "cpu:package-1"}
    assert reader.components()["cpu:package-0"].detail["shadowed"] == ["intel-rapl-mmio:0"]
    fake.add_energy("intel-rapl:0", 2_000_000)
    fake.add_energy("intel-rapl-mmio:0", 2_000_000)
    fake.add_energy("intel-rapl:1", 1_000_000)
    assert reader.read() == {"cpu:package-0": 2.0, "ram:package-0": 0.0, "cpu:package-1": 1.0}


def test_unknown_vendor_with_distinct_dies_is_called_ambiguous(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="package-0-die-0", energy_uj=1_000_000)
    fake.add_zone("intel-rapl:1", name="package-0-die-1", energy_uj=2_000_000)
    reader = RaplReader(fake.root, cpu_vendor="")
    assert len(reader.components()) == 2
    note = reader.components()["cpu:package-0-die-0"].detail["notes"][0]
    assert "ambiguous" in note and "vendor is unknown" in note and "2×" in note
    assert any("ambiguous" in n for n in reader.notes)


def test_two_zones_of_one_name_in_one_view_are_called_ambiguous(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="package-0", energy_uj=1_000_000)
    fake.add_zone("intel-rapl:1", name="package-0", energy_uj=9_000_000)
    reader = RaplReader(fake.root, cpu_vendor=INTEL)
    assert set(reader.components()) == {"cpu:package-0", "cpu:package-0@intel-rapl:1"}
    assert any("ambiguous" in n and "intel-rapl:1" in n for n in reader.notes)


def test_missing_range_is_noted_on_the_component(fake: FakePowercap) -> None:
    fake.add_zone("intel-rapl:0", name="package-0", energy_uj=1, max_energy_range_uj=None)
    reader, reason = probe_rapl(fake.root)
    assert reader is not None
    note = reader.components()["cpu:package-0"].detail["notes"][0]
    assert "max_energy_range_uj" in note and "wrap" in note
    assert note in reason


def test_symlinked_zones_followed(root: Path) -> None:
    fake = FakePowercap(root, symlinks=True)
    fake.add_package(0, energy_uj=1, dram_uj=2, subzones=("core",))
    assert (root / "intel-rapl:0:0").is_symlink()
    reader = RaplReader(root)
    fake.add_energy("intel-rapl:0", 1_000_000)
    fake.add_energy("intel-rapl:0:0", 250_000)
    fake.add_energy("intel-rapl:0:1", 999_999)
    assert reader.read() == {"cpu:package-0": 1.0, "ram:package-0": 0.25}


def test_a_vanished_package_leaves_the_other_zones_counting(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1, dram_uj=2)
    fake.add_package(1, energy_uj=3, dram_uj=4)
    reader = RaplReader(fake.root)
    fake.vanish("intel-rapl:1")
    fake.add_energy("intel-rapl:0", 2_000_000)
    fake.add_energy("intel-rapl:0:0", 1_000_000)
    reading = reader.read_components()
    assert reading.energy_j == {"cpu:package-0": 2.0, "ram:package-0": 1.0}
    assert set(reading.errors) == {"cpu:package-1", "ram:package-1"}
    assert str(fake.root / "intel-rapl:1" / "energy_uj") in reading.errors["cpu:package-1"]
    with pytest.raises(CounterUnavailable, match="intel-rapl:1:0"):
        reader.read()  # read() still raises, naming every zone that failed


def test_a_zone_that_recovers_rebaselines_alone(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1)
    fake.add_package(1, energy_uj=5_000_000)
    reader = RaplReader(fake.root)
    saved = fake.energy("intel-rapl:1")
    fake.remove("intel-rapl:1", "energy_uj")
    fake.add_energy("intel-rapl:0", 1_000_000)
    assert reader.read_components().energy_j == {"cpu:package-0": 1.0}
    fake.set_energy("intel-rapl:1", saved + 7_000_000)  # back: the 7 J it missed are not added
    fake.add_energy("intel-rapl:0", 1_000_000)
    assert reader.read() == {"cpu:package-0": 2.0, "cpu:package-1": 0.0}
    fake.add_energy("intel-rapl:1", 500_000)
    assert reader.read() == {"cpu:package-0": 2.0, "cpu:package-1": 0.5}


def test_removed_counter_mid_run_raises_naming_the_file(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1, dram_uj=2)
    reader = RaplReader(fake.root)
    path = fake.remove("intel-rapl:0:0", "energy_uj")
    with pytest.raises(CounterUnavailable, match=str(path)):
        reader.read()
    fake.remove("intel-rapl:0")
    with pytest.raises(CounterUnavailable, match=str(fake.root / "intel-rapl:0" / "energy_uj")):
        reader.read()


def test_garbage_counter_raises(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1)
    reader = RaplReader(fake.root)
    (fake.root / "intel-rapl:0" / "energy_uj").write_text("-5\n")
    with pytest.raises(CounterUnavailable, match="not a count"):
        reader.read()


def test_unreadable_counter_mid_run_raises_with_fix(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1)
    reader = RaplReader(fake.root)
    path = fake.make_unreadable("intel-rapl:0")
    with unprivileged(), pytest.raises(CounterUnavailable) as info:
        reader.read()
    message = str(info.value)
    assert str(path) in message
    assert "CVE-2020-8694" in message
    assert f"sudo chmod a+r {fake.root}/intel-rapl*/energy_uj" in message
    assert "mode class/powercap/intel-rapl:0/energy_uj = 0444" in message
    assert "estimate" in message
    assert isinstance(info.value, GreenvocError)


def test_probe_permission_denied_returns_none_with_fix(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1, dram_uj=2)
    fake.add_package(1, energy_uj=3, dram_uj=4)
    for zone in ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1", "intel-rapl:1:0"):
        fake.make_unreadable(zone)
    with unprivileged():
        reader, reason = probe_rapl(fake.root)
    assert reader is None
    assert str(fake.root / "intel-rapl:0" / "energy_uj") in reason
    assert "sudo chmod a+r" in reason


def test_unreadable_dram_leaves_ram_to_estimate(fake: FakePowercap) -> None:
    fake.add_package(0, energy_uj=1, dram_uj=2)
    fake.add_package(1, energy_uj=3, dram_uj=4)
    fake.make_unreadable("intel-rapl:1:0")
    with unprivileged():
        reader, reason = probe_rapl(fake.root)
    assert reader is not None
    assert set(reader.components()) == {"cpu:package-0", "cpu:package-1"}
    assert "ram left to the estimate" in reason
    assert str(fake.root / "intel-rapl:1:0" / "energy_uj") in reason
    assert "CVE-2020-8694" in reader.uncovered["ram"]


def test_probe_without_tree_or_package(root: Path) -> None:
    reader, reason = probe_rapl(root / "absent")
    assert reader is None
    assert "no powercap tree" in reason and "VM" in reason

    fake = FakePowercap(root)
    fake.add_zone("intel-rapl:0", name="psys", energy_uj=1)
    reader, reason = probe_rapl(root)
    assert reader is None
    assert "no RAPL package zone" in reason and "psys" in reason

    fake.add_package(1, energy_uj=5)
    reader, reason = probe_rapl(root)
    assert reader is not None
    assert "cpu:package-1" in reason


def test_poll_interval_derived_from_smallest_range(fake: FakePowercap) -> None:
    # 1e9 µJ = 1000 J fills in 2 s at 500 W; halved: 1 s.
    fake.add_zone("intel-rapl:0", name="package-0", energy_uj=1, max_energy_range_uj=1_000_000_000)
    fake.add_zone("intel-rapl:0:0", name="dram", energy_uj=2, max_energy_range_uj=4_000_000_000)
    assert RaplReader(fake.root).poll_interval_s == 1.0
    # The meter's sampling interval, where shorter, is followed too.
    reader = RaplReader(fake.root, poll_interval_s=0.25)
    assert reader.poll_interval_s == 0.25
    assert reader.components()["cpu:package-0"].detail["poll_interval_s"] == 0.25
    assert RaplReader(fake.root, poll_interval_s=5.0).poll_interval_s == 1.0
    assert poll_interval_for([PACKAGE_RANGE_UJ, DRAM_RANGE_UJ]) == rapl.MAX_POLL_INTERVAL_S == 60.0
    assert poll_interval_for([]) == 60.0
    assert poll_interval_for([30_000_000_000]) == 30.0


def test_env_var_root_honoured(fake: FakePowercap, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.add_package(3, energy_uj=1)
    monkeypatch.setenv("GREENVOC_POWERCAP_ROOT", str(fake.root))
    reader = RaplReader()
    assert reader.root == fake.root
    assert list(reader.components()) == ["cpu:package-3"]
    assert probe_rapl()[0] is not None
    monkeypatch.setenv("GREENVOC_POWERCAP_ROOT", "")  # empty: the real sysfs default
    _, reason = probe_rapl()
    assert "/sys/class/powercap" in reason


@settings(max_examples=150, deadline=None)
@given(
    range_uj=st.integers(min_value=1, max_value=2**40),
    data=st.data(),
)
def test_cumulative_equals_sum_of_increments_whatever_wraps(range_uj: int, data) -> None:
    start_uj = data.draw(st.integers(min_value=0, max_value=range_uj - 1))
    increments_uj = data.draw(
        st.lists(st.integers(min_value=0, max_value=range_uj - 1), max_size=20)
    )
    with tempfile.TemporaryDirectory() as d:
        fake = FakePowercap(Path(d))
        fake.add_zone(
            "intel-rapl:0", name="package-0", energy_uj=start_uj, max_energy_range_uj=range_uj
        )
        reader = RaplReader(fake.root)
        total_uj = 0
        for inc_uj in increments_uj:
            fake.add_energy("intel-rapl:0", inc_uj)
            total_uj += inc_uj
            joules = reader.read()["cpu:package-0"]
            assert joules == pytest.approx(total_uj / 1e6, abs=1e-6)
