"""Energy measurement: hardware counters (RAPL, NVML), a labelled estimate, carbon."""

from greenvoc.energy.carbon import CarbonSettings, GridIntensity, grid_intensity
from greenvoc.energy.measurement import Component, Measurement
from greenvoc.energy.meter import EnergyMeter

__all__ = [
    "CarbonSettings",
    "Component",
    "EnergyMeter",
    "GridIntensity",
    "Measurement",
    "grid_intensity",
]
