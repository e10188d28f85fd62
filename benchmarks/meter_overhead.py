"""Overhead of the energy meter on a CPU-bound workload, measured side by side in one run.

The same fixed work runs bare and inside an ``EnergyMeter`` window, interleaved (ABBA order)
and repeated, at the default sampling interval and at 10 ms. Two workloads: pure Python (the
sampler thread competes for the GIL: the worst case) and a PyTorch conv stack (releases the
GIL, like real inference). Prints the median and the min-of-N time ratio metered / bare per setting.

    python benchmarks/meter_overhead.py [--repeats 8]
Goals (issue 3): under 1 % at the default interval, under 3 % at 10 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from greenvoc.demo import ConvWorkload
from greenvoc.energy.meter import DEFAULT_INTERVAL_S, EnergyMeter


def python_work() -> None:
    total = 0
    for i in range(4_000_000):
        total += i * i % 7


def make_torch_work():
    step = ConvWorkload(channels=128, layers=4, frames=22050).build()

    def work() -> None:
        for _ in range(4):
            step()

    return work


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compare(work, interval_s: float, repeats: int) -> tuple[float, float, float, float]:
    meter = EnergyMeter(interval_s=interval_s)
    bare, metered = [], []

    def run_metered() -> None:
        with meter.window("w"):
            work()

    work()  # warm-up
    meter.start()
    for r in range(repeats):
        order = [(bare, work), (metered, run_metered)]
        for bucket, fn in order if r % 2 == 0 else order[::-1]:
            bucket.append(timed(fn))
    meter.stop()
    b, m = statistics.median(bare), statistics.median(metered)
    # min-of-N is robust to the positive noise of a shared machine; the median shows the spread
    return b, m, m / b, min(metered) / min(bare)


def tick_costs(calls: int = 200) -> tuple[float, float]:
    """Seconds per sampler tick and per window-boundary snapshot, timed directly: the
    overhead they imply (tick / interval) does not drown in the machine's noise."""
    meter = EnergyMeter()
    t0 = time.perf_counter()
    for _ in range(calls):
        meter._last_read_s = [0.0] * len(meter.sources)  # make every polled source due
        meter._poll()
    tick = (time.perf_counter() - t0) / calls
    t0 = time.perf_counter()
    for _ in range(calls):
        meter.read_now()
    return tick, (time.perf_counter() - t0) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tick_s, snapshot_s = tick_costs()
    print(f"sampler tick {tick_s * 1e3:.3f} ms → {tick_s / DEFAULT_INTERVAL_S * 100:.3f} % of "
          f"a core at {DEFAULT_INTERVAL_S * 1000:.0f} ms, {tick_s / 0.01 * 100:.3f} % at 10 ms; "
          f"window boundary (full snapshot) {snapshot_s * 1e3:.2f} ms per begin/end")
    workloads = {"python loop": python_work, "torch conv (1 thread)": make_torch_work()}
    print(f"{'workload':24} {'interval':>9} {'bare s':>8} {'metered s':>10} {'median':>7} "
          f"{'min':>7}")
    for name, work in workloads.items():
        for interval_s in (DEFAULT_INTERVAL_S, 0.01):
            b, m, ratio, best = compare(work, interval_s, args.repeats)
            print(f"{name:24} {interval_s * 1000:7.0f}ms {b:8.3f} {m:10.3f} {ratio:7.3f} "
                  f"{best:7.3f}  (min-of-{args.repeats}: {(best - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
