"""CPU identification and the cited TDP table (``greenvoc/data/cpu_tdp.csv``)."""

from __future__ import annotations

import csv
import functools
import platform
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psutil

from greenvoc.errors import DataFileError

#: Watts per physical core for a CPU missing from the table: Green Algorithms' "Any" row
#: (data/latest/TDP_cpu.csv, TDP_per_core = 12.0 W), Lannelongue et al., Adv. Sci. 2021.
DEFAULT_W_PER_CORE = 12.0
DEFAULT_W_PER_CORE_SOURCE = (
    "Green Algorithms TDP_cpu.csv 'Any' row: 12.0 W per core (Lannelongue et al., 2021)"
)

@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the OS sees it. ``logical_cpus`` are what process CPU time is counted on."""

    model_name: str
    logical_cpus: int
    physical_cores: int
    sockets: int

    @property
    def threads_per_core(self) -> int:
        return max(1, self.logical_cpus // max(1, self.physical_cores))


@dataclass(frozen=True)
class TdpEntry:
    vendor: str
    model: str
    tdp_w: float
    cores: int
    threads: int
    source: str


def _normalise(name: str) -> str:
    name = re.sub(r"\((R|TM|r|tm)\)", " ", name)
    name = re.sub(r"@.*$", " ", name)
    name = re.sub(r"\b(CPU|Processor|\d+-Core)\b", " ", name, flags=re.IGNORECASE)
    return " ".join(name.lower().split())


def _read_model_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


@functools.cache
def read_cpu_vendor() -> str:
    """``vendor_id`` from ``/proc/cpuinfo`` (``GenuineIntel``, ``AuthenticAMD``...), or ``""``."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("vendor_id"):
            return line.split(":", 1)[1].strip()
    return ""


def _count_sockets() -> int:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return 1
    ids = {
        line.split(":", 1)[1].strip()
        for line in cpuinfo.read_text(errors="replace").splitlines()
        if line.startswith("physical id")
    }
    return max(1, len(ids))


@functools.cache
def cpu_info() -> CpuInfo:
    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False) or logical
    return CpuInfo(_read_model_name(), logical, physical, _count_sockets())


def load_tdp_table(path: Path | None = None) -> list[TdpEntry]:
    """Rows of the TDP table; a malformed row raises :class:`DataFileError` naming it."""
    if path is None:
        text = resources.files("greenvoc.data").joinpath("cpu_tdp.csv").read_text()
        where = "greenvoc/data/cpu_tdp.csv"
    else:
        text, where = Path(path).read_text(), str(path)
    rows = []
    for lineno, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(
                TdpEntry(
                    vendor=row["vendor"].strip(),
                    model=row["model"].strip(),
                    tdp_w=float(row["tdp_w"]),
                    cores=int(row["cores"]),
                    threads=int(row["threads"] or row["cores"]),
                    source=row["source"].strip(),
                )
            )
        except (KeyError, ValueError, TypeError) as e:
            raise DataFileError(
                f"{where}, line {lineno}: cannot read field {e} of row {row}; expected columns "
                "vendor,model,tdp_w,cores,threads,source with numeric tdp_w, cores, threads"
            ) from e
    return rows


@functools.cache
def _default_table() -> tuple[TdpEntry, ...]:
    return tuple(load_tdp_table())


def lookup_tdp(model_name: str, table: list[TdpEntry] | None = None) -> TdpEntry | None:
    """The table row whose model appears, as whole words, in ``model_name``; longest wins.

    ``"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"`` matches ``Xeon Gold 6248``;
    ``"Core i7-8700K"`` prefers ``Core i7-8700K`` over ``Core i7-8700``.
    """
    haystack = _normalise(model_name)
    best: TdpEntry | None = None
    for entry in table if table is not None else _default_table():
        needle = _normalise(entry.model)
        if not needle:
            continue
        if re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", haystack) and (
            best is None or len(needle) > len(_normalise(best.model))
        ):
            best = entry
    return best
