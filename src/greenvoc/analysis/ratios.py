"""The ratio of one column's mean between two points, with a bootstrap 95 % interval.

Used to compare one (model, variant) measured on two hardware classes: ``ratio = mean_a / mean_b``
(e.g. energy per audio second on a CPU node ÷ on a GPU). When both points hold ≥ 2 common
utterances with a finite value, the estimate and its interval are *paired*: only the common
utterances count, and each resample draws them once for both points (the same sentences on both
machines). Otherwise each point is resampled over its own utterances, independently. The
interval is the 2.5–97.5 percentile of the resampled ratios; the seed is recorded by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import resampled_means

#: Fewer common utterances than this: the ratio is not paired.
MIN_PAIRED = 2


@dataclass(frozen=True)
class RatioEstimate:
    """``ratio`` = mean of a ÷ mean of b (NaN when b's mean is ≤ 0 or a value is missing);
    ``ci95``: bootstrap percentile interval (NaN when a point has < 2 values); ``paired``: over
    ``n_utterances`` common utterances, else ``n_utterances`` is 0."""

    column: str
    ratio: float
    ci95: tuple[float, float]
    paired: bool
    n_utterances: int

    def to_dict(self) -> dict:
        return {"column": self.column, "ratio": self.ratio, "ci95": list(self.ci95),
                "paired": self.paired, "n_utterances": self.n_utterances}


def _finite_by_utterance(p: Point, column: str) -> dict[str, float]:
    values = p.values.get(column, np.empty(0))
    return {u: float(v) for u, v in zip(p.utterances, values, strict=False) if math.isfinite(v)}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _interval(ratios: np.ndarray) -> tuple[float, float]:
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return float(lo), float(hi)


def _counts(universe: list[str], drawn: list[str], n_resamples: int,
            rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, len(universe))`` draw counts: ``len(drawn)`` draws with replacement
    among ``drawn``, zero for the rest of ``universe``."""
    n = len(drawn)
    counts = np.zeros((n_resamples, len(universe)))
    counts[:, [universe.index(u) for u in drawn]] = rng.multinomial(
        n, np.full(n, 1.0 / n), size=n_resamples)
    return counts


def _mean(values: dict[str, float], utterances: list[str]) -> np.ndarray:
    return np.array(np.mean([values[u] for u in utterances]))


def ratio_of_means(a: Point, b: Point, column: str, n_resamples: int,
                   rng: np.random.Generator) -> RatioEstimate:
    """Mean of ``column`` on ``a`` ÷ on ``b`` (module docstring); ``rng`` draws the resamples."""
    va, vb = _finite_by_utterance(a, column), _finite_by_utterance(b, column)
    common = [u for u in va if u in vb]
    if len(common) >= MIN_PAIRED:
        ratio = float(_ratio(_mean(va, common), _mean(vb, common)))
        universe = list(dict.fromkeys((*a.utterances, *b.utterances)))
        means = resampled_means([a, b], column, _counts(universe, common, n_resamples, rng),
                                universe)
        return RatioEstimate(column, ratio, _interval(_ratio(means[:, 0], means[:, 1])), True,
                             len(common))
    if not va or not vb:
        return RatioEstimate(column, math.nan, (math.nan, math.nan), False, 0)
    ratio = float(_ratio(_mean(va, list(va)), _mean(vb, list(vb))))
    if len(va) < 2 or len(vb) < 2:
        return RatioEstimate(column, ratio, (math.nan, math.nan), False, 0)
    sides = []
    for p, v in ((a, va), (b, vb)):
        universe = list(dict.fromkeys(p.utterances))
        sides.append(resampled_means([p], column, _counts(universe, list(v), n_resamples, rng),
                                     universe)[:, 0])
    return RatioEstimate(column, ratio, _interval(_ratio(sides[0], sides[1])), False, 0)
