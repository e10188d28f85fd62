"""Which counters this machine has: probe RAPL and NVML, say why one is missing."""

from __future__ import annotations

import sys

from greenvoc.energy.nvml import probe_nvml
from greenvoc.energy.rapl import probe_rapl
from greenvoc.energy.source import EnergySource


def probe_counters(
    powercap_root: str | None = None, use_rapl: bool = True, use_nvml: bool = True
) -> tuple[list[EnergySource], list[str]]:
    """The counter sources available here, and one note per source that is not (with the fix).

    CPU and RAM without a counter are estimated by the meter and labelled so.
    """
    sources: list[EnergySource] = []
    notes: list[str] = []
    if use_rapl:
        rapl, reason = probe_rapl(powercap_root)
        if rapl is not None:
            sources.append(rapl)
        else:
            notes.append(f"RAPL: {reason}")
    if use_nvml:
        nvml, reason = probe_nvml()
        if nvml is not None:
            sources.append(nvml)
        else:
            notes.append(f"NVML: {reason}")
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                notes.append("a CUDA GPU is in use but not metered: its energy is missing")
    return sources, notes
