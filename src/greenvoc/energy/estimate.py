"""The labelled estimate for hardware without counters: CPU from TDP × CPU time, RAM from W/GB.

Process mode (default) charges the metered process tree only: its CPU seconds times the power of
one busy logical CPU, and its resident memory times a W/GB constant. Machine mode charges the
whole machine: ``TDP × (0.1 + 0.9 × utilisation)`` per package, never more than the TDP it
assumed, and all used memory. Every figure carries the constants it used, so a reader can redo
the arithmetic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import psutil

from greenvoc.energy.process_tree import ProcessTree
from greenvoc.energy.source import ComponentInfo, EnergySource
from greenvoc.energy.tdp import DEFAULT_W_PER_CORE, DEFAULT_W_PER_CORE_SOURCE, cpu_info, lookup_tdp

Mode = Literal["process", "machine"]

#: RAM power per GB in use: 3 W per 8 GB, as CodeCarbon ≤ 2.x and eco2AI use (after Crucial's
#: "How much power does memory use?"); Green Algorithms uses 0.3725 W/GB (Lannelongue et al. 2021).
RAM_W_PER_GB = 0.375
RAM_W_PER_GB_SOURCE = "CodeCarbon 2.x / eco2AI: 3 W per 8 GB of memory in use"

#: Machine mode: idle power as a share of TDP (CodeCarbon's machine-mode model uses a 10 % floor);
#: power grows linearly with utilisation from there to the TDP at full load (Fan, Weber & Barroso,
#: ISCA 2007): W = TDP × (IDLE_FRACTION + (1 - IDLE_FRACTION) × utilisation).
IDLE_FRACTION = 0.1
MACHINE_FORMULA = (
    "TDP × (0.1 + 0.9 × utilisation) per package, i.e. w_per_logical_cpu × (0.1 × logical_cpus "
    "× wall s + 0.9 × busy CPU s), busy CPU s capped at logical_cpus × wall s"
)

BYTES_PER_GB = 1e9


@dataclass(frozen=True)
class CpuPowerModel:
    """Power of one busy logical CPU, and where the number came from."""

    w_per_logical_cpu: float
    logical_cpus: int
    cpu_model: str
    tdp_w: float | None
    source: str

    @classmethod
    def for_this_machine(cls, cpu_tdp_w: float | None = None) -> CpuPowerModel:
        """From ``--cpu-tdp-w`` (TDP of one CPU package), else the table, else 12 W per core.

        Dividing a package's TDP by that package's hardware threads (not by the CPUs the OS
        shows) keeps the estimate right inside a VM that sees 2 vCPUs of a 64-core EPYC.
        """
        info = cpu_info()
        entry = lookup_tdp(info.model_name)
        if cpu_tdp_w is not None:
            threads = entry.threads if entry else max(1, info.logical_cpus // info.sockets)
            return cls(
                cpu_tdp_w / threads,
                info.logical_cpus,
                info.model_name,
                cpu_tdp_w,
                f"user-set TDP {cpu_tdp_w:g} W per package / {threads} hardware threads",
            )
        if entry is not None:
            return cls(
                entry.tdp_w / entry.threads,
                info.logical_cpus,
                info.model_name,
                entry.tdp_w,
                f"TDP table: {entry.model} {entry.tdp_w:g} W / {entry.threads} threads "
                f"({entry.source})",
            )
        return cls(
            DEFAULT_W_PER_CORE / info.threads_per_core,
            info.logical_cpus,
            info.model_name,
            None,
            f"CPU '{info.model_name}' not in the TDP table: {DEFAULT_W_PER_CORE:g} W per core / "
            f"{info.threads_per_core} thread(s) per core ({DEFAULT_W_PER_CORE_SOURCE}); "
            "set --cpu-tdp-w to override",
        )


def _machine_busy_s() -> float:
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def machine_energy_j(model: CpuPowerModel, busy_s: float, wall_s: float) -> float:
    """Machine-mode CPU joules over ``wall_s`` seconds in which the logical CPUs were busy for
    ``busy_s`` CPU seconds in all: ``TDP × (0.1 + 0.9 × utilisation) × wall_s`` summed over the
    packages, where ``w_per_logical_cpu × logical_cpus`` is the TDP of the packages seen."""
    capacity_s = model.logical_cpus * wall_s
    busy_s = min(max(0.0, busy_s), capacity_s)
    return model.w_per_logical_cpu * (
        IDLE_FRACTION * capacity_s + (1 - IDLE_FRACTION) * busy_s
    )


class CpuEstimate(EnergySource):
    """CPU energy = W per busy logical CPU × busy CPU seconds of the process tree (process mode),
    or :func:`machine_energy_j` of the whole machine (machine mode)."""

    method = "estimate"

    def __init__(
        self,
        model: CpuPowerModel | None = None,
        mode: Mode = "process",
        tree: ProcessTree | None = None,
        clock=time.monotonic,
    ) -> None:
        self.model = model or CpuPowerModel.for_this_machine()
        self.mode = mode
        self.tree = tree or ProcessTree()
        self._clock = clock
        self._lock = threading.Lock()
        self._t0 = clock()
        self._busy0_s = self._busy_s()

    def _busy_s(self) -> float:
        return self.tree.cpu_s() if self.mode == "process" else _machine_busy_s()

    def components(self) -> Mapping[str, ComponentInfo]:
        formula = (
            "w_per_logical_cpu × process-tree CPU seconds"
            if self.mode == "process"
            else MACHINE_FORMULA
        )
        detail = {**asdict(self.model), "mode": self.mode, "formula": formula}
        if self.mode == "machine":
            detail["idle_fraction"] = IDLE_FRACTION
        return {"cpu": ComponentInfo("cpu", "cpu", detail)}

    def read(self) -> dict[str, float]:
        with self._lock:
            busy_s = max(0.0, self._busy_s() - self._busy0_s)
            if self.mode == "machine":
                return {"cpu": machine_energy_j(self.model, busy_s, self._clock() - self._t0)}
            return {"cpu": self.model.w_per_logical_cpu * busy_s}


class RamEstimate(EnergySource):
    """RAM energy = W/GB × GB in use, integrated over time (trapezoid between reads)."""

    method = "estimate"

    def __init__(
        self,
        mode: Mode = "process",
        tree: ProcessTree | None = None,
        w_per_gb: float = RAM_W_PER_GB,
        interval_s: float = 0.1,
        clock=time.monotonic,
    ) -> None:
        self.mode = mode
        self.tree = tree or ProcessTree()
        self.w_per_gb = w_per_gb
        self.poll_interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._energy_j = 0.0
        self._last_t = clock()
        self._last_gb = self._gb_in_use()

    def _gb_in_use(self) -> float:
        if self.mode == "process":
            return self.tree.rss_bytes() / BYTES_PER_GB
        return psutil.virtual_memory().used / BYTES_PER_GB

    def components(self) -> Mapping[str, ComponentInfo]:
        what = "process-tree resident memory" if self.mode == "process" else "machine used memory"
        detail = {
            "mode": self.mode,
            "w_per_gb": self.w_per_gb,
            "source": RAM_W_PER_GB_SOURCE,
            "formula": f"w_per_gb × GB of {what}, integrated over time",
            "sample_interval_s": self.poll_interval_s,
        }
        return {"ram": ComponentInfo("ram", "ram", detail)}

    def read(self) -> dict[str, float]:
        with self._lock:
            now, gb = self._clock(), self._gb_in_use()
            self._energy_j += self.w_per_gb * 0.5 * (gb + self._last_gb) * (now - self._last_t)
            self._last_t, self._last_gb = now, gb
            return {"ram": self._energy_j}
