"""Statistics of a listening test: MOS / MUSHRA means with confidence intervals, A/B preferences.

:func:`summarize` screens the records (:mod:`greenvoc.listen.screening`) and summarises what is
kept. Per condition and per clip: n, mean, sample sd, the Student-t 95 % interval
``mean ± t(0.975, n−1)·sd/√n`` (P.808's ``1.96·σ/√n`` is its large-n limit; t is right for the
small n of a listening test) and a percentile bootstrap 95 % interval of the mean (ratings drawn
with replacement, :data:`N_RESAMPLES` resamples, seeded per condition from ``seed`` and the
condition's name, so the result depends neither on record order nor on the other conditions).
A/B: the share of votes for the first condition of each pair (conditions sorted by name), its
Wilson score 95 % interval and the two-sided exact binomial test of share = 0.5, all over the
decided votes: "no preference" answers (a study made with ``--ab-choices with-tie``) are counted
and reported as ties and left out of the share, the interval and the test (:data:`TIE_RULE`).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from greenvoc.analysis.aggregate import mean_ci95
from greenvoc.errors import UsageError
from greenvoc.listen.records import RatingRecord
from greenvoc.listen.screening import OUTLIER_Z, Exclusion, screen

TEST_TYPES = ("acr", "mushra", "ab")
N_RESAMPLES = 2000
LEVEL = 0.95
Z95 = 1.959963984540054
SCALES = {"acr": "MOS 1–5 (P.808 ACR)", "mushra": "MUSHRA 0–100 (BS.1534)",
          "ab": "preference share (A/B)"}
TIE_RULE = ("ties (no preference) are reported and excluded from the share, its interval and "
            "the test")


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class RatingStats:
    """One condition (``item`` None) or one clip (``item`` set) over its kept ratings.
    ci_t / ci_bootstrap: (low, high) of the 95 % interval of the mean (NaN when n < 2)."""

    condition: str
    model: str | None
    variant: str | None
    item: str | None
    n: int
    n_raters: int
    mean: float
    sd: float
    ci_t: tuple[float, float]
    ci_bootstrap: tuple[float, float]

    def to_dict(self) -> dict:
        out = {"condition": self.condition, "model": self.model, "variant": self.variant}
        if self.item is not None:
            out["item"] = self.item
        return out | {
            "n": self.n, "n_raters": self.n_raters, "mean": _num(self.mean), "sd": _num(self.sd),
            "ci95_t_low": _num(self.ci_t[0]), "ci95_t_high": _num(self.ci_t[1]),
            "ci95_bootstrap_low": _num(self.ci_bootstrap[0]),
            "ci95_bootstrap_high": _num(self.ci_bootstrap[1]),
        }


@dataclass(frozen=True)
class PairPreference:
    """A/B votes between ``condition_a`` and ``condition_b`` (sorted names). share_a: votes for
    a ÷ decided votes; ties (score 0.5) are counted apart and left out of the test."""

    condition_a: str
    condition_b: str
    votes_a: int
    votes_b: int
    ties: int
    share_a: float
    wilson: tuple[float, float]
    p_value: float

    @property
    def n(self) -> int:
        return self.votes_a + self.votes_b

    def to_dict(self) -> dict:
        return {"condition_a": self.condition_a, "condition_b": self.condition_b,
                "votes_a": self.votes_a, "votes_b": self.votes_b, "n": self.n, "ties": self.ties,
                "share_a": _num(self.share_a), "wilson95_low": _num(self.wilson[0]),
                "wilson95_high": _num(self.wilson[1]), "p_value": _num(self.p_value)}


@dataclass(frozen=True)
class StudySummary:
    """Everything ``greenvoc listen results`` prints. conditions: sorted by mean, best first
    (A/B: empty). clips: per (item, condition). preferences: A/B pairs (else empty).
    outliers_applied: the |z| ≥ 3.29 rule ran (ACR with ``outliers``)."""

    studies: tuple[str, ...]
    test_type: str
    n_records: int
    n_used: int
    conditions: tuple[RatingStats, ...]
    clips: tuple[RatingStats, ...]
    preferences: tuple[PairPreference, ...]
    raters_kept: tuple[str, ...]
    raters_excluded: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]
    n_outliers: int
    outliers_applied: bool
    seed: int
    n_resamples: int
    ties_allowed: bool = False

    def intervals(self) -> str:
        """The footer: which intervals (and test) the tables show."""
        if self.test_type == "ab":
            ties = f"; {TIE_RULE}" if self.ties_allowed else "; forced choice (no ties)"
            return (f"share of A over decided votes with its {LEVEL:.0%} Wilson score interval; "
                    f"p: two-sided exact binomial test of share = 0.5{ties}.")
        return (f"CI: Student-t (mean ± t(0.975, n−1)·sd/√n) and percentile bootstrap "
                f"({self.n_resamples} resamples, seed {self.seed}), level {LEVEL:.0%}.")

    def to_dict(self) -> dict:
        return {
            "studies": list(self.studies), "test_type": self.test_type,
            "scale": SCALES[self.test_type], "n_records": self.n_records, "n_used": self.n_used,
            "conditions": [c.to_dict() for c in self.conditions],
            "clips": [c.to_dict() for c in self.clips],
            "preferences": [p.to_dict() for p in self.preferences],
            "raters": {"kept": list(self.raters_kept), "excluded": list(self.raters_excluded)},
            "exclusions": [e.to_dict() for e in self.exclusions],
            "n_outliers_removed": self.n_outliers,
            "outlier_rule": {"applied": self.outliers_applied, "abs_z_at_least": OUTLIER_Z,
                             "min_ratings_per_clip_to_fire": 13},
            "ci": self._ci(), "intervals": self.intervals(),
        }

    def _ci(self) -> dict:
        if self.test_type == "ab":
            return {"level": LEVEL, "interval": "Wilson score, over decided votes",
                    "test": "two-sided exact binomial, share = 0.5",
                    "ties_allowed": self.ties_allowed,
                    "ties": TIE_RULE if self.ties_allowed else "forced choice: no ties"}
        return {"level": LEVEL, "t": "mean ± t(0.975, n−1)·sd/√n",
                "bootstrap": "percentile, ratings resampled with replacement",
                "resamples": self.n_resamples, "seed": self.seed}


def t_interval(x: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Student-t interval of the mean of ``x`` (NaN, NaN when fewer than 2 values)."""
    if x.size < 2:
        return math.nan, math.nan
    mean, half = mean_ci95(x, level)
    return mean - half, mean + half


def bootstrap_interval(x: np.ndarray, rng: np.random.Generator, n_resamples: int = N_RESAMPLES,
                       level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (NaN, NaN when fewer than 2 values)."""
    if x.size < 2:
        return math.nan, math.nan
    means = rng.choice(x, size=(n_resamples, x.size), replace=True).mean(axis=1)
    lo, hi = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def _rng(seed: int, *key: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in key)])


def rating_stats(records: Sequence[RatingRecord], seed: int = 0, *, item: str | None = None,
                 n_resamples: int = N_RESAMPLES) -> RatingStats:
    """Stats of ``records`` (all of one condition, and of one clip when ``item`` is given)."""
    first = records[0]
    x = np.sort(np.array([r.score for r in records], dtype=float))  # order-independent draws
    rng = _rng(seed, first.condition, item or "")
    return RatingStats(
        first.condition, first.model, first.variant, item, int(x.size),
        len({r.rater for r in records}), float(x.mean()),
        float(x.std(ddof=1)) if x.size > 1 else math.nan,
        t_interval(x), bootstrap_interval(x, rng, n_resamples))


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial share k/n (NaN, NaN when n is 0)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(k: int, n: int) -> float:
    """Two-sided exact binomial test of share 0.5 (1.0 when n is 0)."""
    if n == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue)


def pair_preferences(records: Iterable[RatingRecord]) -> list[PairPreference]:
    """A/B votes per pair of conditions, pooled over items (pair ids) and raters.

    The pair of an item is the set of conditions its records name; a record scoring 1.0 is a
    vote for its condition, 0.5 a tie (counted once per tie record pair), 0.0 the other side.
    """
    conds: dict[str, set[str]] = defaultdict(set)
    records = list(records)
    for r in records:
        conds[r.item].add(r.condition)
    votes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        pair = tuple(sorted(conds[r.item]))
        if len(pair) != 2:
            continue  # an item naming one or 3+ conditions is not a pair
        v = votes[pair]
        if r.score == 1.0:
            v[pair.index(r.condition)] += 1
        elif r.score == 0.5 and r.condition == pair[0]:
            v[2] += 1
    out = []
    for (a, b), (va, vb, ties) in sorted(votes.items()):
        n = va + vb
        out.append(PairPreference(a, b, va, vb, ties, va / n if n else math.nan,
                                  wilson_interval(va, n), binomial_p_value(va, n)))
    return out


def summarize(records: list[RatingRecord], test_type: str, *, seed: int = 0,
              outliers: bool = True, n_resamples: int = N_RESAMPLES,
              ties_allowed: bool | None = None) -> StudySummary:
    """Screen and summarise the ``test_type`` records (other test types are ignored).
    ties_allowed: the A/B study offered "no preference" (None: when any record is a tie)."""
    if test_type not in TEST_TYPES:
        raise UsageError(f"unknown test type {test_type!r}; valid: {', '.join(TEST_TYPES)}")
    mine = [r for r in records if r.test_type == test_type]
    s = screen(mine, test_type, outliers=outliers)
    conditions: list[RatingStats] = []
    clips: list[RatingStats] = []
    prefs: list[PairPreference] = []
    if test_type == "ab":
        prefs = pair_preferences(s.kept)
    else:
        by_cond: dict[str, list[RatingRecord]] = defaultdict(list)
        by_clip: dict[tuple[str, str], list[RatingRecord]] = defaultdict(list)
        for r in s.kept:
            by_cond[r.condition].append(r)
            by_clip[(r.item, r.condition)].append(r)
        conditions = sorted((rating_stats(g, seed, n_resamples=n_resamples)
                             for g in by_cond.values()), key=lambda c: (-c.mean, c.condition))
        clips = [rating_stats(by_clip[k], seed, item=k[0], n_resamples=n_resamples)
                 for k in sorted(by_clip)]
    return StudySummary(
        tuple(sorted({r.study for r in mine})), test_type, len(mine), len(s.kept),
        tuple(conditions), tuple(clips), tuple(prefs), s.raters_kept, s.raters_excluded,
        s.exclusions, s.n_outliers, outliers and test_type == "acr", seed, n_resamples,
        test_type == "ab" and (ties_allowed if ties_allowed is not None
                               else any(p.ties for p in prefs)))


def _f(x: float, digits: int = 2) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def print_summary(summary: StudySummary, console) -> None:
    """Rich tables of ``summary`` on ``console`` (a :class:`rich.console.Console`)."""
    from rich import box
    from rich.table import Table

    s = summary
    head = (f"{s.test_type.upper()} study {', '.join(s.studies) or '—'}: {SCALES[s.test_type]}; "
            f"{s.n_used} of {s.n_records} records counted, {len(s.raters_kept)} raters kept, "
            f"{len(s.raters_excluded)} excluded")
    if s.conditions:
        table = Table(title=head, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("condition", no_wrap=True)
        for col in ("n", "raters", "mean", "sd", "95 % t-CI", "95 % bootstrap CI"):
            table.add_column(col, justify="right", no_wrap=True)
        for c in s.conditions:
            table.add_row(c.condition, str(c.n), str(c.n_raters), _f(c.mean), _f(c.sd),
                          f"{_f(c.ci_t[0])}–{_f(c.ci_t[1])}",
                          f"{_f(c.ci_bootstrap[0])}–{_f(c.ci_bootstrap[1])}")
        console.print(table)
    elif s.preferences:
        table = Table(title=head, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("A", "B"):
            table.add_column(col, no_wrap=True)
        cols = ("A votes", "B votes", *(("ties",) if s.ties_allowed else ()), "share A",
                "95 % Wilson", "p (binomial)")
        for col in cols:
            table.add_column(col, justify="right", no_wrap=True)
        for p in s.preferences:
            table.add_row(p.condition_a, p.condition_b, str(p.votes_a), str(p.votes_b),
                          *((str(p.ties),) if s.ties_allowed else ()), _f(p.share_a),
                          f"{_f(p.wilson[0])}–{_f(p.wilson[1])}", f"{p.p_value:.3g}")
        console.print(table)
    else:
        console.print(f"{head}\nno rating left to summarise")
    if s.exclusions:
        table = Table(title=f"excluded ({s.n_outliers} single ratings removed as |z| ≥ 3.29 "
                      "outliers)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("rater", "reason", "detail"):
            table.add_column(col)
        for e in s.exclusions:
            table.add_row(e.rater, e.reason, e.detail)
        console.print(table)
    if s.outliers_applied and s.clips and max(c.n for c in s.clips) < 13:
        console.print("[dim]outlier rule: no clip has the 13 ratings a |z| ≥ 3.29 rating "
                      "needs, so none could be removed.[/]")
    console.print(f"[dim]{s.intervals()}[/]")
