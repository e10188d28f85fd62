"""Result rows → one :class:`Point` per (model, variant): means and 95 % CIs over utterances.

A result row is a dict written by the benchmark (one per model × variant × utterance; see
:mod:`greenvoc.analysis` for its keys). Rows whose ``error`` is set are left out of every mean and
counted in ``n_failed``. Rows of a model without weights (``has_weights`` False) carry no quality:
their quality means are NaN, so they are never ranked on quality, but their costs are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from greenvoc.analysis.objectives import COST_OBJECTIVES, objective_names

#: Numeric columns averaged besides the objectives.
EXTRA_COLUMNS = ("audio_s", "compute_s", "energy_j")


@dataclass(frozen=True, eq=False)
class Point:
    """One (model, variant) summarised over its utterances.

    mean / ci95: column → mean and half-width of the Student-t 95 % CI (NaN where no value, CI NaN
    for n < 2). values: column → ``(len(utterances),)`` float array, NaN where the row had None,
    aligned with ``utterances`` (used by the bootstrap). n: successful rows; n_failed: rows with
    an error. energy_kind: ``measured`` (every row with an energy figure was measured),
    ``estimated`` (every one estimated), ``mixed``, or ``none`` (no energy figure at all).
    energy_methods: the distinct ``energy_method`` values.
    """

    model: str
    variant: str
    family: str
    has_weights: bool
    n: int
    n_failed: int
    mean: Mapping[str, float]
    ci95: Mapping[str, float]
    utterances: tuple[str, ...] = ()
    values: Mapping[str, np.ndarray] = field(default_factory=dict)
    energy_kind: str = "none"
    energy_methods: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.model, self.variant)

    @property
    def label(self) -> str:
        return f"{self.model}/{self.variant}"

    def get(self, name: str, default: float | None = None) -> float | None:
        """The mean of column ``name`` (so a Point reads like a mapping for the Pareto code)."""
        return self.mean.get(name, default)

    @property
    def energy_measured(self) -> bool | None:
        """True if measured, False if estimated, None if mixed or absent."""
        return {"measured": True, "estimated": False}.get(self.energy_kind)

    @property
    def energy_label(self) -> str:
        """``measured (rapl)``, ``estimated (tdp)``, ``mixed measured/estimated (...)``."""
        return energy_label(self.energy_kind, self.energy_methods)


def energy_label(kind: str, methods: Sequence[str]) -> str:
    """How an energy figure was obtained, in words: ``measured (rapl)``, ``estimated (tdp)``,
    ``mixed measured/estimated (rapl, tdp)`` or ``no energy figure``."""
    names = ", ".join(methods) or "unknown method"
    if kind == "mixed":
        return f"mixed measured/estimated ({names})"
    if kind == "none":
        return "no energy figure"
    return f"{kind} ({names})"


def _float(value) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def mean_ci95(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and Student-t half-width at ``level`` (95 % by default) of the finite entries
    (NaN, NaN when none; the half-width is NaN with fewer than 2)."""
    x = values[np.isfinite(values)]
    if x.size == 0:
        return math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan
    from scipy import stats

    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return mean, float(half)


def numeric_columns() -> tuple[str, ...]:
    return (*objective_names(), *EXTRA_COLUMNS)


def energy_flags(rows: Sequence[Mapping]) -> tuple[str, tuple[str, ...]]:
    """(kind, methods) of the rows with an energy figure: kind ``measured``, ``estimated``,
    ``mixed`` or ``none``; methods the distinct ``energy_method`` values."""
    rows = [r for r in rows if r.get("energy_j_per_audio_s") is not None
            or r.get("energy_j") is not None]
    flags = {bool(r.get("energy_measured")) for r in rows}
    methods = tuple(dict.fromkeys(str(r["energy_method"]) for r in rows
                                  if r.get("energy_method")))
    kind = ("none" if not flags else "mixed" if len(flags) > 1
            else "measured" if flags.pop() else "estimated")
    return kind, methods


def _point(key: tuple[str, str], ok: list[Mapping], n_failed: int, family: str,
           has_weights: bool) -> Point:
    utterances = tuple(str(r.get("utterance", i)) for i, r in enumerate(ok))
    values, mean, ci95 = {}, {}, {}
    for col in numeric_columns():
        quality = col not in COST_OBJECTIVES and col not in EXTRA_COLUMNS
        v = np.array([math.nan if quality and not has_weights else _float(r.get(col))
                      for r in ok], dtype=float)
        values[col] = v
        mean[col], ci95[col] = mean_ci95(v)
    kind, methods = energy_flags(ok)
    return Point(key[0], key[1], family, has_weights, len(ok), n_failed, mean, ci95,
                 utterances, values, kind, methods)


def aggregate(rows: Iterable[Mapping]) -> list[Point]:
    """One :class:`Point` per (model, variant), in order of first appearance.

    A (model, variant) whose rows all failed still gets a Point (``n`` 0, NaN means), so tables
    can list it with its failure count.
    """
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for row in rows:
        groups.setdefault((str(row["model"]), str(row.get("variant") or "")), []).append(row)
    points = []
    for key, group in groups.items():
        ok = [r for r in group if not r.get("error")]
        family = next((str(r["family"]) for r in group if r.get("family")), "")
        # has_weights is a property of the model; any row saying False wins (never rank it).
        has_weights = all(r.get("has_weights", True) is not False for r in group)
        points.append(_point(key, ok, len(group) - len(ok), family, has_weights))
    return points


def n_failed_rows(rows: Iterable[Mapping]) -> int:
    return sum(1 for r in rows if r.get("error"))


def energy_consistency(points: Iterable[Point]) -> str | None:
    """A warning when energy figures mix measured and estimated values, else None."""
    pts = [p for p in points if p.energy_kind != "none"]
    kinds = {p.energy_kind for p in pts}
    if kinds <= {"measured"} or kinds <= {"estimated"}:
        return None
    mixed = [p.label for p in pts if p.energy_kind == "mixed"]
    est = [p.label for p in pts if p.energy_kind == "estimated"]
    parts = []
    if est:
        parts.append(f"estimated: {', '.join(est)}")
    if mixed:
        parts.append(f"mixed within one model: {', '.join(mixed)}")
    return ("energy figures mix measured and estimated values; compare them with care ("
            + "; ".join(parts) + ")")
