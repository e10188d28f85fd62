"""Quality vs energy across hardware: one Pareto front per hardware class, and for each
(model, variant) measured on two or more classes its energy and RTF ratio between them.

Rows are grouped by their ``hardware`` column (``cpu:<model> x<sockets>`` or ``gpu:<name>``,
written by the benchmark since schema v5). Rows written before have none: they get the class of
their run's recorded environment (:func:`run_hardware`, the same
:func:`greenvoc.provenance.hardware_class` the benchmark labels rows with). Rows of several runs
may be compared when the runs synthesised the same utterances and scored the same metrics
(:func:`greenvoc.analysis.runs.check_comparable`); when two runs measured the same key on one
class (the same machine twice), the class is split by run so no utterance counts twice.

Every class states how its energy was obtained, and every ratio says whether it divides a
measured figure by a measured one, or involves an estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from greenvoc.analysis.aggregate import energy_flags, energy_label
from greenvoc.analysis.bootstrap import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED
from greenvoc.analysis.objectives import Objective, get_objective
from greenvoc.analysis.ratios import RatioEstimate, ratio_of_means
from greenvoc.analysis.runs import check_comparable, run_id
from greenvoc.analysis.study import DEFAULT_COST, DEFAULT_QUALITY, ParetoAnalysis, analyze
from greenvoc.provenance import hardware_class

#: The result-row column holding the hardware class.
HARDWARE = "hardware"
#: Cost columns whose ratio is reported between classes, besides the energy column.
RATIO_COLUMNS = ("rtf",)


def run_hardware(info: Mapping) -> str:
    """The hardware class of a run's recorded environment: ``gpu:<name>`` of its CUDA device
    (``config.device``), else ``cpu:<cpu_model> x<sockets>``; for rows stored without one."""
    hw = info.get("hardware") or {}
    device = str((info.get("config") or {}).get("device") or "cpu")
    if device.startswith("cuda"):
        names = hw.get("cuda_devices") or []
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return hardware_class(device, names[index] if index < len(names) else "unknown GPU")
    return hardware_class("cpu", cpu_model=hw.get("cpu_model") or "unknown CPU",
                          sockets=hw.get("sockets"))


def group_by_hardware(runs: Sequence[tuple[Mapping, Sequence[Mapping]]]
                      ) -> dict[str, list[dict]]:
    """Rows of ``runs`` (``(info, rows)`` pairs) by hardware class, classes sorted by name.

    Each row is copied with ``hardware`` filled in (:func:`run_hardware` where it was None) and
    ``run`` set. A class whose runs share a (model, variant, utterance) is split into one class
    per run, ``<class> (run N)``.
    """
    by_class: dict[str, dict[object, list[dict]]] = {}
    for info, rows in runs:
        rid, fallback = run_id(info, None), None
        for row in rows:
            label = row.get(HARDWARE)
            if not label:
                fallback = fallback or run_hardware(info)
                label = fallback
            by_class.setdefault(label, {}).setdefault(rid, []).append(
                {**row, HARDWARE: label, "run": row.get("run", rid)})
    out: dict[str, list[dict]] = {}
    for label, per_run in by_class.items():
        keys = [{(r["model"], r.get("variant"), r.get("utterance")) for r in rows}
                for rows in per_run.values()]
        if len(per_run) > 1 and sum(map(len, keys)) > len(set().union(*keys)):
            for rid, rows in per_run.items():
                split = f"{label} (run {rid})"
                out[split] = [{**r, HARDWARE: split} for r in rows]
        else:
            out[label] = [r for rows in per_run.values() for r in rows]
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class HardwareClass:
    """One hardware class: its Pareto analysis and how its energy was obtained."""

    label: str
    analysis: ParetoAnalysis
    runs: tuple
    hostnames: tuple[str, ...]
    energy_kind: str
    energy_methods: tuple[str, ...]

    @property
    def energy_label(self) -> str:
        return energy_label(self.energy_kind, self.energy_methods)

    def to_dict(self) -> dict:
        doc = self.analysis.to_dict()
        return {
            "hardware": self.label, "runs": list(self.runs), "hostnames": list(self.hostnames),
            "energy": self.energy_label, "energy_kind": self.energy_kind,
            **{k: doc[k] for k in ("front", "models", "cost_only", "unranked", "n_rows",
                                   "n_failed", "hypervolume", "energy_warning")},
        }


def energy_basis(kind_a: str, kind_b: str) -> str:
    """``measured/measured``, ``measured/estimated``, ``estimated/estimated``... of a ratio."""
    return f"{kind_a}/{kind_b}"


@dataclass(frozen=True)
class HardwareRatio:
    """One (model, variant) on two classes: ``numerator``'s mean ÷ ``denominator``'s, for the
    energy column and each of :data:`RATIO_COLUMNS`; energy labels of both sides."""

    model: str
    variant: str
    numerator: str
    denominator: str
    energy: RatioEstimate
    others: tuple[RatioEstimate, ...]
    numerator_energy: str
    denominator_energy: str
    basis: str

    @property
    def label(self) -> str:
        return f"{self.model}/{self.variant}"

    @property
    def both_measured(self) -> bool:
        return self.basis == "measured/measured"

    def get(self, column: str) -> RatioEstimate | None:
        return next((r for r in (self.energy, *self.others) if r.column == column), None)

    def to_dict(self) -> dict:
        return {
            "model": self.model, "variant": self.variant,
            "numerator": self.numerator, "denominator": self.denominator,
            "energy_basis": self.basis,
            "numerator_energy": self.numerator_energy,
            "denominator_energy": self.denominator_energy,
            "energy": self.energy.to_dict(),
            **{r.column: r.to_dict() for r in self.others},
        }


@dataclass(frozen=True)
class HardwareComparison:
    """Everything ``greenvoc pareto --by hardware`` prints and the report's section shows."""

    quality: Objective
    cost: Objective
    energy_column: str
    classes: list[HardwareClass]
    ratios: list[HardwareRatio]
    runs: tuple
    n_resamples: int
    seed: int

    @property
    def energy_warning(self) -> str | None:
        """Which ratios divide figures not both measured, or None."""
        odd: dict[tuple[str, str, str], list[str]] = {}
        for r in self.ratios:
            if not r.both_measured:
                odd.setdefault((r.numerator, r.denominator, r.basis), []).append(r.label)
        if not odd:
            return None
        return ("ratios between figures that are not both measured by a counter (an estimate "
                "scales with CPU time and a constant, not with the device's draw): "
                + "; ".join(f"{a} ÷ {b} is {basis} for {', '.join(labels)}"
                            for (a, b, basis), labels in odd.items()))

    def to_dict(self) -> dict:
        return {
            "by": HARDWARE, "runs": list(self.runs),
            "quality": self.quality.name, "cost": self.cost.name,
            "objectives": [self.quality.to_dict(), self.cost.to_dict()],
            "ratio_columns": [self.energy_column, *RATIO_COLUMNS],
            "classes": [c.to_dict() for c in self.classes],
            "ratios": [r.to_dict() for r in self.ratios],
            "bootstrap": {"resamples": self.n_resamples, "seed": self.seed,
                          "ratio_ci": "2.5-97.5 percentile; paired over common utterances "
                                      "when >= 2, else each class resampled on its own"},
            "energy_warning": self.energy_warning,
        }


def _ratio_column(cost: Objective) -> str:
    # the energy the fronts rank on (gross or above idle); gross energy for a non-energy cost
    return cost.name if cost.name.startswith("energy_") else "energy_j_per_audio_s"


def _class(label: str, rows: list[dict], a: ParetoAnalysis) -> HardwareClass:
    kind, methods = energy_flags([r for r in rows if not r.get("error")])
    runs = tuple(dict.fromkeys(r["run"] for r in rows))
    hosts = tuple(sorted({str(r["hostname"]) for r in rows if r.get("hostname")}))
    return HardwareClass(label, a, runs, hosts, kind, methods)


def _ratios(classes: list[HardwareClass], column: str, n_resamples: int,
            seed: int) -> list[HardwareRatio]:
    rng = np.random.default_rng(seed)
    points = [{p.key: p for p in c.analysis.points if p.n} for c in classes]
    out = []
    for i, a in enumerate(classes):
        for j in range(i + 1, len(classes)):
            b = classes[j]
            for key in (k for k in points[i] if k in points[j]):
                pa, pb = points[i][key], points[j][key]
                energy = ratio_of_means(pa, pb, column, n_resamples, rng)
                others = tuple(ratio_of_means(pa, pb, c, n_resamples, rng)
                               for c in RATIO_COLUMNS)
                out.append(HardwareRatio(key[0], key[1], a.label, b.label, energy, others,
                                         pa.energy_label, pb.energy_label,
                                         energy_basis(pa.energy_kind, pb.energy_kind)))
    return out


def compare_hardware(runs: Sequence[tuple[Mapping, Sequence[Mapping]]],
                     quality: str = DEFAULT_QUALITY, cost: str = DEFAULT_COST, *,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                     level: float = DEFAULT_LEVEL, floor: float | None = None
                     ) -> HardwareComparison:
    """Fronts per hardware class and ratios between classes of ``runs`` (``(info, rows)``)."""
    q, c = get_objective(quality, "quality"), get_objective(cost, "cost")
    check_comparable([dict(info) for info, _ in runs])
    classes = [_class(label, rows, analyze(rows, q.name, c.name, n_resamples=n_resamples,
                                           seed=seed, level=level, floor=floor))
               for label, rows in group_by_hardware(runs).items()]
    column = _ratio_column(c)
    return HardwareComparison(q, c, column, classes, _ratios(classes, column, n_resamples, seed),
                              tuple(run_id(info, None) for info, _ in runs), n_resamples, seed)

