"""EnergyMeter over real counters in a fake powercap tree, and over the estimate on this machine."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenvoc import EnergyMeter
from greenvoc.energy.estimate import CpuPowerModel, machine_energy_j
from greenvoc.energy.rapl import RaplReader
from greenvoc.errors import UsageError
from greenvoc.testing.powercap import PACKAGE_RANGE_UJ, FakePowercap


@pytest.fixture
def tree(tmp_path):
    fake = FakePowercap(tmp_path / "powercap")
    fake.add_package(0, energy_uj=1_000_000, dram_uj=500_000)
    fake.add_package(1, energy_uj=7_000_000, dram_uj=900_000)
    return fake


def counter_meter(fake: FakePowercap, **kwargs) -> EnergyMeter:
    return EnergyMeter([RaplReader(fake.root)], **kwargs)


def test_counters_cover_cpu_and_ram_so_nothing_is_estimated(tree):
    meter = counter_meter(tree)
    meter.begin_window("w")
    tree.add_energy("intel-rapl:0", 2_000_000)
    tree.add_energy("intel-rapl:0:0", 250_000)
    tree.add_energy("intel-rapl:1", 3_500_000)
    tree.add_energy("intel-rapl:1:0", 125_000)
    m = meter.end_window("w")
    assert m.energy_j == pytest.approx(5.875, abs=1e-9)
    assert set(m.components) == {"cpu:package-0", "ram:package-0", "cpu:package-1",
                                 "ram:package-1"}
    assert m.measured
    assert m.energy_j_by_domain() == pytest.approx({"cpu": 5.5, "ram": 0.375})


def test_without_dram_counter_ram_is_estimated_and_labelled(tmp_path):
    fake = FakePowercap(tmp_path / "pc")
    fake.add_package(0, energy_uj=10)
    meter = EnergyMeter([RaplReader(fake.root)])
    with meter.window("w"):
        fake.add_energy("intel-rapl:0", 1_000_000)
    m = meter["w"]
    assert m.components["cpu:package-0"].energy_j == pytest.approx(1.0)
    assert m.components["ram"].method == "estimate"
    assert "w_per_gb" in m.components["ram"].detail
    assert "no dram zone" in m.components["ram"].detail["fallback_reason"]
    assert not m.measured
    meter.stop()


@pytest.mark.parametrize("tick", [True, False], ids=["sampler-read-before", "no-read-before"])
def test_a_package_vanishing_mid_window_affects_only_its_own_components(tree, tick):
    meter = counter_meter(tree, interval_s=60)  # reads at the boundaries and read_now() only
    meter.begin_window("w")
    for zone in ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1", "intel-rapl:1:0"):
        tree.add_energy(zone, 10_000_000)
    if tick:
        meter.read_now()  # the last good read of package-1
    tree.vanish("intel-rapl:1")
    tree.add_energy("intel-rapl:0", 20_000_000)
    tree.add_energy("intel-rapl:0:0", 20_000_000)
    _busy(0.3)  # CPU work in the gap, so the estimate has something to charge
    m = meter.end_window("w")
    meter.stop()

    assert set(m.components) == {"cpu:package-0", "ram:package-0", "cpu:package-1",
                                 "ram:package-1"}
    for name in ("cpu:package-0", "ram:package-0"):  # the healthy package keeps counting
        assert m.components[name].method == "rapl"
        assert m.components[name].energy_j == pytest.approx(30.0, abs=1e-9)
        assert "gap_s" not in m.components[name].detail
    for name, zone in (("cpu:package-1", "intel-rapl:1"), ("ram:package-1", "intel-rapl:1:0")):
        c = m.components[name]
        assert c.method == "rapl+estimate"
        assert c.detail["counted_j"] == pytest.approx(10.0 if tick else 0.0, abs=1e-9)
        assert c.detail["gap_s"] > 0.25
        assert c.detail["gap_energy_j"] > 0
        assert c.energy_j == pytest.approx(c.detail["counted_j"] + c.detail["gap_energy_j"])
        assert str(tree.root / zone / "energy_uj") in c.detail["error"]
        assert any("unreadable" in note for note in c.notes)
    cpu1 = m.to_dict()["components"]["cpu:package-1"]
    assert cpu1["measured"] is False and cpu1["detail"]["gap_s"] > 0.25
    assert not m.measured
    assert any(w.startswith("cpu:package-1") for w in m.warnings)
    assert not any(w.startswith("cpu:package-0") for w in m.warnings)


def test_counter_dead_before_the_window_hands_its_domains_to_the_estimate(tree):
    meter = counter_meter(tree)
    tree.vanish("intel-rapl:0")
    tree.vanish("intel-rapl:1")
    with meter.window("w"):
        pass
    m = meter["w"]
    assert set(m.components) == {"cpu", "ram"}
    assert {c.method for c in m.components.values()} == {"estimate"}
    for c in m.components.values():  # each says why no counter covers it
        assert str(tree.root / "intel-rapl:0") in c.detail["fallback_reason"]
        assert any("no counter covers" in note for note in c.notes)


def test_one_package_dead_before_the_window_is_charged_its_share(tree):
    meter = counter_meter(tree, estimate_ram=False)
    tree.vanish("intel-rapl:1")
    with meter.window("w"):
        tree.add_energy("intel-rapl:0", 4_000_000)
        _busy(0.2)
    m = meter["w"]
    meter.stop()
    assert m.components["cpu:package-0"].method == "rapl"
    assert m.components["cpu:package-0"].energy_j == pytest.approx(4.0)
    dead = m.components["cpu:package-1"]
    assert dead.method == "rapl+estimate"
    assert dead.detail["counted_j"] == 0.0
    assert dead.detail["gap_s"] == pytest.approx(m.duration_s)
    assert dead.energy_j == dead.detail["gap_energy_j"] > 0
    assert "cpu" not in m.components  # package-0 covers the domain; package-1 is its gap


def test_window_names_are_unique_among_open_windows(tree):
    meter = counter_meter(tree)
    meter.begin_window("a")
    with pytest.raises(UsageError, match="already open"):
        meter.begin_window("a")
    with pytest.raises(UsageError, match="no open window named 'b'"):
        meter.end_window("b")


def test_decorator_meters_each_call(tree):
    meter = counter_meter(tree)

    @meter.measure()
    def work():
        tree.add_energy("intel-rapl:0", 4_000_000)
        return 42

    assert work() == 42
    assert meter["test_decorator_meters_each_call.<locals>.work"].energy_j == pytest.approx(4.0)


@settings(max_examples=60, deadline=None, print_blob=True)
@given(
    increments=st.lists(st.integers(0, PACKAGE_RANGE_UJ - 1), min_size=1, max_size=12),
    cut=st.data(),
)
def test_nested_windows_add_up_exactly(tmp_path_factory, increments, cut):
    fake = FakePowercap(tmp_path_factory.mktemp("pc"))
    fake.add_package(0, energy_uj=123, dram_uj=None)
    meter = EnergyMeter([RaplReader(fake.root)], estimate_ram=False)
    split = cut.draw(st.integers(0, len(increments)))
    meter.begin_window("outer")
    meter.begin_window("first")
    for inc in increments[:split]:
        fake.add_energy("intel-rapl:0", inc)
        meter.read_now()  # the sampler reads at least once per possible wrap
    first = meter.end_window("first")
    meter.begin_window("second")
    for inc in increments[split:]:
        fake.add_energy("intel-rapl:0", inc)
        meter.read_now()
    second = meter.end_window("second")
    outer = meter.end_window("outer")
    assert first.energy_j + second.energy_j == pytest.approx(outer.energy_j, abs=1e-6)
    assert outer.energy_j == pytest.approx(sum(increments) / 1e6, abs=1e-6)
    assert outer.measured


def _busy(cpu_s: float) -> None:
    """Burn ``cpu_s`` seconds of this process's CPU time, however loaded the machine is."""
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        sum(i * i for i in range(1000))


def test_estimate_busy_second_costs_more_than_a_sleeping_second():
    with EnergyMeter([]) as meter:
        with meter.window("sleep"):
            time.sleep(1.0)
        cpu0 = time.process_time()
        with meter.window("busy"):
            _busy(1.0)
        cpu_s = time.process_time() - cpu0
    sleep, busy = meter["sleep"], meter["busy"]
    assert sleep.components["cpu"].method == "estimate"
    assert busy.components["cpu"].energy_j > 10 * max(sleep.components["cpu"].energy_j, 1e-3)
    assert busy.energy_j > sleep.energy_j
    assert not busy.measured
    w = busy.components["cpu"].detail["w_per_logical_cpu"]
    # Process mode: energy = W per busy logical CPU × the CPU seconds the tree used.
    assert busy.components["cpu"].energy_j == pytest.approx(w * cpu_s, rel=0.05)


def test_estimate_windows_add_up_on_this_machine():
    with EnergyMeter([]) as meter:
        meter.begin_window("a")
        _busy(0.3)
        meter.end_window("a")
        meter.begin_window("b")
        _busy(0.3)
        meter.end_window("b")
    total = meter.measurement
    parts = meter["a"].components["cpu"].energy_j + meter["b"].components["cpu"].energy_j
    assert parts <= total.components["cpu"].energy_j + 1e-9
    assert parts == pytest.approx(total.components["cpu"].energy_j, rel=0.1)


def test_machine_energy_runs_from_the_idle_floor_to_the_tdp():
    model = CpuPowerModel(1.5, 16, "test CPU", 24.0, "test: 24 W / 16 threads")
    assert machine_energy_j(model, busy_s=0.0, wall_s=2.0) == pytest.approx(0.1 * 24 * 2)
    assert machine_energy_j(model, busy_s=8 * 2.0, wall_s=2.0) == pytest.approx(0.55 * 24 * 2)
    assert machine_energy_j(model, busy_s=16 * 2.0, wall_s=2.0) == pytest.approx(24 * 2)
    # Busy time counted a little over capacity (clock skew between /proc/stat and ours).
    assert machine_energy_j(model, busy_s=17 * 2.0, wall_s=2.0) == pytest.approx(24 * 2)


def test_machine_mode_at_full_load_stays_within_the_tdp():
    model = CpuPowerModel.for_this_machine()
    tdp_w = model.w_per_logical_cpu * model.logical_cpus
    spin = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 3: pass"
    procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(model.logical_cpus)]
    try:
        time.sleep(0.3)  # every logical CPU busy before the window opens
        with EnergyMeter([], mode="machine", estimate_ram=False) as meter, meter.window("full"):
            time.sleep(1.0)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    m = meter["full"]
    cpu = m.components["cpu"]
    assert "0.1 + 0.9 × utilisation" in cpu.detail["formula"]
    # At (near) full load the estimate reaches the TDP, and never exceeds it (was 1.1 × TDP).
    assert cpu.energy_j <= tdp_w * m.duration_s * 1.01
    assert cpu.energy_j >= 0.8 * tdp_w * m.duration_s


def test_machine_mode_charges_an_idle_floor():
    with EnergyMeter([], mode="machine") as meter, meter.window("sleep"):
        time.sleep(0.5)
    cpu = meter["sleep"].components["cpu"]
    floor = cpu.detail["idle_fraction"] * cpu.detail["w_per_logical_cpu"] * cpu.detail[
        "logical_cpus"] * 0.5
    assert cpu.energy_j >= 0.95 * floor


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="valid modes"):
        EnergyMeter([], mode="cluster")


def test_counter_that_recovers_has_its_missed_span_estimated(tree):
    meter = counter_meter(tree, estimate_ram=False, interval_s=60)
    meter.begin_window("w")
    tree.add_energy("intel-rapl:0", 1_000_000)
    tree.add_energy("intel-rapl:1", 1_000_000)
    meter.read_now()
    saved = tree.energy("intel-rapl:1")
    tree.remove("intel-rapl:1", "energy_uj")
    meter.read_now()  # fails: the span from the last good read is now a gap
    _busy(0.2)
    tree.set_energy("intel-rapl:1", saved + 5_000_000)
    meter.read_now()  # recovers; RAPL restarts from here, so the 5 J in the gap are not counted
    tree.add_energy("intel-rapl:0", 2_000_000)
    tree.add_energy("intel-rapl:1", 2_000_000)
    m = meter.end_window("w")
    pkg0, pkg1 = m.components["cpu:package-0"], m.components["cpu:package-1"]
    assert pkg0.method == "rapl"
    assert pkg0.energy_j == pytest.approx(3.0)
    assert pkg1.method == "rapl+estimate"
    assert pkg1.detail["gap_s"] > 0.15
    # counted: the 3 J that RAPL saw on package-1; the gap is charged from the CPU estimate.
    assert pkg1.detail["counted_j"] == pytest.approx(3.0)
    assert pkg1.energy_j == pytest.approx(3.0 + pkg1.detail["gap_energy_j"])
    assert pkg1.detail["gap_energy_j"] > 0
    assert not m.measured
    # A window after the recovery is measured again.
    with meter.window("after"):
        tree.add_energy("intel-rapl:1", 1_000_000)
    assert meter["after"].measured
    assert meter["after"].components["cpu:package-1"].energy_j == pytest.approx(1.0)
