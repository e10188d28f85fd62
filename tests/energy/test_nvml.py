"""NvmlReader against the fake NVML module: exact joules, device selection, errors, probe."""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from types import SimpleNamespace

import pytest

from greenvoc.energy.nvml import (
    COUNTER,
    COUNTER_MIN_WINDOW_S,
    POLLING,
    NvmlReader,
    cuda_synchronize,
    probe_nvml,
)
from greenvoc.errors import CounterUnavailable
from greenvoc.testing.fake_nvml import FakeClock, FakeNvml


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)


@pytest.fixture
def nvml() -> FakeNvml:
    return FakeNvml()


# -- counter path ---------------------------------------------------------------------------------


def test_counter_two_devices_exact_joules(nvml: FakeNvml) -> None:
    gpu0 = nvml.add_device(energy_mj=10_000)
    gpu1 = nvml.add_device(energy_mj=987_654_321)
    reader = NvmlReader(nvml=nvml)

    assert reader.method == "nvml"
    assert reader.poll_interval_s is None
    assert reader.read() == {"gpu:0": 0.0, "gpu:1": 0.0}

    gpu0.energy_mj += 1_500
    gpu1.energy_mj += 250
    assert reader.read() == {"gpu:0": 1.5, "gpu:1": 0.25}

    gpu0.energy_mj += 1_234
    assert reader.read() == {"gpu:0": 2.734, "gpu:1": 0.25}
    reader.close()
    assert nvml.init_count == 0


def test_counter_component_info(nvml: FakeNvml) -> None:
    nvml.add_device(name="NVIDIA H100 80GB HBM3", uuid="GPU-aaaa", power_limit_mw=700_000)
    reader = NvmlReader(nvml=nvml)
    info = reader.components()["gpu:0"]
    assert info.name == "gpu:0"
    assert info.domain == "gpu:0"
    assert info.detail["device"] == "NVIDIA H100 80GB HBM3"
    assert info.detail["uuid"] == "GPU-aaaa"
    assert info.detail["method"] == COUNTER
    assert info.detail["min_window_s"] == COUNTER_MIN_WINDOW_S
    assert "poll_interval_s" not in info.detail
    fallback = reader.fallback_power("gpu:0")
    assert fallback is not None and fallback.power_w == 700.0
    assert "power limit" in fallback.basis and "upper bound" in fallback.basis
    assert reader.fallback_power("gpu:9") is None
    assert reader.counts_through_gap("gpu:0")  # the energy counter keeps counting


def test_counter_restart_counts_the_new_value(nvml: FakeNvml) -> None:
    gpu = nvml.add_device(energy_mj=5_000)
    reader = NvmlReader(nvml=nvml)
    gpu.energy_mj = 7_000
    assert reader.read() == {"gpu:0": 2.0}
    gpu.energy_mj = 500  # driver reloaded: the counter restarted from zero
    assert reader.read() == {"gpu:0": 2.5}


def test_bytes_names_from_old_pynvml_are_decoded() -> None:
    nvml = FakeNvml(bytes_strings=True)
    nvml.add_device(name="Tesla V100-SXM2-16GB", uuid="GPU-bbbb")
    detail = NvmlReader(nvml=nvml).components()["gpu:0"].detail
    assert (detail["device"], detail["uuid"]) == ("Tesla V100-SXM2-16GB", "GPU-bbbb")


# -- polling path ---------------------------------------------------------------------------------


def test_polling_trapezoid_exact_joules(nvml: FakeNvml) -> None:
    gpu = nvml.add_device(total_energy=False, power_mw=100_000)
    clock = FakeClock(10.0)
    reader = NvmlReader(nvml=nvml, clock=clock)
    assert reader.poll_interval_s == 0.1

    clock.advance(0.5)
    gpu.power_mw = 200_000
    assert reader.read() == {"gpu:0": 75.0}  # (100 + 200) / 2 W * 0.5 s

    clock.advance(1.5)
    gpu.power_mw = 50_000
    assert reader.read() == {"gpu:0": 262.5}  # + (200 + 50) / 2 W * 1.5 s

    assert reader.read() == {"gpu:0": 262.5}  # no time passed


def test_polling_component_info_and_interval(nvml: FakeNvml) -> None:
    nvml.add_device(total_energy=False)
    reader = NvmlReader(nvml=nvml, poll_interval_s=0.25, clock=FakeClock())
    assert reader.poll_interval_s == 0.25
    detail = reader.components()["gpu:0"].detail
    assert detail["method"] == POLLING
    assert detail["poll_interval_s"] == 0.25
    assert detail["min_window_s"] == 0.25
    assert detail["counter_unavailable"] == "Not Supported"


def test_mixed_counter_and_polling(nvml: FakeNvml) -> None:
    new = nvml.add_device(energy_mj=0)
    old = nvml.add_device(total_energy=False, power_mw=40_000)
    clock = FakeClock()
    reader = NvmlReader(nvml=nvml, clock=clock)
    assert reader.poll_interval_s == 0.1
    methods = {name: info.detail["method"] for name, info in reader.components().items()}
    assert methods == {"gpu:0": COUNTER, "gpu:1": POLLING}

    clock.advance(2.0)
    new.energy_mj += 3_000
    old.power_mw = 60_000
    assert reader.read() == {"gpu:0": 3.0, "gpu:1": 100.0}


def test_concurrent_reads_are_serialised(nvml: FakeNvml) -> None:
    nvml.add_device(total_energy=False, power_mw=100_000)
    ticks = iter(range(10_000))
    reader = NvmlReader(nvml=nvml, clock=lambda: float(next(ticks)))
    seen: list[float] = []

    def work() -> None:
        for _ in range(100):
            seen.append(reader.read()["gpu:0"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each read advances the clock by exactly 1 s at 100 W, whatever the interleaving.
    assert reader.read()["gpu:0"] == 100.0 * 801
    assert sorted(seen) == [100.0 * k for k in range(1, 801)]


# -- CUDA_VISIBLE_DEVICES -------------------------------------------------------------------------


def _three(nvml: FakeNvml) -> None:
    for index in range(3):
        nvml.add_device(uuid=f"GPU-{index}abc-1111", mig_uuids=[f"MIG-{index}-a", f"MIG-{index}-b"])


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        ("2,0", ["gpu:2", "gpu:0"]),
        (" 1 ", ["gpu:1"]),
        ("0,0", ["gpu:0"]),
        ("GPU-2abc-1111", ["gpu:2"]),
        ("GPU-1abc,GPU-0abc-1111", ["gpu:1", "gpu:0"]),
        ("MIG-1-a,MIG-1-b", ["gpu:1"]),
        ("MIG-GPU-2abc-1111/1/0", ["gpu:2"]),
        ("", []),
        ("-1", []),
        ("1,7,0", ["gpu:1"]),
        ("0,GPU-ffff,1", ["gpu:0"]),
        ("GPU-", []),  # ambiguous prefix
    ],
)
def test_cuda_visible_devices(
    nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, visible: str, expected: list[str]
) -> None:
    _three(nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert list(NvmlReader(nvml=nvml).components()) == expected


def test_unset_cuda_visible_devices_means_all(nvml: FakeNvml) -> None:
    _three(nvml)
    assert list(NvmlReader(nvml=nvml).components()) == ["gpu:0", "gpu:1", "gpu:2"]


def test_mig_instance_is_labelled_whole_gpu(
    nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three(nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-2-b")
    detail = NvmlReader(nvml=nvml).components()["gpu:2"].detail
    assert "whole GPU" in detail["mig"]


def test_bad_entry_warns(
    nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _three(nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,9,1")
    with caplog.at_level(logging.WARNING, logger="greenvoc.energy.nvml"):
        NvmlReader(nvml=nvml)
    assert "'9' matches no GPU" in caplog.text


def test_index_on_mixed_models_warns_about_device_order(
    nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    nvml.add_device(name="NVIDIA A100-SXM4-80GB")
    nvml.add_device(name="NVIDIA RTX A4000")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    with caplog.at_level(logging.WARNING, logger="greenvoc.energy.nvml"):
        NvmlReader(nvml=nvml)
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in caplog.text

    caplog.clear()
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    with caplog.at_level(logging.WARNING, logger="greenvoc.energy.nvml"):
        NvmlReader(nvml=nvml)
    assert caplog.text == ""


# -- errors ---------------------------------------------------------------------------------------


def test_counter_error_mid_run_names_the_device(nvml: FakeNvml) -> None:
    nvml.add_device(energy_mj=0)
    gpu1 = nvml.add_device(energy_mj=0, name="NVIDIA A100-SXM4-40GB", uuid="GPU-dead")
    reader = NvmlReader(nvml=nvml)
    nvml.inject_error("nvmlDeviceGetTotalEnergyConsumption", nvml.NVML_ERROR_GPU_IS_LOST, device=1)
    gpu1.energy_mj += 4_000
    with pytest.raises(CounterUnavailable) as raised:
        reader.read()
    message = str(raised.value)
    assert "gpu:1" in message and "GPU-dead" in message and "NVIDIA A100-SXM4-40GB" in message
    assert "gpu:0" not in message
    assert "nvmlDeviceGetTotalEnergyConsumption" in message
    assert "NVMLError_GpuIsLost" in message
    assert isinstance(raised.value.__cause__, nvml.NVMLError)
    assert raised.value.__cause__.value == nvml.NVML_ERROR_GPU_IS_LOST

    # The counter kept counting: the next good read covers the failed span.
    gpu1.energy_mj += 1_000
    assert reader.read() == {"gpu:0": 0.0, "gpu:1": 5.0}


def test_polling_error_mid_run_is_never_interpolated_across(nvml: FakeNvml) -> None:
    gpu = nvml.add_device(total_energy=False, power_mw=100_000)
    clock = FakeClock()
    reader = NvmlReader(nvml=nvml, clock=clock)
    assert not reader.counts_through_gap("gpu:0")  # the meter charges the span it missed
    nvml.inject_error("nvmlDeviceGetPowerUsage", nvml.NVML_ERROR_UNKNOWN, at_call=2)
    clock.advance(1.0)
    assert reader.read() == {"gpu:0": 100.0}
    clock.advance(1.0)
    with pytest.raises(CounterUnavailable, match=r"gpu:0 .*nvmlDeviceGetPowerUsage"):
        reader.read()
    clock.advance(1.0)
    gpu.power_mw = 300_000
    assert reader.read() == {"gpu:0": 100.0}  # the 2 s it did not sample are not guessed here
    clock.advance(1.0)
    assert reader.read() == {"gpu:0": 400.0}  # + 300 W * 1 s: the integral restarted


def test_one_gpu_failing_does_not_stop_the_others(nvml: FakeNvml) -> None:
    gpu0 = nvml.add_device(energy_mj=0)
    nvml.add_device(total_energy=False, power_mw=100_000)
    clock = FakeClock()
    reader = NvmlReader(nvml=nvml, clock=clock)
    nvml.inject_error("nvmlDeviceGetPowerUsage", nvml.NVML_ERROR_UNKNOWN, device=1)
    gpu0.energy_mj += 2_000
    clock.advance(1.0)
    reading = reader.read_components()
    assert reading.energy_j == {"gpu:0": 2.0}
    error = reading.errors["gpu:1"]
    assert "gpu:1" in error and "nvmlDeviceGetPowerUsage" in error


def test_device_without_counter_or_power_is_skipped(nvml: FakeNvml) -> None:
    nvml.add_device(energy_mj=0)
    nvml.add_device(total_energy=False, power_mw=None)
    reader = NvmlReader(nvml=nvml)
    assert list(reader.components()) == ["gpu:0"]
    assert "neither the energy counter" in reader.skipped["gpu:1"]


def test_missing_power_limit_falls_back_to_the_last_polled_power(nvml: FakeNvml) -> None:
    nvml.add_device(power_limit_mw=None)
    nvml.add_device(total_energy=False, power_mw=90_000, power_limit_mw=None)
    reader = NvmlReader(nvml=nvml, clock=FakeClock())
    assert reader.fallback_power("gpu:0") is None  # counter GPU: nothing known to charge
    fallback = reader.fallback_power("gpu:1")
    assert fallback is not None and fallback.power_w == 90.0
    assert "last good power reading" in fallback.basis


def test_short_window_power_only_for_counter_gpus(nvml: FakeNvml) -> None:
    nvml.add_device(power_mw=120_000)
    nvml.add_device(total_energy=False, power_mw=80_000)
    reader = NvmlReader(nvml=nvml, clock=FakeClock())
    power = reader.short_window_power("gpu:0")
    assert power is not None and power.power_w == 120.0 and "~1 s average" in power.basis
    assert reader.short_window_power("gpu:1") is None
    nvml.inject_error("nvmlDeviceGetPowerUsage", nvml.NVML_ERROR_GPU_IS_LOST, device=0)
    with pytest.raises(CounterUnavailable, match="gpu:0"):
        reader.short_window_power("gpu:0")


def test_close_is_idempotent_and_swallows_errors(nvml: FakeNvml) -> None:
    nvml.add_device()
    reader = NvmlReader(nvml=nvml)
    nvml.inject_error("nvmlShutdown", nvml.NVML_ERROR_DRIVER_NOT_LOADED)
    reader.close()
    reader.close()
    assert nvml.calls["nvmlShutdown"] == 1
    with pytest.raises(CounterUnavailable, match="closed"):
        reader.read()


def test_context_manager_shuts_down(nvml: FakeNvml) -> None:
    nvml.add_device()
    with NvmlReader(nvml=nvml) as reader:
        assert nvml.init_count == 1
        reader.read()
    assert nvml.init_count == 0


def test_listing_error_at_open_shuts_nvml_down(nvml: FakeNvml) -> None:
    nvml.add_device()
    nvml.inject_error("nvmlDeviceGetCount", nvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(CounterUnavailable, match="cannot list the GPUs"):
        NvmlReader(nvml=nvml)
    assert nvml.init_count == 0


# -- probe ----------------------------------------------------------------------------------------


def test_probe_pynvml_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    reader, reason = probe_nvml()
    assert reader is None
    assert "pynvml is not installed" in reason
    assert "pip install 'greenvoc[gpu]'" in reason


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("NVML_ERROR_LIBRARY_NOT_FOUND", "libnvidia-ml.so.1"),
        ("NVML_ERROR_DRIVER_NOT_LOADED", "driver is not loaded"),
        ("NVML_ERROR_LIB_RM_VERSION_MISMATCH", "versions differ"),
        ("NVML_ERROR_UNKNOWN", "failed to initialise: Unknown Error"),
    ],
)
def test_probe_init_failures(nvml: FakeNvml, code: str, words: str) -> None:
    nvml.add_device()
    nvml.inject_error("nvmlInit", getattr(nvml, code), times=None)
    reader, reason = probe_nvml(nvml)
    assert reader is None
    assert words in reason


def test_probe_zero_devices(nvml: FakeNvml) -> None:
    reader, reason = probe_nvml(nvml)
    assert reader is None
    assert reason == "NVML finds no NVIDIA GPU"
    assert nvml.init_count == 0


def test_probe_all_hidden(nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    nvml.add_device()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    reader, reason = probe_nvml(nvml)
    assert reader is None
    assert "CUDA_VISIBLE_DEVICES=''" in reason
    assert nvml.init_count == 0


def test_probe_nothing_readable(nvml: FakeNvml) -> None:
    nvml.add_device(total_energy=False, power_mw=None)
    reader, reason = probe_nvml(nvml)
    assert reader is None
    assert "gpu:0" in reason and "neither the energy counter" in reason


def test_probe_passes_the_poll_interval_and_notes_skipped_gpus(nvml: FakeNvml) -> None:
    nvml.add_device(total_energy=False, power_mw=1_000)
    nvml.add_device(total_energy=False, power_mw=None)
    reader, reason = probe_nvml(nvml, poll_interval_s=0.3)
    assert reader is not None
    assert reader.poll_interval_s == 0.3
    assert reader.components()["gpu:0"].detail["poll_interval_s"] == 0.3
    assert reader.notes == [f"gpu:1 not measured: {reader.skipped['gpu:1']}"]
    assert "gpu:1 skipped" in reason
    reader.close()


def test_probe_success(nvml: FakeNvml) -> None:
    nvml.add_device(name="NVIDIA H100 80GB HBM3")
    nvml.add_device(total_energy=False, name="Tesla P100-PCIE-16GB")
    reader, reason = probe_nvml(nvml)
    assert isinstance(reader, NvmlReader)
    assert reason == (
        "gpu:0 NVIDIA H100 80GB HBM3 (total_energy_counter), "
        "gpu:1 Tesla P100-PCIE-16GB (power_polling)"
    )
    reader.close()


# -- cuda_synchronize -----------------------------------------------------------------------------


def _fake_torch(initialized: bool, count: int) -> tuple[SimpleNamespace, list[int]]:
    synced: list[int] = []
    cuda = SimpleNamespace(
        is_initialized=lambda: initialized,
        device_count=lambda: count,
        synchronize=synced.append,
    )
    return SimpleNamespace(cuda=cuda), synced


def test_cuda_synchronize_every_visible_device(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, synced = _fake_torch(initialized=True, count=2)
    monkeypatch.setitem(sys.modules, "torch", torch)
    cuda_synchronize()
    assert synced == [0, 1]


def test_cuda_synchronize_skips_uninitialised_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, synced = _fake_torch(initialized=False, count=2)
    monkeypatch.setitem(sys.modules, "torch", torch)
    cuda_synchronize()
    assert synced == []


def test_cuda_synchronize_never_imports_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    cuda_synchronize()
    assert "torch" not in sys.modules


# -- the fake stays honest ------------------------------------------------------------------------


def test_fake_calls_before_init_fail(nvml: FakeNvml) -> None:
    nvml.add_device()
    with pytest.raises(nvml.NVMLError) as raised:
        nvml.nvmlDeviceGetCount()
    assert raised.value.value == nvml.NVML_ERROR_UNINITIALIZED
    assert isinstance(raised.value, nvml.NVMLError_Uninitialized)


def test_fake_mirrors_real_pynvml() -> None:
    real = pytest.importorskip("pynvml")
    fake = FakeNvml()
    names = [n for n in dir(FakeNvml) if n.startswith(("nvml", "NVML"))]
    assert len(names) > 30
    for name in names:
        assert hasattr(real, name), f"pynvml has no {name}"
        mine, theirs = getattr(fake, name), getattr(real, name)
        if isinstance(mine, int):
            assert mine == theirs, name
        elif isinstance(mine, type):
            assert issubclass(theirs, real.NVMLError), name
            if name != "NVMLError":
                assert mine().value == theirs().value, name
        else:
            mine_params = list(inspect.signature(mine).parameters)
            theirs_params = list(inspect.signature(theirs).parameters)
            assert mine_params == theirs_params, name
    # NVMLError(code) builds the per-code subclass in both.
    err = fake.NVMLError(fake.NVML_ERROR_NOT_SUPPORTED)
    assert type(err).__name__ == type(real.NVMLError(real.NVML_ERROR_NOT_SUPPORTED)).__name__
