"""The training footprint of a job from its hardware, device count and duration.

    energy_j  = board_power_w × utilization × device_count × hours × 3600 × PUE
    carbon_g  = energy_j / 3.6e6 × grid gCO2eq/kWh

This is an *estimate*, never a measurement, and says so (``energy_kind = "estimated"``).
The utilisation default is 1.0: the board's rated power for every hour, an upper bound on what
the accelerators drew (they rarely sit at their limit for a whole run). Host CPUs, memory,
storage and networking are left out, which pulls the other way; the facility overhead enters
through the PUE. The grid and PUE come from :func:`greenvoc.energy.carbon.resolve_carbon_settings`
(flag, environment, config file, then world average and PUE 1.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.measurement import J_PER_KWH
from greenvoc.errors import UsageError
from greenvoc.footprint.equivalents import equivalents_for
from greenvoc.footprint.gpus import lookup_gpu

DEFAULT_UTILIZATION = 1.0
UTILIZATION_NOTE = ("utilisation 1.0 by default: the board's rated power all the time, an upper "
                    "bound for the accelerators; CPU, RAM and network are not counted")


@dataclass(frozen=True)
class Footprint:
    """The estimated energy and carbon of one training job (units in the names)."""

    gpu: str
    board_power_w: float
    device_count: int
    hours: float
    utilization: float
    pue: float
    country: str
    intensity_g_per_kwh: float
    it_energy_j: float  # drawn by the accelerators, before the facility overhead
    energy_j: float  # it_energy_j × PUE
    carbon_g: float
    assumptions: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    energy_kind: str = field(default="estimated")

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    @property
    def device_hours(self) -> float:
        return self.device_count * self.hours

    def equivalents(self) -> list[dict]:
        return equivalents_for(self.carbon_g, self.energy_kwh)

    def to_dict(self) -> dict:
        return {
            "gpu": self.gpu, "board_power_w": self.board_power_w,
            "device_count": self.device_count, "hours": self.hours,
            "device_hours": self.device_hours, "utilization": self.utilization, "pue": self.pue,
            "country": self.country, "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "it_energy_j": self.it_energy_j, "energy_j": self.energy_j,
            "energy_kwh": self.energy_kwh, "carbon_g": self.carbon_g,
            "energy_kind": self.energy_kind, "equivalents": self.equivalents(),
            "assumptions": list(self.assumptions), "sources": list(self.sources),
        }


def _check_inputs(device_count: int, hours: float, utilization: float) -> None:
    if isinstance(device_count, bool) or int(device_count) != device_count or device_count < 1:
        raise UsageError(f"device count must be a whole number ≥ 1, got {device_count}")
    if not (math.isfinite(hours) and hours >= 0):
        raise UsageError(f"hours must be a finite number ≥ 0, got {hours}")
    if not (0 < utilization <= 1):
        raise UsageError(f"utilisation must be in (0, 1] (share of board power), got {utilization}")


def estimate_training_footprint(
    gpu: str,
    device_count: int,
    hours: float,
    *,
    country: str | None = None,
    pue: float | None = None,
    utilization: float | None = None,
    extra_assumptions: tuple[str, ...] = (),
) -> Footprint:
    """Energy and carbon of ``device_count`` accelerators named ``gpu`` running ``hours``.

    ``country`` (ISO code) and ``pue`` default as in :mod:`greenvoc.energy.carbon`;
    ``utilization`` is the mean share of board power drawn (default 1.0, an upper bound).
    Raises :class:`UsageError` for an unknown GPU or out-of-range numbers.
    """
    util = DEFAULT_UTILIZATION if utilization is None else float(utilization)
    _check_inputs(device_count, hours, util)
    board = lookup_gpu(gpu)
    settings = resolve_carbon_settings(country, pue)
    it_energy_j = board.board_power_w * util * int(device_count) * float(hours) * 3600.0
    assumptions = (
        f"{board.name}: {board.board_power_w:g} W per {board.unit} (rated board power)",
        UTILIZATION_NOTE if utilization is None else f"utilisation {util:g} (user-supplied)",
        f"grid {settings.intensity.code} {settings.intensity.g_per_kwh:g} gCO2eq/kWh "
        f"({settings.intensity.year}); PUE {settings.pue:g}; {settings.origin}",
        *extra_assumptions,
    )
    return Footprint(
        gpu=board.name, board_power_w=board.board_power_w, device_count=int(device_count),
        hours=float(hours), utilization=util, pue=settings.pue,
        country=settings.intensity.code, intensity_g_per_kwh=settings.intensity.g_per_kwh,
        it_energy_j=it_energy_j, energy_j=it_energy_j * settings.pue,
        carbon_g=settings.carbon_g(it_energy_j), assumptions=assumptions,
        sources=(board.source, settings.intensity.source),
    )
