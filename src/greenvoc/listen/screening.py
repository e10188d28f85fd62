"""Who and what a listening test keeps: ITU-T P.808 (ACR) and ITU-R BS.1534 (MUSHRA) screening.

Every rule is a pure function of a list of :class:`RatingRecord` returning ``(kept records,
exclusions)``; :func:`screen` applies the rules of one test type. Rater rules (gold, trap, zero
variance, hidden reference) are each evaluated on the same training-free records and their
exclusions united, so a rater failing two rules is listed twice and the result does not depend on
the order the rules run in; the per-rating outlier rule then runs on the raters that are left.

Rules (P.808: ITU-T Rec. P.808 and its reference toolkit; MUSHRA: ITU-R BS.1534-3 §4.1.2):

* ``training``: training clips are never counted (not an exclusion: they were never data).
* ``gold``: a gold clip (the clean reference, expected 5) answered more than ±1 away.
* ``trap``: a trapping clip not answered with the score its instruction asked for.
* ``zero_variance``: one identical score over all of a rater's ≥ 4 ratings (ACR).
* ``outlier``: one rating with |z| ≥ 3.29 against its clip's mean and sample sd (ACR; optional).
  With a sample sd a single rating can reach |z| = (n − 1)/√n at most, so a clip needs ≥ 13
  ratings before this rule can remove anything.
* ``hidden_reference``: the hidden reference rated below 90 on more than 15 % of a rater's
  MUSHRA items.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from greenvoc.listen.records import REFERENCE, RatingRecord

GOLD_TOLERANCE = 1.0
#: P.808's gold clip is the clean reference: expected 5 when a record carries no ``expected``.
GOLD_EXPECTED = 5.0
ZERO_VARIANCE_MIN_RATINGS = 4
OUTLIER_Z = 3.29
MUSHRA_REFERENCE_MIN = 90.0
MUSHRA_MAX_MISSED_SHARE = 0.15

Records = list[RatingRecord]


@dataclass(frozen=True)
class Exclusion:
    """rater: rater id. reason: the rule's name (see the module docstring). detail: what the
    rater did, in words (the clip, the answer, the expected answer)."""

    rater: str
    reason: str
    detail: str

    def to_dict(self) -> dict:
        return {"rater": self.rater, "reason": self.reason, "detail": self.detail}


def _fmt(x: float) -> str:
    return f"{x:g}"


def drop_training(records: Iterable[RatingRecord]) -> Records:
    """Every record but the training clips."""
    return [r for r in records if r.kind != "training"]


def _without(records: Iterable[RatingRecord], raters: set[str]) -> Records:
    return [r for r in records if r.rater not in raters]


def _first_per_rater(failures: Iterable[tuple[str, str]], reason: str) -> list[Exclusion]:
    """One exclusion per rater (its first failure, by sorted detail), raters in sorted order."""
    by_rater: dict[str, list[str]] = defaultdict(list)
    for rater, detail in failures:
        by_rater[rater].append(detail)
    out = []
    for rater in sorted(by_rater):
        details = sorted(by_rater[rater])
        more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
        out.append(Exclusion(rater, reason, details[0] + more))
    return out


def gold_failures(records: Sequence[RatingRecord], tolerance: float = GOLD_TOLERANCE
                  ) -> tuple[Records, list[Exclusion]]:
    """Exclude raters who answered a gold clip more than ``tolerance`` from its expected score."""
    failures = []
    for r in records:
        if r.kind != "gold":
            continue
        expected = GOLD_EXPECTED if r.expected is None else r.expected
        if abs(r.score - expected) > tolerance:
            failures.append((r.rater, f"gold clip {r.item} rated {_fmt(r.score)}, expected "
                                      f"{_fmt(expected)} ± {_fmt(tolerance)}"))
    out = _first_per_rater(failures, "gold")
    return _without(records, {e.rater for e in out}), out


def trap_failures(records: Sequence[RatingRecord]) -> tuple[Records, list[Exclusion]]:
    """Exclude raters who did not give a trapping clip the score it asked for."""
    failures = [
        (r.rater, f"trapping clip {r.item} asked for {_fmt(r.expected)}, rated {_fmt(r.score)}")
        for r in records
        if r.kind == "trap" and r.expected is not None and r.score != r.expected
    ]
    out = _first_per_rater(failures, "trap")
    return _without(records, {e.rater for e in out}), out


def zero_variance_raters(records: Sequence[RatingRecord],
                         min_ratings: int = ZERO_VARIANCE_MIN_RATINGS
                         ) -> tuple[Records, list[Exclusion]]:
    """Exclude raters whose ≥ ``min_ratings`` ratings (kind ``rating``) are all one score."""
    scores: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.kind == "rating":
            scores[r.rater].append(r.score)
    out = [
        Exclusion(rater, "zero_variance", f"all {len(s)} ratings were {_fmt(s[0])}")
        for rater, s in sorted(scores.items())
        if len(s) >= min_ratings and len(set(s)) == 1
    ]
    return _without(records, {e.rater for e in out}), out


def mushra_hidden_reference(records: Sequence[RatingRecord],
                            minimum: float = MUSHRA_REFERENCE_MIN,
                            max_share: float = MUSHRA_MAX_MISSED_SHARE
                            ) -> tuple[Records, list[Exclusion]]:
    """BS.1534-3 post-screening: exclude raters who rated the hidden reference below
    ``minimum`` on more than ``max_share`` of their items."""
    refs: dict[str, dict[str, float]] = defaultdict(dict)
    for r in records:
        if r.kind == "rating" and r.condition == REFERENCE:
            # a page rated twice: the lower reference score counts
            refs[r.rater][r.item] = min(r.score, refs[r.rater].get(r.item, math.inf))
    out = []
    for rater, items in sorted(refs.items()):
        missed = sorted(i for i, s in items.items() if s < minimum)
        if len(missed) > max_share * len(items):
            out.append(Exclusion(
                rater, "hidden_reference",
                f"hidden reference below {_fmt(minimum)} on {len(missed)} of {len(items)} "
                f"items ({len(missed) / len(items):.0%} > {max_share:.0%}): "
                + ", ".join(missed)))
    return _without(records, {e.rater for e in out}), out


def z_outliers(records: Sequence[RatingRecord], threshold: float = OUTLIER_Z
               ) -> tuple[Records, list[Exclusion]]:
    """Remove single ratings with |z| ≥ ``threshold``, z against the mean and sample sd of the
    ratings of the same clip (item and condition). The rater's other ratings are kept."""
    clips: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if r.kind == "rating":
            clips[(r.item, r.condition)].append(r.score)
    moments = {}
    for key, s in clips.items():
        if len(s) >= 2:
            mean = math.fsum(s) / len(s)
            sd = math.sqrt(math.fsum((x - mean) ** 2 for x in s) / (len(s) - 1))
            if sd > 0:
                moments[key] = (mean, sd)
    kept, out = [], []
    for r in records:
        m = moments.get((r.item, r.condition)) if r.kind == "rating" else None
        z = (r.score - m[0]) / m[1] if m else 0.0
        if abs(z) >= threshold:
            out.append(Exclusion(r.rater, "outlier",
                                 f"clip {r.item} ({r.condition}) rated {_fmt(r.score)} vs mean "
                                 f"{m[0]:.2f}, sd {m[1]:.2f}: z = {z:.2f}"))
        else:
            kept.append(r)
    out.sort(key=lambda e: (e.rater, e.detail))
    return kept, out


Rule = Callable[[Sequence[RatingRecord]], tuple[Records, list[Exclusion]]]

#: Rater-level rules of each test type (the gold/trap rules act only on gold/trap records).
RATER_RULES: dict[str, tuple[Rule, ...]] = {
    "acr": (gold_failures, trap_failures, zero_variance_raters),
    "mushra": (gold_failures, trap_failures, mushra_hidden_reference),
    "ab": (gold_failures, trap_failures),
}


@dataclass(frozen=True)
class Screening:
    """kept: the counted records (kind ``rating`` only) of kept raters, outliers removed.
    raters_kept / raters_excluded: sorted ids. exclusions: every rater rule failed and every
    rating removed, with its reason. n_outliers: ratings removed by the z rule."""

    kept: tuple[RatingRecord, ...]
    raters_kept: tuple[str, ...]
    raters_excluded: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]
    n_outliers: int


def screen(records: Iterable[RatingRecord], test_type: str, *, outliers: bool = True
           ) -> Screening:
    """Apply the rules of ``test_type`` (``acr``, ``mushra`` or ``ab``; see the module
    docstring). ``outliers``: run the optional |z| ≥ 3.29 rule (ACR only)."""
    base = drop_training(records)
    exclusions: list[Exclusion] = []
    for rule in RATER_RULES[test_type]:
        exclusions += rule(base)[1]
    excluded = {e.rater for e in exclusions}
    kept = [r for r in _without(base, excluded) if r.kind == "rating"]
    n_outliers = 0
    if outliers and test_type == "acr":
        kept, removed = z_outliers(kept)
        exclusions += removed
        n_outliers = len(removed)
    raters = {r.rater for r in base}
    return Screening(tuple(kept), tuple(sorted(raters - excluded)), tuple(sorted(excluded)),
                     tuple(exclusions), n_outliers)
