"""Who rated what: the listening tests behind a human-rating quality (``human_mos``,
``human_mushra``), for the report.

A human MOS means little without its study, its raters and how many ratings each condition got
(a point's ``n`` counts clips, not ratings). :func:`study_summaries` screens each study's
records with the listening test's own rules (:func:`greenvoc.listen.screening.screen`, the same
screening :func:`greenvoc.listen.human_mos.attach_human_mos` averages) and counts what is kept.
listen is the layer above analysis: it is imported lazily, as in :mod:`greenvoc.analysis.runs`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from greenvoc.analysis import html as h

#: Quality column → the test type whose ratings it averages.
TEST_TYPES = {"human_mos": "acr", "human_mushra": "mushra"}
_NAMES = {"acr": "ACR (ITU-T P.808)", "mushra": "MUSHRA (ITU-R BS.1534)"}


@dataclass(frozen=True)
class ConditionCount:
    """condition: ``model/variant``, ``reference`` or an anchor. ratings: kept ratings;
    clips: distinct utterances rated; raters: distinct kept raters; mean: of kept ratings."""

    condition: str
    ratings: int
    clips: int
    raters: int
    mean: float


@dataclass(frozen=True)
class StudySummary:
    """One study as screened: raters kept and excluded (with each rule's count), ratings."""

    study: str
    test_type: str
    raters_kept: tuple[str, ...]
    raters_excluded: tuple[str, ...]
    exclusion_reasons: tuple[tuple[str, int], ...]
    n_outliers: int
    conditions: tuple[ConditionCount, ...]

    @property
    def n_ratings(self) -> int:
        return sum(c.ratings for c in self.conditions)

    def sentence(self) -> str:
        kept, out = len(self.raters_kept), len(self.raters_excluded)
        why = ", ".join(f"{reason} {n}" for reason, n in self.exclusion_reasons)
        return (f"Study {self.study} ({_NAMES.get(self.test_type, self.test_type)}): "
                f"{kept + out} raters, {kept} kept, {out} excluded"
                + (f" ({why})" if why else "") + f"; {self.n_ratings} ratings kept"
                + (f" after removing {self.n_outliers} outlier ratings" if self.n_outliers
                   else "") + f" over {len(self.conditions)} conditions.")


def study_summaries(records: Iterable, test_type: str) -> list[StudySummary]:
    """One summary per study of ``records`` (listen ``RatingRecord``) of ``test_type``."""
    from greenvoc.listen.screening import screen

    by_study: dict[str, list] = defaultdict(list)
    for r in records:
        if r.test_type == test_type:
            by_study[r.study].append(r)
    out = []
    for study in sorted(by_study):
        s = screen(by_study[study], test_type)
        reasons = Counter(e.reason for e in s.exclusions if e.rater in s.raters_excluded)
        groups: dict[str, list] = defaultdict(list)
        for r in s.kept:
            groups[r.condition].append(r)
        conditions = tuple(
            ConditionCount(cond, len(rs), len({r.utterance for r in rs}),
                           len({r.rater for r in rs}), sum(r.score for r in rs) / len(rs))
            for cond, rs in sorted(groups.items()))
        out.append(StudySummary(study, test_type, s.raters_kept, s.raters_excluded,
                                tuple(sorted(reasons.items())), s.n_outliers, conditions))
    return out


def load_study_summaries(url: str | None, run: int | None, quality: str) -> list[StudySummary]:
    """The summaries of the listening tests built on run ``run`` for ``quality``; empty when
    the quality is not a human rating or greenvoc has no listening test."""
    if quality not in TEST_TYPES:
        return []
    try:
        from greenvoc.listen.storage import load_records
    except ModuleNotFoundError:
        return []
    from greenvoc.store.db import ResultStore

    return study_summaries(load_records(ResultStore(url), run_id=run), TEST_TYPES[quality])


def human_section(quality: str, studies: Sequence[StudySummary]) -> str:
    """HTML: every study named, its raters kept/excluded, ratings per condition."""
    parts = [h.text("h2", f"Listening tests behind {quality}")]
    if not studies:
        parts.append(h.warning(f"{quality} is a human rating, but no study of this run was "
                               "found to name: its raters and ratings cannot be shown."))
        return "".join(parts)
    for s in studies:
        parts.append(h.text("p", s.sentence()))
        parts.append(h.table(["condition", "ratings kept", "clips", "raters", "mean"],
                             [[c.condition, c.ratings, c.clips, c.raters, c.mean]
                              for c in s.conditions]))
    parts.append(h.text("p", "A model's n in the tables above counts the clips it was rated "
                             "on; its quality is the mean over clips of each clip's mean kept "
                             "rating."))
    return "".join(parts)
