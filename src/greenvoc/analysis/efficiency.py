r"""Energy efficiency relative to the Pareto front, and quality above a floor per unit cost.

**Efficiency** (input-oriented free-disposal-hull, FDH, efficiency; Deprins, Simar & Tulkens
1984). For point *i* with quality :math:`q_i` and cost :math:`c_i > 0`:

.. math::

    E_i = \frac{\min\{\, c_j : q_j \succeq q_i \,\}}{c_i}

where :math:`q_j \succeq q_i` means "at least as good" in the metric's declared direction
(:math:`q_j \ge q_i` for DNSMOS, :math:`q_j \le q_i` for MCD) and *j* runs over every ranked
point, *i* included. :math:`E_i` is the fraction of its cost that point *i* would need if it
matched the cheapest model that is at least as good: 1.0 exactly on the front (no cheaper point is
as good, and :math:`c_i / c_i` is exactly 1 in floating point); :math:`E_i = 0.25` means a model
at least as good exists at a quarter of the cost. A point dominated only through quality at
*equal* cost (e.g. an int8 variant with the same parameter count) gets :math:`E_i = 1` from this
formula; it is flagged ``weakly_efficient`` (the DEA term) and its rank is > 1. Points with cost
≤ 0 or a missing value get no efficiency (NaN) and are not candidates *j*.

**Quality above a floor per unit cost**: :math:`(q_i - f)\,/\,c_i` for higher-is-better metrics,
:math:`(f - q_i)\,/\,c_i` for lower-is-better ones. The default floor *f* is the worst value of the
metric's declared range (1.0 for DNSMOS and the MOS scale: "bad"; the PESQ minimum; 0 for
V/UV F1); a lower-is-better metric with an unbounded range (MCD) needs an explicit floor (a
ceiling: the worst value you accept). With cost ``energy_j_per_audio_s`` the unit is
quality·s/J: quality points above the floor bought per joule per audio second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from greenvoc.analysis.objectives import Objective, get_objective
from greenvoc.analysis.pareto import objective_matrix
from greenvoc.errors import UsageError

EFFICIENCY_FORMULA = (
    "E_i = min{ c_j : q_j at least as good as q_i } / c_i  "
    "(input-oriented free-disposal-hull efficiency; 1.0 on the Pareto front, < 1.0 when a "
    "cheaper model at least as good exists)"
)
FLOOR_FORMULA = "(q_i − floor) / c_i  (higher-is-better; (floor − q_i) / c_i when lower is better)"


def fdh_matrix(q_min: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Efficiency of each column i along the last axis.

    q_min: ``(..., P)`` quality to *minimise* (sign applied); c: ``(..., P)`` cost. Entries with
    a non-finite value or cost ≤ 0 get NaN and are not candidates.
    """
    ok = np.isfinite(q_min) & np.isfinite(c) & (c > 0)
    as_good = (q_min[..., :, None] <= q_min[..., None, :]) & ok[..., :, None]  # [j, i]
    cand = np.where(as_good, c[..., :, None], np.inf)
    best = cand.min(axis=-2, initial=np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = best / np.where(ok, c, np.nan)
    return np.where(ok, eff, np.nan)


def fdh_efficiency(points: Sequence[Any], quality: str | Objective,
                   cost: str | Objective) -> list[float]:
    """:math:`E_i` (module docstring) for each point; NaN where undefined."""
    q, c = get_objective(quality, "quality"), get_objective(cost, "cost")
    m = objective_matrix(list(points), (q, c))
    return [float(e) for e in fdh_matrix(m[:, 0], m[:, 1])]


def default_floor(quality: str | Objective) -> float:
    """The worst end of the metric's declared range; :class:`UsageError` if it is unbounded."""
    from greenvoc.metrics.registry import get_metric

    q = get_objective(quality, "quality")
    lo, hi = q.range if q.range is not None else get_metric(q.name).range
    floor = lo if q.higher_is_better else hi
    if not math.isfinite(floor):
        raise UsageError(
            f"{q.name} is lower-is-better with no upper bound: give a floor (the worst value "
            "you accept, e.g. --floor 8 for MCD in dB)"
        )
    return float(floor)


def quality_per_cost(points: Sequence[Any], quality: str | Objective, cost: str | Objective,
                     floor: float | None = None) -> list[float]:
    """``(q − floor)/c`` (or ``(floor − q)/c`` for lower-is-better); NaN where cost ≤ 0."""
    q, c = get_objective(quality, "quality"), get_objective(cost, "cost")
    f = default_floor(q) if floor is None else float(floor)
    out = []
    for p in points:
        qv, cv = p.get(q.name), p.get(c.name)
        if qv is None or cv is None or not (math.isfinite(qv) and math.isfinite(cv)) or cv <= 0:
            out.append(math.nan)
            continue
        gain = (qv - f) if q.higher_is_better else (f - qv)
        out.append(float(gain / cv))
    return out
