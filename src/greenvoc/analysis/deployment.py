"""Deployment projection: energy and carbon of synthesising a fixed amount of speech.

energy_j = energy_j_per_audio_s × hours × 3600; kWh = energy_j / 3.6e6 (so, for 1,000 hours,
kWh equals the J/s figure numerically); carbon = kWh × PUE × grid gCO2eq/kWh
(:func:`greenvoc.energy.carbon.carbon_g`), the grid and PUE from
:func:`greenvoc.energy.carbon.resolve_carbon_settings` (flag, environment, config file).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from greenvoc.analysis.aggregate import Point
from greenvoc.energy.carbon import CarbonSettings
from greenvoc.energy.measurement import J_PER_KWH

DEFAULT_HOURS = 1000.0
S_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Projection:
    """One model's projected energy (kWh, IT equipment) and carbon (kg CO2eq, with PUE)."""

    model: str
    variant: str
    family: str
    hours: float
    energy_j_per_audio_s: float
    energy_kwh: float
    carbon_kg: float
    energy_label: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def project(points: Iterable[Point], settings: CarbonSettings, hours: float = DEFAULT_HOURS,
            column: str = "energy_j_per_audio_s") -> list[Projection]:
    """A projection for every point with a finite ``column`` (J per audio second)."""
    out = []
    for p in points:
        e = p.get(column)
        if e is None or not math.isfinite(e):
            continue
        energy_j = e * hours * S_PER_HOUR
        out.append(Projection(p.model, p.variant, p.family, hours, e, energy_j / J_PER_KWH,
                              settings.carbon_g(energy_j) / 1000.0, p.energy_label))
    return out
