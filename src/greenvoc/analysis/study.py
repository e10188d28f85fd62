"""Quality vs cost of a whole run: ranks, front, efficiency, bootstrap confidence, in one call.

:func:`analyze` is what ``greenvoc pareto`` and ``greenvoc report`` print; a notebook can call
it on the rows of :func:`greenvoc.store.results.load_result_rows`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from greenvoc.analysis.aggregate import Point, aggregate, energy_consistency, n_failed_rows
from greenvoc.analysis.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_front,
)
from greenvoc.analysis.efficiency import (
    EFFICIENCY_FORMULA,
    FLOOR_FORMULA,
    default_floor,
    fdh_efficiency,
    quality_per_cost,
)
from greenvoc.analysis.objectives import Objective, get_objective
from greenvoc.analysis.pareto import hypervolume, pareto_ranks, reference_point
from greenvoc.errors import UsageError

DEFAULT_QUALITY = "dnsmos_ovrl"
DEFAULT_COST = "energy_j_per_audio_s"


@dataclass(frozen=True)
class ModelResult:
    """One ranked (model, variant). status: ``front`` (rank 1 on the means), ``dominated``
    (dominated in ≥ level of the resamples) or ``uncertain`` (off the front on the means, but
    not beyond noise)."""

    point: Point
    rank: int
    efficiency: float
    efficiency_ci: tuple[float, float]
    weakly_efficient: bool
    p_front: float
    dominated_confidence: float
    dominated: bool
    quality_per_cost: float

    @property
    def on_front(self) -> bool:
        return self.rank == 1

    @property
    def status(self) -> str:
        if self.on_front:
            return "front"
        return "dominated" if self.dominated else "uncertain"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class ParetoAnalysis:
    """Everything ``pareto`` prints. models: ranked, best rank then lowest cost. cost_only:
    points with no quality (no weights, or quality not computed). unranked: quality but no
    cost value (e.g. no idle-subtracted energy), or measured on fewer utterances than the
    most (a sweep stopped part-way: its mean would not be comparable)."""

    quality: Objective
    cost: Objective
    models: list[ModelResult]
    cost_only: list[Point]
    unranked: list[Point]
    n_rows: int
    n_failed: int
    n_resamples: int
    seed: int
    level: float
    floor: float | None
    energy_warning: str | None
    hypervolume_by_variant: Mapping[str, float]
    hypervolume_reference: tuple[float, ...] | None

    @property
    def front(self) -> list[ModelResult]:
        return [m for m in self.models if m.on_front]

    @property
    def points(self) -> list[Point]:
        return [m.point for m in self.models] + self.unranked + self.cost_only

    def _model_dict(self, m: ModelResult) -> dict:
        return {
            **self.point_dict(m.point),
            "rank": m.rank, "on_front": m.on_front, "status": m.status,
            "efficiency": m.efficiency,
            "efficiency_ci95": list(m.efficiency_ci),
            "weakly_efficient": m.weakly_efficient,
            "p_front": m.p_front, "dominated_confidence": m.dominated_confidence,
            "dominated": m.dominated,
            "quality_per_cost": _num(m.quality_per_cost),
        }

    def point_dict(self, p: Point) -> dict:
        return {
            "model": p.model, "variant": p.variant, "family": p.family,
            "has_weights": p.has_weights, "n": p.n, "n_failed": p.n_failed,
            "quality": _num(p.get(self.quality.name)),
            "quality_ci95": _num(p.ci95.get(self.quality.name)),
            "cost": _num(p.get(self.cost.name)),
            "cost_ci95": _num(p.ci95.get(self.cost.name)),
            "energy": p.energy_label,
        }

    def to_dict(self) -> dict:
        front = [self._model_dict(m) for m in self.front]
        return {
            "quality": self.quality.name, "cost": self.cost.name,
            "objectives": [self.quality.to_dict(), self.cost.to_dict()],
            "front": front,
            "models": [self._model_dict(m) for m in self.models],
            "cost_only": [self.point_dict(p) for p in self.cost_only],
            "unranked": [self.point_dict(p) for p in self.unranked],
            "n_rows": self.n_rows, "n_failed": self.n_failed,
            "efficiency_formula": EFFICIENCY_FORMULA,
            "quality_per_cost_formula": FLOOR_FORMULA, "floor": self.floor,
            "bootstrap": {"resamples": self.n_resamples, "seed": self.seed,
                          "dominated_level": self.level, "paired_over": "utterances"},
            "energy_warning": self.energy_warning,
            "hypervolume": {"by_variant": dict(self.hypervolume_by_variant),
                            "all": self.hypervolume_by_variant.get("*"),
                            "reference": self.hypervolume_reference},
        }


def _finite(p: Point, name: str) -> bool:
    v = p.get(name)
    return v is not None and math.isfinite(v)


def _floor(quality: Objective, floor: float | None) -> float | None:
    if floor is not None:
        return float(floor)
    try:
        return default_floor(quality)
    except UsageError:
        return None  # no natural floor (MCD): the per-cost figure is left out


def analyze(rows: Iterable[Mapping], quality: str = DEFAULT_QUALITY,
            cost: str = DEFAULT_COST, *, n_resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL,
            floor: float | None = None) -> ParetoAnalysis:
    """Rank every (model, variant) of ``rows`` on ``quality`` (↑/↓ from the metric) vs ``cost``."""
    q, c = get_objective(quality, "quality"), get_objective(cost, "cost")
    if n_resamples < 1:
        raise UsageError(f"the bootstrap needs >= 1 resample, got {n_resamples}")
    if not 0.5 <= level < 1.0:
        raise UsageError(f"the dominated level must be in [0.5, 1), got {level}")
    rows = list(rows)
    points = aggregate(rows)
    with_q = [p for p in points if p.n and p.has_weights and _finite(p, q.name)]
    cost_only = [p for p in points if p not in with_q]
    # rows attempted (failed ones included): a point measured on fewer utterances than most
    # points is not comparable with them (means and paired resamples over other clips)
    attempted = Counter(p.n + p.n_failed for p in with_q)
    usual = max(attempted, key=lambda k: (attempted[k], k), default=0)
    ranked = [p for p in with_q if _finite(p, c.name) and p.n + p.n_failed >= usual]
    unranked = [p for p in with_q if p not in ranked]
    ranks = pareto_ranks(ranked, (q, c))
    eff = fdh_efficiency(ranked, q, c)
    f = _floor(q, floor)
    qpc = quality_per_cost(ranked, q, c, f) if f is not None else [math.nan] * len(ranked)
    boot = bootstrap_front(ranked, q, c, n_resamples, seed)
    models = [
        ModelResult(p, int(r), e, (float(boot.efficiency_lo[i]), float(boot.efficiency_hi[i])),
                    bool(r > 1 and e == 1.0), float(boot.p_front[i]),
                    float(boot.p_dominated[i]), bool(boot.p_dominated[i] >= level), qp)
        for i, (p, r, e, qp) in enumerate(zip(ranked, ranks, eff, qpc, strict=True))
    ]
    models.sort(key=lambda m: (m.rank, m.point.get(c.name)))
    hv, ref = hypervolume_by_variant(ranked, q, c)
    return ParetoAnalysis(q, c, models, cost_only, unranked, len(rows), n_failed_rows(rows),
                          n_resamples, seed, level, f, energy_consistency(points), hv, ref)


def hypervolume_by_variant(points: list[Point], quality: Objective, cost: Objective
                           ) -> tuple[dict[str, float], tuple[float, ...] | None]:
    """Hypervolume of each variant's models (the fp32 zoo, the int8 zoo...) and of all (``*``),
    against one reference (:func:`~greenvoc.analysis.pareto.reference_point`, 10 % margin)."""
    if not points:
        return {}, None
    ref = reference_point([points], (quality, cost))
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(p.variant, []).append(p)
    out = {v: hypervolume(g, (quality, cost), ref) for v, g in groups.items()}
    out["*"] = hypervolume(points, (quality, cost), ref)
    return out, ref
