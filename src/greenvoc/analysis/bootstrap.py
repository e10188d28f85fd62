"""Paired bootstrap over utterances: how sure is it that a model is on, or off, the front?

Each resample draws utterances with replacement from the union of the utterances the points were
scored on (one draw shared by every point: the comparison is paired, as every model synthesised
the same sentences). A point's resampled mean of a column is the mean of its per-utterance values
weighted by how often each utterance was drawn (utterances it lacks are skipped; if none of its
utterances was drawn, its full-sample mean is used). The seed is drawn once and recorded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.efficiency import fdh_matrix
from greenvoc.analysis.objectives import Objective

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
#: A point is called dominated when it is dominated in at least this share of resamples.
DEFAULT_LEVEL = 0.95


def resampled_means(points: Sequence[Point], column: str, counts: np.ndarray,
                    universe: Sequence[str]) -> np.ndarray:
    """``(B, P)`` means of ``column`` under the utterance draw counts ``(B, U)``."""
    index = {u: k for k, u in enumerate(universe)}
    out = np.empty((counts.shape[0], len(points)))
    for i, p in enumerate(points):
        v = np.full(len(universe), np.nan)
        for u, x in zip(p.utterances, p.values.get(column, ()), strict=False):
            v[index[u]] = x  # a repeated utterance name keeps its last value
        has = np.isfinite(v)
        num = counts @ np.where(has, v, 0.0)
        den = counts @ has.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, i] = np.where(den > 0, num / np.where(den > 0, den, 1.0), p.get(column))
    return out


def draw_counts(points: Sequence[Point], n_resamples: int = DEFAULT_RESAMPLES,
                seed: int = DEFAULT_SEED) -> tuple[list[str], np.ndarray]:
    """(universe of utterances, ``(B, U)`` draw counts): the one paired draw that every
    bootstrap of a run's points shares (the same seed gives the same resamples)."""
    universe = list(dict.fromkeys(u for p in points for u in p.utterances))
    rng = np.random.default_rng(seed)
    n_u = max(len(universe), 1)
    counts = rng.multinomial(n_u, np.full(n_u, 1.0 / n_u), size=n_resamples).astype(float)
    return universe, counts


def mean_interval(values: Sequence[float] | np.ndarray, level: float = 0.95, *,
                  log: bool = False, n_resamples: int = 2000,
                  seed: int = DEFAULT_SEED) -> tuple[float, float] | None:
    """Bootstrap percentile interval at ``level`` of the mean of the finite ``values``; None
    with fewer than 2.

    Unlike mean ± t·s/√n it never leaves the range of the data: positive values (energy, RTF)
    give a positive interval, however small n is. ``log``: percentiles taken on the log of the
    resampled means (for a log axis: interpolation between order statistics is geometric);
    needs positive values, else the interval is computed on the linear scale.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    tails = (50 * (1 - level), 50 * (1 + level))
    if log and np.all(x > 0):
        lo, hi = np.exp(np.percentile(np.log(means), tails))
    else:
        lo, hi = np.percentile(means, tails)
    return float(lo), float(hi)


@dataclass(frozen=True)
class BootstrapResult:
    """Per point: share of resamples on the front, share dominated, efficiency 95 % interval."""

    p_front: np.ndarray
    p_dominated: np.ndarray
    efficiency_lo: np.ndarray
    efficiency_hi: np.ndarray
    n_resamples: int
    seed: int


def bootstrap_front(points: Sequence[Point], quality: Objective, cost: Objective,
                    n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> BootstrapResult:
    """Front membership and efficiency over ``n_resamples`` paired utterance resamples.

    ``points`` should all have finite quality and cost means (the ranked set).
    """
    universe, counts = draw_counts(points, n_resamples, seed)
    q = resampled_means(points, quality.name, counts, universe) * quality.sign
    c = resampled_means(points, cost.name, counts, universe) * cost.sign
    # dominated[b, i]: some j is no worse in both and strictly better in one
    qj, qi = q[:, :, None], q[:, None, :]
    cj, ci = c[:, :, None], c[:, None, :]
    dom = (qj <= qi) & (cj <= ci) & ((qj < qi) | (cj < ci))
    dominated = dom.any(axis=1)
    eff = fdh_matrix(q, c)
    with warnings.catch_warnings():  # a point whose cost is never > 0 has an all-NaN column
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanpercentile(eff, 2.5, axis=0) if len(points) else np.empty(0)
        hi = np.nanpercentile(eff, 97.5, axis=0) if len(points) else np.empty(0)
    return BootstrapResult(1.0 - dominated.mean(axis=0), dominated.mean(axis=0), lo, hi,
                           n_resamples, seed)
