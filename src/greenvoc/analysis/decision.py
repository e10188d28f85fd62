"""Which vocoder? The cheapest model meeting each quality requirement, and how sure that is.

Requirements come from the data (every quality level reached on the Pareto front) and from the
user (a quality floor, an energy budget). For each one :func:`decide` names the pick over the
*ranked* models of a :class:`~greenvoc.analysis.study.ParetoAnalysis` (a model measured for cost
only, without weights or quality, is never recommended):

* ``front``: quality at least that of front model *i* → the cheapest model at least as good as
  *i* (on the means, *i* itself);
* ``floor``: quality at least the floor (at most, for a lower-is-better metric) → the cheapest
  model meeting it;
* ``budget``: cost at most the budget → the best-quality model within it.

Ties: equal cost → the better quality; equal cost and quality → the first by model/variant
name, the others listed in :attr:`Decision.ties`. Each pick is compared with the best-quality
model (``times_cheaper`` = its cost ÷ the pick's). How sure: the same paired bootstrap over
utterances as the front (:func:`~greenvoc.analysis.bootstrap.draw_counts`, same seed) re-makes
the pick in every resample; ``pick_share`` is the share of resamples that pick the same model,
and ``times_cheaper_ci`` the percentile interval of the cost ratio (positive by construction).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greenvoc.analysis.bootstrap import draw_counts, resampled_means
from greenvoc.analysis.study import ModelResult, ParetoAnalysis
from greenvoc.errors import UsageError

#: Cost columns a ``--budget-j-per-s`` applies to.
ENERGY_RATE_COLUMNS = ("energy_j_per_audio_s", "energy_net_j_per_audio_s")


@dataclass(frozen=True)
class Decision:
    """One requirement and its pick. kind: ``front``, ``floor`` or ``budget``; level: the
    quality level (front, floor) or the cost budget, in the objective's unit. pick: None when
    no ranked model meets the requirement. times_cheaper: the best-quality model's cost ÷ the
    pick's (1.0 for the best-quality model itself). pick_share: share of bootstrap resamples
    whose pick is the same model. runner_up: the other model picked most often, with its
    share. ties: models with the pick's exact cost and quality. beaten_dominated /
    beaten_uncertain: costlier ranked models meeting the requirement that are off the front,
    dominated beyond noise or not."""

    kind: str
    requirement: str
    level: float
    pick: ModelResult | None
    times_cheaper: float | None = None
    times_cheaper_ci: tuple[float, float] | None = None
    pick_share: float | None = None
    runner_up: tuple[str, float] | None = None
    ties: tuple[str, ...] = ()
    beaten_dominated: tuple[str, ...] = ()
    beaten_uncertain: tuple[str, ...] = ()
    level_ci: float = 0.95

    @property
    def sure(self) -> bool:
        return self.pick_share is not None and self.pick_share >= self.level_ci

    @property
    def certainty(self) -> str:
        """How sure the pick is, in words."""
        if self.pick is None:
            return "no ranked model meets it"
        share = "—" if self.pick_share is None else f"{self.pick_share:.0%}"
        if self.sure:
            words = [f"sure: same pick in {share} of resamples"]
        else:
            other = f", else {self.runner_up[0]} ({self.runner_up[1]:.0%})" \
                if self.runner_up else ""
            words = [f"uncertain: same pick in only {share} of resamples{other}"]
        if self.ties:
            words.append(f"tied with {_names(self.ties)} (same cost and quality)")
        if self.beaten_dominated:
            words.append(f"costlier {_names(self.beaten_dominated)} dominated beyond noise")
        if self.beaten_uncertain:
            words.append(f"costlier {_names(self.beaten_uncertain)} uncertain, not dominated "
                         "beyond noise")
        return "; ".join(words)

    def to_dict(self) -> dict:
        p = self.pick.point if self.pick else None
        return {"kind": self.kind, "requirement": self.requirement, "level": self.level,
                "pick": p.label if p else None, "times_cheaper": self.times_cheaper,
                "times_cheaper_ci95": list(self.times_cheaper_ci) if self.times_cheaper_ci
                else None, "pick_share": self.pick_share, "ties": list(self.ties),
                "certainty": self.certainty}


def _names(labels: Sequence[str], most: int = 2) -> str:
    """``a, b and 3 more``."""
    shown = ", ".join(labels[:most])
    return shown + (f" and {len(labels) - most} more" if len(labels) > most else "")


def _order(models: Sequence[ModelResult], q_min: np.ndarray, c: np.ndarray) -> list[int]:
    """Indices by cost, then better quality, then name: the tie-break of every pick."""
    return sorted(range(len(models)), key=lambda i: (c[i], q_min[i], models[i].point.label))


def _cheapest_meeting(meets: np.ndarray, q_min: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``(B,)`` index of the cheapest candidate (better quality on equal cost) per resample;
    -1 where none. meets, q_min, c: ``(B, P)``."""
    key_c = np.where(meets, c, np.inf)
    best_c = key_c.min(axis=1, keepdims=True)
    key_q = np.where(meets & (key_c == best_c), q_min, np.inf)
    pick = key_q.argmin(axis=1)
    return np.where(np.isfinite(best_c[:, 0]), pick, -1)


def _best_within(within: np.ndarray, q_min: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``(B,)`` index of the best quality (cheaper on equal quality) among ``within``; -1."""
    key_q = np.where(within, q_min, np.inf)
    best_q = key_q.min(axis=1, keepdims=True)
    key_c = np.where(within & (key_q == best_q), c, np.inf)
    pick = key_c.argmin(axis=1)
    return np.where(np.isfinite(best_q[:, 0]), pick, -1)


class _Resamples:
    """Resampled means of the ranked models (same draw as the front's bootstrap)."""

    def __init__(self, a: ParetoAnalysis):
        pts = [m.point for m in a.models]
        universe, counts = draw_counts(pts, a.n_resamples, a.seed)
        self.q_min = resampled_means(pts, a.quality.name, counts, universe) * a.quality.sign
        self.c = resampled_means(pts, a.cost.name, counts, universe)
        self.labels = [p.label for p in pts]

    def share(self, picks: np.ndarray, pick: int) -> tuple[float, tuple[str, float] | None]:
        counts = Counter(int(i) for i in picks)
        others = [(i, n) for i, n in counts.most_common() if i != pick]
        runner = None
        if others:
            i, n = others[0]
            runner = ("no model" if i < 0 else self.labels[i], n / len(picks))
        return counts.get(pick, 0) / len(picks), runner

    def ratio_ci(self, best: int, pick: int) -> tuple[float, float] | None:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.c[:, best] / self.c[:, pick]
        r = r[np.isfinite(r) & (r > 0)]
        if r.size == 0:
            return None
        lo, hi = np.exp(np.percentile(np.log(r), (2.5, 97.5)))
        return float(lo), float(hi)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def decide(a: ParetoAnalysis, floors: Sequence[float] = (),
           budgets: Sequence[float] = ()) -> list[Decision]:
    """The decisions for the user's ``floors`` (quality), ``budgets`` (cost, in the cost
    column's unit), then every quality level of the front, best first. Empty when no model
    is ranked."""
    models = a.models
    if not models:
        return []
    if budgets and a.cost.name not in ENERGY_RATE_COLUMNS:
        raise UsageError(f"--budget-j-per-s is a budget of energy per audio second, but the "
                         f"cost is {a.cost.name}: rank on --cost energy_j_per_audio_s")
    q = a.quality
    q_min = np.array([m.point.get(q.name) for m in models], dtype=float) * q.sign
    c = np.array([m.point.get(a.cost.name) for m in models], dtype=float)
    order = _order(models, q_min, c)
    best = models.index(best_quality(a))
    boot = _Resamples(a)
    cmp = "≥" if q.higher_is_better else "≤"
    out = []

    def make(kind, requirement, level, candidates, picks) -> Decision:
        if not candidates:
            share, runner = boot.share(picks, -1)
            return Decision(kind, requirement, level, None, pick_share=share, runner_up=runner,
                            level_ci=a.level)
        i = candidates[0]
        share, runner = boot.share(picks, i)
        ties = tuple(models[j].point.label for j in candidates[1:]
                     if c[j] == c[i] and q_min[j] == q_min[i])
        costlier = [models[j] for j in candidates if c[j] > c[i] and not models[j].on_front]
        return Decision(
            kind, requirement, level, models[i],
            times_cheaper=float(c[best] / c[i]) if c[i] > 0 else None,
            times_cheaper_ci=boot.ratio_ci(best, i), pick_share=share, runner_up=runner,
            ties=ties, beaten_dominated=tuple(m.point.label for m in costlier if m.dominated),
            beaten_uncertain=tuple(m.point.label for m in costlier if not m.dominated),
            level_ci=a.level)

    for f in floors:
        meets = [i for i in order if q_min[i] <= f * q.sign]
        picks = _cheapest_meeting(boot.q_min <= f * q.sign, boot.q_min, boot.c)
        out.append(make("floor", f"{q.name} {cmp} {_fmt(f)} (your floor)", float(f), meets,
                        picks))
    for b in budgets:
        within = sorted((i for i in order if c[i] <= b),
                        key=lambda i: (q_min[i], c[i], models[i].point.label))
        picks = _best_within(boot.c <= b, boot.q_min, boot.c)
        out.append(make("budget", f"{a.cost.name} ≤ {_fmt(b)} {a.cost.unit} (your budget)",
                        float(b), within, picks))
    front_levels = sorted({float(q_min[i]) for i in order if models[i].on_front})
    for level in front_levels:
        meets = [i for i in order if q_min[i] <= level]
        ref = meets[0]
        # "at least as good as the front model" in each resample, not a fixed number: a fixed
        # level equal to the model's own mean would fail it in about half of the resamples
        picks = _cheapest_meeting(boot.q_min <= boot.q_min[:, [ref]], boot.q_min, boot.c)
        value = level * q.sign
        label = models[ref].point.label
        out.append(make("front", f"{q.name} {cmp} {_fmt(value)} (as good as {label})",
                        value if math.isfinite(value) else level, meets, picks))
    return out


def best_quality(a: ParetoAnalysis) -> ModelResult | None:
    """The ranked model of best quality (the cheaper on a tie): the reference of
    :attr:`Decision.times_cheaper`."""
    if not a.models:
        return None
    return min(a.models, key=lambda m: (m.point.get(a.quality.name) * a.quality.sign,
                                        m.point.get(a.cost.name), m.point.label))
