"""Projections: from a short metered run to the energy and carbon of the published schedule.

Every row is a projection, never a measurement, and carries its constants and sources:

* **this machine**: mean joules per step of the run (first step left out as warm-up when the
  run has more) × the published steps; when the run's batch × segment differs from the
  published one, scaled linearly in samples per step (an assumption, said so).
* **GPUs with a cited training throughput** (``data/train_throughput.csv``): hours = published
  steps × batch (training examples) ÷ examples per second, scaled by the published segment ÷
  the segment of the throughput's runs; energy = hours × GPUs × board power
  (``data/gpu_power.csv`` via :mod:`greenvoc.footprint.gpus`: the data sheet's maximum, an
  upper bound; the card rarely draws it throughout, and the host is not counted).

NVIDIA's "frames/s" for HiFi-GAN is not mel frames: its ``train.py`` adds ``x.size(0) *
x.size(1)`` per batch, batch × 80 mel bands of mels shaped (B, 80, T). Examples per second are
therefore the published figure ÷ ``counted_per_example`` (80); reading it as 32 time frames per
8192-sample example made every GPU row 2.5× too short.

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
    """One published training configuration: its throughput in the publisher's unit
    (``throughput_per_s`` counts ``counted_per_example`` per training example of ``segment``
    samples, summed over the GPUs) and, where published, its measured time to train."""

    recipe: str
    gpu: str
    gpus: int
    precision: str
    batch_per_gpu: int
    grad_accumulation: int
    throughput_per_s: float
    counted_per_example: int
    segment: int
    time_to_train_h: float | None
    source: str

    @property
    def examples_per_s(self) -> float:
        return self.throughput_per_s / self.counted_per_example


@functools.cache
def load_throughputs() -> tuple[GpuThroughput, ...]:
    text = resources.files("greenvoc.data").joinpath("train_throughput.csv").read_text()
    rows = []
    for lineno, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(GpuThroughput(
                r["recipe"], r["gpu"], int(r["gpus"]), r["precision"], int(r["batch_per_gpu"]),
                int(r["grad_accumulation"]), float(r["throughput_per_s"]),
                int(r["counted_per_example"]), int(r["segment"]),
                float(r["time_to_train_h"]) if r["time_to_train_h"] else None, r["source"]))
        except (KeyError, ValueError, TypeError) as e:
            raise DataFileError(f"{TABLE}, line {lineno}: bad field {e} in {r}; see the "
                                "train_throughput.csv section of data/SOURCES.md") from e
    return tuple(rows)


def steady_mean(values: list[float]) -> float:
    """Mean without the first value (warm-up) when there are more than two."""
    v = values[1:] if len(values) > 2 else values
    return float(np.mean(v)) if v else 0.0


def _gpu_row(t: GpuThroughput, steps: int, examples: int, segment: int,
             carbon: CarbonSettings) -> ProjectionRow:
    """``examples`` of ``segment`` samples at ``t``'s published rate, on ``t.gpus`` boards."""
    length = segment / t.segment
    hours = examples * length / t.examples_per_s / 3600
    board = lookup_gpu(t.gpu)
    gpu_j = hours * 3600 * t.gpus * board.board_power_w
    length_note = ("" if length == 1 else f" × {length:.3g} (segment {segment} vs "
                   f"{t.segment} samples, assuming time linear in length)")
    return ProjectionRow(
        scenario=(f"{t.gpus}× {t.gpu} ({t.precision}, batch/GPU {t.batch_per_gpu} × "
                  f"{t.grad_accumulation})"), hardware=t.gpu, steps=steps,
        hours=hours, energy_kwh=gpu_j / J_PER_KWH, carbon_g=carbon.carbon_g(gpu_j),
        basis=(f"{examples:.4g} examples{length_note} ÷ {t.examples_per_s:.4g} examples/s "
               f"(published {t.throughput_per_s:g} 'frames/s' ÷ {t.counted_per_example} counted "
               f"per example; batch/GPU {t.batch_per_gpu} × {t.grad_accumulation} accumulated) "
               f"× {t.gpus} × {board.board_power_w:g} W board power (upper bound: GPU only, "
               "no host)"),
        source=f"{t.source}; board power: {board.source}")


def project(recipe: TrainRecipe, step_energy_j: list[float], step_duration_s: list[float],
            batch: int, segment: int, carbon: CarbonSettings, energy_label: str,
            overrides: dict | None = None) -> list[ProjectionRow]:
    """Rows for ``recipe``'s published schedule; empty when the source gives no step count.
    batch, segment: those of the metered run (samples per example)."""
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
    examples = pub.steps * (pub.batch or batch)
    rows += [_gpu_row(t, pub.steps, examples, pub.segment or segment, carbon)
             for t in load_throughputs() if t.recipe == recipe.name]
    return rows
