"""Projections: from a short metered run to the energy and carbon of the published schedule.

Every row is a projection, never a measurement, and carries its constants and sources:

* **this machine**: mean joules per step of the run (first step left out as warm-up when the
  run has more) × the published steps; when the run's batch × segment differs from the
  published one, scaled linearly in samples per step (an assumption, said so).
* **GPUs with a cited training throughput** (``data/train_throughput.csv``): hours = published
  steps × batch × mel frames per segment ÷ frames per second; energy = hours × GPUs × board
  power (``data/gpu_power.csv`` via :mod:`greenvoc.footprint.gpus`: the data sheet's maximum,
  an upper bound; the card rarely draws it throughout, and the host is not counted).

A CPU-to-GPU speed ratio for this exact CPU is not published anywhere, so GPU rows never scale
this machine's figure: they use the GPU's own published throughput.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import asdict, dataclass
from importlib import resources

import numpy as np

from greenvoc.energy.carbon import CarbonSettings
from greenvoc.energy.measurement import J_PER_KWH
from greenvoc.errors import DataFileError
from greenvoc.footprint.gpus import lookup_gpu
from greenvoc.train.recipes import TrainRecipe

TABLE = "greenvoc/data/train_throughput.csv"
LABEL = "projection"


@dataclass(frozen=True)
class ProjectionRow:
    scenario: str
    hardware: str
    steps: int
    hours: float | None
    energy_kwh: float
    carbon_g: float
    basis: str  # how: the formula and its constants
    source: str
    label: str = LABEL

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GpuThroughput:
    recipe: str
    gpu: str
    gpus: int
    precision: str
    batch_per_gpu: str
    mel_frames_per_s: float
    throughput_source: str


@functools.cache
def load_throughputs() -> tuple[GpuThroughput, ...]:
    text = resources.files("greenvoc.data").joinpath("train_throughput.csv").read_text()
    rows = []
    for lineno, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(GpuThroughput(
                r["recipe"], r["gpu"], int(r["gpus"]), r["precision"], r["batch_per_gpu"],
                float(r["throughput_mel_frames_per_s"]), r["throughput_source"]))
        except (KeyError, ValueError, TypeError) as e:
            raise DataFileError(f"{TABLE}, line {lineno}: bad field {e} in {r}") from e
    return tuple(rows)


def steady_mean(values: list[float]) -> float:
    """Mean without the first value (warm-up) when there are more than two."""
    v = values[1:] if len(values) > 2 else values
    return float(np.mean(v)) if v else 0.0


def project(recipe: TrainRecipe, step_energy_j: list[float], step_duration_s: list[float],
            batch: int, segment: int, hop: int, carbon: CarbonSettings, energy_label: str,
            overrides: dict | None = None) -> list[ProjectionRow]:
    """Rows for ``recipe``'s published schedule; empty when the source gives no step count."""
    pub = recipe.published
    if not pub.steps or not step_energy_j:
        return []
    j_per_step = steady_mean(step_energy_j)
    s_per_step = steady_mean(step_duration_s)
    scale, scale_note = 1.0, "same batch and segment as published"
    if pub.batch and pub.segment and (batch, segment) != (pub.batch, pub.segment):
        scale = (pub.batch * pub.segment) / (batch * segment)
        scale_note = (f"scaled ×{scale:.3g} from batch {batch} × segment {segment} to the "
                      f"published {pub.batch} × {pub.segment}, assuming energy linear in "
                      "samples per step")
    arch = (f"; architecture overridden ({overrides}): not the published model"
            if overrides else "")
    energy_j = j_per_step * scale * pub.steps
    rows = [ProjectionRow(
        scenario="this machine", hardware="this machine (as metered)", steps=pub.steps,
        hours=s_per_step * scale * pub.steps / 3600, energy_kwh=energy_j / J_PER_KWH,
        carbon_g=carbon.carbon_g(energy_j),
        basis=(f"{j_per_step:.4g} J/step ({energy_label}) × {pub.steps:,} steps; "
               f"{scale_note}{arch}; carbon at {carbon.intensity.g_per_kwh:g} g/kWh "
               f"({carbon.intensity.country}), PUE {carbon.pue:g}"),
        source=pub.source)]
    frames = pub.steps * (pub.batch or batch) * (pub.segment or segment) / hop
    for t in load_throughputs():
        if t.recipe != recipe.name:
            continue
        board = lookup_gpu(t.gpu)
        hours = frames / t.mel_frames_per_s / 3600
        gpu_j = hours * 3600 * t.gpus * board.board_power_w
        rows.append(ProjectionRow(
            scenario=f"{t.gpus}× {t.gpu} ({t.precision})", hardware=t.gpu, steps=pub.steps,
            hours=hours, energy_kwh=gpu_j / J_PER_KWH, carbon_g=carbon.carbon_g(gpu_j),
            basis=(f"{frames:.4g} mel frames ÷ {t.mel_frames_per_s:g} frames/s (batch/GPU "
                   f"{t.batch_per_gpu}) × {t.gpus} × {board.board_power_w:g} W board power "
                   "(upper bound: GPU only, no host)"),
            source=f"{t.throughput_source}; board power: {board.source}"))
    return rows
