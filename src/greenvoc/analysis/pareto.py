"""Pareto fronts, non-dominated sorting and hypervolume over 2 or 3 objectives.

A *point* is anything with ``get(column)`` returning a number: a :class:`~greenvoc.analysis.
aggregate.Point` (its mean) or a plain mapping. Objectives are names or
:class:`~greenvoc.analysis.objectives.Objective` objects; directions come from their declarations
(cost columns lower-is-better, quality metrics from ``Metric.higher_is_better``).

Internally every objective is turned into one to minimise (``value × sign``, sign −1 for
higher-is-better). Point *a* dominates *b* when *a* is no worse in every objective and strictly
better in at least one. Points with a missing (None/NaN) objective are left out (rank ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from greenvoc.analysis.objectives import Objective, resolve_objectives
from greenvoc.errors import UsageError


def _value(point: Any, name: str) -> float:
    v = point.get(name)
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


def objective_matrix(points: Sequence[Any], objectives: Sequence[Objective]) -> np.ndarray:
    """``(len(points), len(objectives))`` values to minimise (NaN where missing)."""
    m = np.array([[_value(p, o.name) for o in objectives] for p in points], dtype=float)
    return m.reshape(len(points), len(objectives)) * np.array([o.sign for o in objectives])


def dominance_matrix(m: np.ndarray) -> np.ndarray:
    """``D[i, j]`` True when row i dominates row j (minimisation; rows assumed finite)."""
    a, b = m[:, None, :], m[None, :, :]
    return np.all(a <= b, axis=-1) & np.any(a < b, axis=-1)


def nondominated_ranks(m: np.ndarray) -> np.ndarray:
    """Non-dominated sorting of finite rows to minimise: rank 1 is the front, rank 2 the front
    of what is left, and so on. Returns an int array, one rank per row."""
    dom = dominance_matrix(m)
    ranks = np.zeros(len(m), dtype=int)
    left = np.ones(len(m), dtype=bool)
    rank = 0
    while left.any():
        rank += 1
        # not dominated by any row still left
        layer = left & ~np.any(dom & left[:, None], axis=0)
        ranks[layer] = rank
        left &= ~layer
    return ranks


def pareto_ranks(points: Sequence[Any], objectives: Iterable[str | Objective]) -> list[int | None]:
    """Rank of each point (1 = on the front), ``None`` for a point with a missing objective."""
    objs = resolve_objectives(objectives)
    m = objective_matrix(points, objs)
    ok = np.all(np.isfinite(m), axis=1)
    out: list[int | None] = [None] * len(points)
    for i, r in zip(np.flatnonzero(ok), nondominated_ranks(m[ok]), strict=True):
        out[int(i)] = int(r)
    return out


def pareto_front(points: Sequence[Any], objectives: Iterable[str | Objective]) -> list:
    """The non-dominated points, in their input order (points with a missing value excluded)."""
    points = list(points)
    ranks = pareto_ranks(points, objectives)
    return [p for p, r in zip(points, ranks, strict=True) if r == 1]


def _hv(m: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume dominated by rows of ``m`` (all strictly better than ``ref``).

    2-D: a sweep in x. d > 2: slicing along the last objective (HSO), each slab's (d−1)-volume
    computed recursively; exact, O(n^(d−1) log n).
    """
    if len(m) == 0:
        return 0.0
    d = m.shape[1]
    if d == 1:
        return float(ref[0] - m[:, 0].min())
    if d == 2:
        volume, best_y = 0.0, float(ref[1])
        for x, y in m[np.lexsort((m[:, 1], m[:, 0]))]:
            if y < best_y:
                volume += (ref[0] - x) * (best_y - y)
                best_y = float(y)
        return float(volume)
    m = m[np.argsort(m[:, -1], kind="stable")]
    volume = 0.0
    for k in range(len(m)):
        top = m[k + 1, -1] if k + 1 < len(m) else ref[-1]
        height = top - m[k, -1]
        if height > 0:
            volume += _hv(m[: k + 1, :-1], ref[:-1]) * height
    return float(volume)


def hypervolume(points: Sequence[Any], objectives: Iterable[str | Objective],
                reference: Sequence[float]) -> float:
    """Volume of objective space dominated by ``points`` and bounded by ``reference``.

    ``reference`` is given in the objectives' own units and directions (e.g. quality 1.0 MOS,
    cost 50 J/s): a point that is not strictly better than it in every objective adds nothing.
    Larger is better; comparing two sets (fp32 zoo vs quantized zoo) needs the same reference,
    e.g. from :func:`reference_point`. Exact in 2-D (sweep) and 3-D (slicing).
    """
    objs = resolve_objectives(objectives)
    if len(reference) != len(objs):
        raise UsageError(f"reference has {len(reference)} values for {len(objs)} objectives")
    ref = np.array([float(r) for r in reference]) * np.array([o.sign for o in objs])
    if not np.all(np.isfinite(ref)):
        raise UsageError(f"reference must be finite numbers, got {list(reference)}")
    m = objective_matrix(list(points), objs)
    m = m[np.all(np.isfinite(m), axis=1)]
    m = m[np.all(m < ref, axis=1)]
    return _hv(m, ref)


def reference_point(point_sets: Iterable[Sequence[Any]], objectives: Iterable[str | Objective],
                    margin: float = 0.1) -> tuple[float, ...]:
    """A common reference: each objective's worst value over all sets, pushed out by ``margin``
    × its range (so the worst points still add volume). In the objectives' own units."""
    objs = resolve_objectives(objectives)
    m = np.vstack([objective_matrix(list(s), objs) for s in point_sets] or [np.empty((0, 0))])
    m = m[np.all(np.isfinite(m), axis=1)] if m.size else m
    if m.size == 0:
        raise UsageError("no point with every objective present: cannot place a reference")
    worst, best = m.max(axis=0), m.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    ref = (worst + margin * span) * np.array([o.sign for o in objs])
    return tuple(float(r) for r in ref)
