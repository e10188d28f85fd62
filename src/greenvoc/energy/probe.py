"""Which counters this machine has: probe RAPL and NVML, say why one is missing or partial."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from greenvoc.energy.nvml import probe_nvml
from greenvoc.energy.rapl import probe_rapl
from greenvoc.energy.source import EnergySource

#: The domains RAPL covers, which fall to the estimate without it.
RAPL_DOMAINS = ("cpu", "ram")


@dataclass
class CounterProbe:
    """sources: the counters found. notes: one line per counter missing or partial, with the fix.
    uncovered: domain → why no counter covers it (the estimate does, and says so)."""

    sources: list[EnergySource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncovered: dict[str, str] = field(default_factory=dict)


def probe(
    powercap_root: str | None = None,
    use_rapl: bool = True,
    use_nvml: bool = True,
    *,
    interval_s: float | None = None,
) -> CounterProbe:
    """Open the counters available here. ``interval_s``: the meter's sampling interval, which
    every polled source follows (NVML power polling; RAPL reads it at least that often)."""
    found = CounterProbe()
    if use_rapl:
        rapl, reason = probe_rapl(powercap_root, poll_interval_s=interval_s)
        if rapl is not None:
            found.sources.append(rapl)
            found.notes += [f"RAPL: {note}" for note in rapl.notes]
            found.uncovered.update({d: f"RAPL: {why}" for d, why in rapl.uncovered.items()})
        else:
            found.notes.append(f"RAPL: {reason}")
            found.uncovered.update(dict.fromkeys(RAPL_DOMAINS, f"RAPL: {reason}"))
    else:
        found.uncovered.update(dict.fromkeys(RAPL_DOMAINS, "RAPL not probed (use_rapl=False)"))
    if use_nvml:
        nvml, reason = probe_nvml(poll_interval_s=interval_s)
        if nvml is not None:
            found.sources.append(nvml)
            found.notes += [f"NVML: {note}" for note in nvml.notes]
        else:
            found.notes.append(f"NVML: {reason}")
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                found.notes.append("a CUDA GPU is in use but not metered: its energy is missing")
    return found


def probe_counters(
    powercap_root: str | None = None,
    use_rapl: bool = True,
    use_nvml: bool = True,
    *,
    interval_s: float | None = None,
) -> tuple[list[EnergySource], list[str]]:
    """The counter sources available here, and one note per source that is missing or partial
    (a domain left to the estimate, mirrored zones merged, GPUs skipped), each with its fix.

    CPU and RAM without a counter are estimated by the meter and labelled so.
    """
    found = probe(powercap_root, use_rapl, use_nvml, interval_s=interval_s)
    return found.sources, found.notes
