"""Human ratings as result-row columns: ``human_mos`` (P.808 ACR) and ``human_mushra`` (BS.1534).

The analysis ranks models on any quality column of the result rows; this module adds two, so that
``greenvoc pareto --quality human_mos`` ranks models on what listeners said. Each study's ACR and
MUSHRA records are screened (:func:`greenvoc.listen.screening.screen`), then every row gets the
mean kept rating of its (model, variant, utterance), or None where nobody rated it. Reference and
anchor conditions carry no model and attach to no row.

Layering: listen sits above analysis, but this module needs nothing from it (rows are plain dicts),
so it imports no analysis code; :func:`greenvoc.analysis.runs.load_run` imports *it* lazily.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

from greenvoc.listen.records import RatingRecord
from greenvoc.listen.screening import screen

#: Result-row column ← test type whose screened ratings it averages.
COLUMNS = {"human_mos": "acr", "human_mushra": "mushra"}

_Key = tuple[str, str, str]


def _kept(records: Iterable[RatingRecord], test_type: str) -> list[RatingRecord]:
    """Screened ratings of ``test_type``, each study screened on its own."""
    by_study: dict[str, list[RatingRecord]] = defaultdict(list)
    for r in records:
        if r.test_type == test_type:
            by_study[r.study].append(r)
    return [r for study in sorted(by_study) for r in screen(by_study[study], test_type).kept]


def _scores(records: Iterable[RatingRecord]) -> dict[_Key, list[tuple[int | None, float]]]:
    out: dict[_Key, list[tuple[int | None, float]]] = defaultdict(list)
    for r in records:
        if r.model is not None:
            out[(r.model, r.variant or "", r.utterance)].append((r.run_id, r.score))
    return out


def _mean_for(row: Mapping, scores: Mapping[_Key, list[tuple[int | None, float]]]
              ) -> float | None:
    key = (str(row.get("model")), str(row.get("variant") or ""), str(row.get("utterance")))
    run = row.get("run")
    # a record of another run rated other audio; a record with no run id matches any run
    xs = [s for rid, s in scores.get(key, ()) if rid is None or run is None or rid == run]
    return math.fsum(xs) / len(xs) if xs else None


def attach_human_mos(rows: list[dict], records: list[RatingRecord]) -> list[dict]:
    """Copies of ``rows`` with ``human_mos`` and ``human_mushra`` set (None where unrated).

    rows: result rows with ``model``, ``variant``, ``utterance`` (and ``run``, matched against
    each record's ``run_id`` when both are set). records: ratings of any studies and types.
    """
    scores = {col: _scores(_kept(records, tt)) for col, tt in COLUMNS.items()}
    return [{**row, **{col: _mean_for(row, s) for col, s in scores.items()}} for row in rows]
