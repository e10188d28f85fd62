"""The NVML reader on a real NVIDIA GPU (skipped where there is none).

Runs on machines with a GPU: the counter must see busy work as more power than idle, and the
meter's GPU joules must agree with an independent integral of NVML's power readings.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

torch = pytest.importorskip("torch")
pynvml = pytest.importorskip("pynvml")

from greenvoc.energy.meter import EnergyMeter  # noqa: E402
from greenvoc.energy.nvml import NvmlReader  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def _busy(seconds: float) -> None:
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for _ in range(20):
            a @ a
        torch.cuda.synchronize()


def _gpu_j(m) -> float:
    return sum(c.energy_j for c in m.components.values() if c.domain.startswith("gpu"))


def test_busy_gpu_draws_more_than_idle_and_agrees_with_polled_power() -> None:
    reader = NvmlReader(pynvml)
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
    polled: list[tuple[float, float]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            polled.append((time.monotonic(), pynvml.nvmlDeviceGetPowerUsage(handle) / 1e3))
            time.sleep(0.01)

    with EnergyMeter(sources=[reader]) as meter:
        with meter.window("idle"):
            time.sleep(2.0)
        _busy(0.5)  # clocks up before the measured window
        thread = threading.Thread(target=poll)
        thread.start()
        t0 = time.monotonic()
        with meter.window("busy"):
            _busy(3.0)
        t1 = time.monotonic()
        stop.set()
        thread.join()
    idle, busy = meter["idle"], meter["busy"]
    assert all(c.measured for c in busy.components.values() if c.domain.startswith("gpu"))
    idle_w, busy_w = _gpu_j(idle) / idle.duration_s, _gpu_j(busy) / busy.duration_s
    assert busy_w > 1.5 * idle_w, (idle_w, busy_w)
    inside = [(t, p) for t, p in polled if t0 <= t <= t1]
    polled_j = sum((p0 + p1) / 2 * (t1_ - t0_)
                   for (t0_, p0), (t1_, p1) in itertools.pairwise(inside))
    # NVML's power reading is a ~1 s average on recent GPUs: allow 15 % over a 3 s window.
    assert polled_j == pytest.approx(_gpu_j(busy), rel=0.15)
