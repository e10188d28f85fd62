"""Where the analysis gets its rows: the results store, or rows handed in (notebooks, tests).

Rows read from the store carry the human ratings of the run's listening tests as the quality
columns ``human_mos`` / ``human_mushra`` (:data:`~greenvoc.analysis.objectives.HUMAN_OBJECTIVES`).
"""

from __future__ import annotations

import argparse
from typing import Any

from greenvoc.analysis.objectives import HUMAN_OBJECTIVES
from greenvoc.errors import GreenvocError, UsageError

_LISTEN_MODULES = ("greenvoc.listen", "greenvoc.listen.human_mos", "greenvoc.listen.storage")


def load_run(url: str | None, run: str = "latest") -> tuple[dict, list[dict]]:
    """Run info and result rows from :func:`greenvoc.store.results.load_result_rows`, with
    the human ratings of the run attached (:func:`with_human_ratings`)."""
    try:
        from greenvoc.store.results import load_result_rows
    except ImportError as e:
        raise GreenvocError(
            "this greenvoc has no results reader (greenvoc.store.results.load_result_rows); "
            "update greenvoc"
        ) from e
    info, rows = load_result_rows(url, run)
    return info, with_human_ratings(url, info.get("run"), rows)


def with_human_ratings(url: str | None, run: int | None, rows: list[dict]) -> list[dict]:
    """``rows`` with ``human_mos`` / ``human_mushra`` from the listening tests built on run
    ``run``; ``rows`` unchanged when there are none or greenvoc has no listening test."""
    # listen is the layer above analysis: this lazy import is the one accepted exception, so
    # that pareto and report can rank on what listeners said.
    try:
        from greenvoc.listen.human_mos import attach_human_mos
        from greenvoc.listen.storage import load_records
    except ModuleNotFoundError as e:
        if e.name not in _LISTEN_MODULES:
            raise  # a broken listen install must say so, not silently drop the ratings
        return rows
    from greenvoc.store.db import ResultStore

    records = load_records(ResultStore(url), run_id=run)
    return attach_human_mos(rows, records) if records else rows


def require_quality(rows: list[dict], quality: str | None, run: object) -> None:
    """:class:`UsageError` when ``quality`` is a human rating that no row of the run has."""
    if quality not in HUMAN_OBJECTIVES or any(r.get(quality) is not None for r in rows):
        return
    test_type = "mushra" if quality == "human_mushra" else "acr"
    raise UsageError(
        f"run {run} has no human ratings for {quality}: build a listening test of this run with "
        f"`greenvoc listen create --from-run {run} --type {test_type} --out study.yaml`, collect "
        "ratings with `greenvoc listen serve study.yaml`, then rank again"
    )


def run_from_args(args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """``args.result`` (``(info, rows)``, injected by callers that already hold the rows) or
    the run ``args.run`` of the database ``args.db``."""
    injected: Any = getattr(args, "result", None)
    if injected is not None:
        info, rows = dict(injected[0]), list(injected[1])
    else:
        info, rows = load_run(getattr(args, "db", None), getattr(args, "run", None) or "latest")
    require_quality(rows, getattr(args, "quality", None), run_id(info, getattr(args, "run", None)))
    return info, rows


def run_id(info: dict, requested: str | None) -> Any:
    """The run's id as the store reports it, else what was asked for."""
    for key in ("run", "id", "run_id"):
        if info.get(key) is not None:
            return info[key]
    return requested or "latest"


def add_run_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", default="latest", metavar="ID|latest",
                        help="which benchmark run (default: latest)")
