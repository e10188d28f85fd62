"""What metering costs, measured side by side in one run: the CLI's start-up, and the energy
meter's in-process overhead next to CodeCarbon's.

1. CLI start-up: ``greenvoc --help``, ``greenvoc measure -- true`` (with and without the database
   write) and ``greenvoc zoo list``; CPU seconds (user+sys, ``getrusage(RUSAGE_CHILDREN)`` deltas:
   the greenvoc process and what it waits for, ``true`` and two ``git`` calls of the provenance,
   a few ms) and wall seconds, median of N runs.
2. In-process overhead: the same fixed work bare, inside an ``EnergyMeter`` window, and between
   ``start()`` and ``stop()`` of CodeCarbon's ``OfflineEmissionsTracker`` (offline, nothing
   written, process mode like the meter's default), in rotating order and repeated, at 100 ms
   and 10 ms sampling (CodeCarbon's ``measure_power_secs``). Each tool is set up once, outside
   the timing (its one-off set-up cost is printed apart). Two workloads: pure Python (sampler
   threads compete for the GIL: the worst case) and a PyTorch conv stack on 1 thread (releases
   the GIL, like inference). Ratios are metered / bare: median and min-of-N.
3. The meter's sampler tick and window-boundary snapshot, timed directly.

Only time is measured here; no energy figure is printed.

    python benchmarks/meter_overhead.py [--repeats 8] [--cli-runs 5] [--sections cli,meter]
Goals: issue 3: the meter under 1 % at 100 ms and under 3 % at 10 ms; issue 18: ``greenvoc
--help`` and ``greenvoc measure -- true`` under 0.5 CPU-s, ``greenvoc zoo list`` under 1 CPU-s.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from greenvoc.demo import ConvWorkload
from greenvoc.energy.meter import DEFAULT_INTERVAL_S, EnergyMeter
from greenvoc.energy.tdp import cpu_info

#: (command line after ``greenvoc``, CPU-s goal of issue 18 or None)
CLI_CASES = (
    (["--help"], 0.5),
    (["measure", "--", "true"], 0.5),
    (["measure", "--no-store", "--", "true"], 0.5),
    (["zoo", "list"], 1.0),
)
INTERVALS_S = (DEFAULT_INTERVAL_S, 0.01)


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


def timed(fn) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process (the work and every thread of the tool
    metering it: on a loaded machine, the one figure that the neighbours do not blur)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def cpu_description() -> str:
    """The CPU model and its vector extensions (int8 and matmul speed depend on them)."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    info = cpu_info()
    if "avx512_vnni" in flags:
        isa = "AVX-512 VNNI"
    elif "avx512f" in flags:
        isa = "AVX-512 without VNNI"
    elif "avx2" in flags:
        isa = "no AVX-512, only AVX2" + (" (+ AVX-VNNI)" if "avx_vnni" in flags else "")
    else:
        isa = "neither AVX-512 nor AVX2" if flags else "unknown (no /proc/cpuinfo flags)"
    return (f"{info.model_name}, {info.logical_cpus} logical CPUs; {isa}; torch kernels: "
            f"{torch.backends.cpu.get_cpu_capability()}")


def cli_cost(argv: list[str], runs: int, cwd: Path, env: dict) -> tuple[float, float]:
    """Median CPU seconds (user+sys of the process and what it waited for) and wall seconds."""
    cpu, wall = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def report_cli(runs: int) -> None:
    from greenvoc.vocoders.index import read_index, source_digest

    script = Path(sys.executable).with_name("greenvoc")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "greenvoc"]
    fresh = read_index()[0] == source_digest()
    print(f"CLI start-up ({' '.join(entry)}), median of {runs} runs; zoo index "
          f"{'current' if fresh else 'STALE: zoo list builds every model'}")
    print(f"{'command':40} {'CPU s':>7} {'wall s':>7}  goal")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GREENVOC_DB": f"sqlite:///{tmp}/greenvoc.db"}
        for args, goal_s in CLI_CASES:
            cpu_s, wall_s = cli_cost([*entry, *args], runs, Path(tmp), env)
            verdict = f"< {goal_s} CPU-s: {'met' if cpu_s < goal_s else 'NOT met'}"
            print(f"{'greenvoc ' + ' '.join(args):40} {cpu_s:7.3f} {wall_s:7.3f}  {verdict}")


def codecarbon_factory() -> tuple[Callable[[float], object] | None, str]:
    """A function interval → CodeCarbon tracker, or None and why."""
    try:
        from codecarbon import OfflineEmissionsTracker
    except ModuleNotFoundError:
        return None, ("CodeCarbon is not installed (pip install codecarbon, or the dev extra): "
                      "greenvoc's figures only")
    import codecarbon

    logging.getLogger("codecarbon").setLevel(logging.ERROR)

    def make(interval_s: float):
        return OfflineEmissionsTracker(country_iso_code="FRA", save_to_file=False,
                                       log_level="error", measure_power_secs=interval_s,
                                       tracking_mode="process")

    return make, f"CodeCarbon {codecarbon.__version__} OfflineEmissionsTracker"


def compare(work, interval_s: float, repeats: int,
            make_tracker=None) -> dict[str, list[tuple[float, float]]]:
    """(wall s, CPU s) of each run of ``work``: bare, in a meter window, between CodeCarbon's
    start and stop; in rotating order so that drift of a shared machine hits each alike."""
    meter = EnergyMeter(interval_s=interval_s)
    tracker = make_tracker(interval_s) if make_tracker else None

    def in_meter() -> None:
        with meter.window("w"):
            work()

    def in_codecarbon() -> None:
        tracker.start()
        work()
        tracker.stop()

    runs = {"bare": work, "greenvoc": in_meter}
    if tracker is not None:
        runs["codecarbon"] = in_codecarbon
    for fn in runs.values():
        fn()  # warm-up: CodeCarbon detects the hardware on its first start
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(timed(runs[name]))
    meter.stop()
    return times


def setup_costs(make_tracker) -> str:
    """One-off costs, outside the timed runs: building a meter (probing counters, reading the
    TDP table) and CodeCarbon's first start (hardware detection)."""
    t0 = time.perf_counter()
    EnergyMeter().stop()
    parts = [f"EnergyMeter() {1e3 * (time.perf_counter() - t0):.0f} ms"]
    if make_tracker is not None:
        t0 = time.perf_counter()
        tracker = make_tracker(DEFAULT_INTERVAL_S)
        tracker.start()
        tracker.stop()
        parts.append(f"CodeCarbon tracker + first start/stop "
                     f"{1e3 * (time.perf_counter() - t0):.0f} ms")
    return "one-off set-up: " + "; ".join(parts)


def report_overhead(repeats: int) -> None:
    make_tracker, about = codecarbon_factory()
    print(f"\nIn-process overhead, {repeats} runs per setting; against {about}")
    print(setup_costs(make_tracker))
    workloads = {"python loop": python_work, "torch conv (1 thread)": make_torch_work()}
    print("overhead = tool / bare - 1, of the median and of the fastest (min-of-N) run; wall "
          "time, and CPU time of the whole process (work + the tool's threads)")
    print(f"{'workload':22} {'interval':>8} {'tool':>10} {'wall s':>7} {'median':>7} "
          f"{'min':>7} {'CPU s':>7} {'median':>7} {'min':>7}")
    for name, work in workloads.items():
        for interval_s in INTERVALS_S:
            times = compare(work, interval_s, repeats, make_tracker)
            for tool, runs in times.items():
                cells = []
                for k in (0, 1):  # wall, CPU
                    series = [t[k] for t in runs]
                    bare = [t[k] for t in times["bare"]]
                    # min-of-N resists the positive noise of a shared machine; the median shows it
                    med = statistics.median(series) / statistics.median(bare) - 1
                    best = min(series) / min(bare) - 1
                    cells.append(f"{statistics.median(series):7.3f} " + (
                        f"{med * 100:+6.1f}% {best * 100:+6.1f}%" if tool != "bare"
                        else f"{'':7} {'':7}"))
                label = f"{name:22} {interval_s * 1000:6.0f}ms" if tool == "bare" else " " * 31
                print(f"{label} {tool:>10} {cells[0]} {cells[1]}")


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
    parser.add_argument("--repeats", type=int, default=8, help="runs per workload and tool")
    parser.add_argument("--cli-runs", type=int, default=5, help="runs per CLI command")
    parser.add_argument("--sections", default="cli,meter",
                        help="comma-separated: cli (start-up), meter (in-process overhead)")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    torch.set_num_threads(1)
    print(f"CPU: {cpu_description()}; load average {os.getloadavg()[0]:.1f}")
    if "cli" in sections:
        report_cli(args.cli_runs)
    if "meter" in sections:
        tick_s, snapshot_s = tick_costs()
        print(f"\nsampler tick {tick_s * 1e3:.3f} ms → {tick_s / DEFAULT_INTERVAL_S * 100:.3f} % "
              f"of a core at {DEFAULT_INTERVAL_S * 1000:.0f} ms, {tick_s / 0.01 * 100:.3f} % at "
              f"10 ms; window boundary (full snapshot) {snapshot_s * 1e3:.2f} ms per begin/end")
        report_overhead(args.repeats)


if __name__ == "__main__":
    main()
