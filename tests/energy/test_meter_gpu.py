"""EnergyMeter over the fake NVML: failed polls, per-GPU failures, short windows, the interval."""

from __future__ import annotations

import json
import sys
import time

import pytest

from greenvoc import EnergyMeter
from greenvoc.cli import main
from greenvoc.energy.command import run_metered
from greenvoc.energy.nvml import NvmlReader
from greenvoc.testing.fake_nvml import FakeNvml
from greenvoc.testing.powercap import FakePowercap


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def gpu_meter(nvml: FakeNvml, **reader_kwargs) -> EnergyMeter:
    # A long poll interval: the sampler stays quiet and the test reads with read_now().
    reader = NvmlReader(nvml, **{"poll_interval_s": 60.0, **reader_kwargs})
    return EnergyMeter([reader], estimate_ram=False)


def test_failed_polls_are_a_labelled_gap_charged_at_the_power_limit() -> None:
    nvml = FakeNvml()
    gpu = nvml.add_device(total_energy=False, power_mw=100_000, power_limit_mw=300_000)
    meter = gpu_meter(nvml)
    meter.begin_window("w")
    time.sleep(0.2)
    meter.read_now()  # the last good poll: 100 W
    nvml.inject_error("nvmlDeviceGetPowerUsage", nvml.NVML_ERROR_UNKNOWN, times=2)
    gpu.power_mw = 300_000  # the GPU works hard while it cannot be read
    for _ in range(2):
        time.sleep(0.2)
        meter.read_now()  # fails
    time.sleep(0.2)
    gpu.power_mw = 100_000
    meter.read_now()  # back: the integral restarts here, nothing is interpolated across
    time.sleep(0.2)
    m = meter.end_window("w")
    meter.stop()

    c = m.components["gpu:0"]
    assert c.method == "nvml+estimate"
    assert not c.measured and not m.measured
    gap_s = c.detail["gap_s"]
    assert gap_s == pytest.approx(0.6, abs=0.1)
    assert c.detail["gap_power_w"] == 300.0
    assert "power limit" in c.detail["gap_method"] and "upper bound" in c.detail["gap_method"]
    assert c.detail["gap_energy_j"] == pytest.approx(300.0 * gap_s)
    assert c.detail["counted_j"] == pytest.approx(100.0 * (m.duration_s - gap_s), rel=1e-2)
    assert c.energy_j == pytest.approx(c.detail["counted_j"] + c.detail["gap_energy_j"])
    assert "nvmlDeviceGetPowerUsage" in c.detail["error"]
    assert any("unreadable" in note for note in c.notes)


def test_polled_gpu_without_a_power_limit_is_charged_its_last_reading() -> None:
    nvml = FakeNvml()
    gpu = nvml.add_device(total_energy=False, power_mw=80_000, power_limit_mw=None)
    meter = gpu_meter(nvml)
    meter.begin_window("w")
    nvml.inject_error("nvmlDeviceGetPowerUsage", nvml.NVML_ERROR_UNKNOWN, times=1)
    time.sleep(0.15)
    meter.read_now()  # fails
    time.sleep(0.15)
    gpu.power_mw = 80_000
    m = meter.end_window("w")
    c = m.components["gpu:0"]
    assert c.method == "nvml+estimate"
    assert c.detail["gap_power_w"] == 80.0
    assert "last good power reading" in c.detail["gap_method"]
    assert c.energy_j == pytest.approx(80.0 * m.duration_s, rel=1e-2)


def test_one_gpu_failing_leaves_the_other_measured_and_the_counter_counts_through() -> None:
    nvml = FakeNvml()
    gpu0 = nvml.add_device(energy_mj=0)
    gpu1 = nvml.add_device(energy_mj=0, power_limit_mw=250_000)
    meter = gpu_meter(nvml)
    meter.begin_window("outer")
    nvml.inject_error("nvmlDeviceGetTotalEnergyConsumption", nvml.NVML_ERROR_GPU_IS_LOST,
                      device=1, times=1)
    gpu0.energy_mj += 1_000
    gpu1.energy_mj += 2_000
    meter.read_now()  # gpu:1 fails once
    gpu0.energy_mj += 1_000
    gpu1.energy_mj += 3_000
    meter.read_now()  # back: its counter kept counting, so nothing is missing
    meter.begin_window("inner")
    nvml.inject_error("nvmlDeviceGetTotalEnergyConsumption", nvml.NVML_ERROR_GPU_IS_LOST,
                      device=1, times=None)  # gone for good
    gpu0.energy_mj += 500
    time.sleep(0.15)
    inner = meter.end_window("inner")
    outer = meter.end_window("outer")
    meter.stop()

    assert inner.components["gpu:0"].method == "nvml"
    assert inner.components["gpu:0"].energy_j == pytest.approx(0.5)
    lost = inner.components["gpu:1"]
    assert lost.method == "nvml+estimate"
    assert lost.detail["counted_j"] == 0.0
    assert lost.energy_j == pytest.approx(250.0 * inner.duration_s)
    assert "NVMLError_GpuIsLost" in lost.detail["error"]

    assert outer.components["gpu:0"].method == "nvml"
    assert outer.components["gpu:0"].energy_j == pytest.approx(2.5)
    lost = outer.components["gpu:1"]
    assert lost.method == "nvml+estimate"
    assert lost.detail["counted_j"] == pytest.approx(5.0)  # the first failure cost nothing
    # From its last good read (the inner window's start) to the outer window's end.
    assert inner.duration_s <= lost.detail["gap_s"] < outer.duration_s
    assert lost.energy_j == pytest.approx(5.0 + 250.0 * lost.detail["gap_s"])


def test_window_shorter_than_the_counter_period_is_charged_instant_power() -> None:
    nvml = FakeNvml()
    gpu = nvml.add_device(energy_mj=1_000, power_mw=150_000)
    meter = gpu_meter(nvml)
    with meter.window("short"):
        pass  # microseconds: the energy counter does not move
    with meter.window("long"):
        gpu.energy_mj += 30_000
        time.sleep(0.2)
    meter.stop()

    short = meter["short"]
    c = short.components["gpu:0"]
    assert c.method == "nvml-instant"
    assert not c.measured and not short.measured
    assert c.detail["counter_j"] == 0.0
    assert c.detail["instant_power_w"] == 150.0
    assert c.energy_j == pytest.approx(150.0 * short.duration_s)
    assert c.energy_j > 0
    assert "shorter than the counter's update period" in c.detail["approximation"]
    assert any("nvml-instant" in w for w in short.warnings)
    assert short.to_dict()["components"]["gpu:0"]["detail"]["instant_power_w"] == 150.0

    long = meter["long"].components["gpu:0"]
    assert long.method == "nvml" and long.measured
    assert long.energy_j == pytest.approx(30.0)


def test_short_window_on_a_polled_gpu_keeps_its_integral_and_warns() -> None:
    nvml = FakeNvml()
    nvml.add_device(total_energy=False, power_mw=100_000)
    meter = gpu_meter(nvml)
    with meter.window("short"):
        pass
    meter.stop()
    assert meter["short"].components["gpu:0"].method == "nvml"
    assert any("shorter than the counter's update period" in w for w in meter["short"].warnings)


@pytest.fixture
def fake_hardware(monkeypatch: pytest.MonkeyPatch, tmp_path) -> FakeNvml:
    """A polled GPU behind ``import pynvml`` and a powercap tree without DRAM."""
    nvml = FakeNvml()
    nvml.add_device(total_energy=False, power_mw=50_000)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    fake = FakePowercap(tmp_path / "powercap")
    fake.add_package(0, energy_uj=1)
    monkeypatch.setenv("GREENVOC_POWERCAP_ROOT", str(fake.root))
    return nvml


def test_interval_reaches_every_polled_source(fake_hardware: FakeNvml) -> None:
    run = run_metered(["true"], interval_s=0.25)
    components = run.measurement.components
    assert components["gpu:0"].detail["poll_interval_s"] == 0.25
    assert components["cpu:package-0"].detail["poll_interval_s"] == 0.25
    assert components["ram"].detail["sample_interval_s"] == 0.25


def test_measure_interval_flag_reaches_nvml(fake_hardware: FakeNvml, capsys) -> None:
    code = main(["measure", "--json", "--no-store", "--interval-s", "0.25", "--", "true"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["components"]["gpu:0"]["detail"]["poll_interval_s"] == 0.25
    assert doc["components"]["gpu:0"]["detail"]["min_window_s"] == 0.25
