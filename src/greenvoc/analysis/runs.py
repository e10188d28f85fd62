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
    spec = getattr(args, "run", None)
    n = (len(injected) if isinstance(injected, list) else 1) if injected is not None \
        else len(parse_runs(spec))
    if n > 1:
        raise UsageError(
            f"--run {spec} names {n} runs; this command ranks one run. Compare runs measured on "
            f"different machines with `greenvoc pareto --by hardware --run {spec}`"
        )
    return runs_from_args(args)[0]


def parse_runs(spec: str | None) -> list[str]:
    """``"3,5"`` → ``["3", "5"]``; ``None``/empty → ``["latest"]``. :class:`UsageError` for a
    run named twice."""
    names = [s.strip() for s in (spec or "latest").split(",") if s.strip()] or ["latest"]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"--run names run {', '.join(repeated)} twice; give each run once")
    return names


def runs_from_args(args: argparse.Namespace) -> list[tuple[dict, list[dict]]]:
    """``args.result`` (``(info, rows)`` or a list of them, injected by callers that already
    hold the rows) or the runs ``args.run`` (``ID``, ``latest`` or ``ID,ID,...``) of the
    database ``args.db``; several runs must be comparable (:func:`check_comparable`)."""
    injected: Any = getattr(args, "result", None)
    if injected is not None:
        pairs = injected if isinstance(injected, list) else [injected]
        runs = [(dict(info), list(rows)) for info, rows in pairs]
    else:
        url = getattr(args, "db", None)
        runs = [load_run(url, name) for name in parse_runs(getattr(args, "run", None))]
    check_comparable([info for info, _ in runs])
    rows = [r for _, run_rows in runs for r in run_rows]
    ids = ",".join(str(run_id(info, getattr(args, "run", None))) for info, _ in runs)
    require_quality(rows, getattr(args, "quality", None), ids)
    return runs


def comparable_fields(config: dict | None, by_selection: bool = True) -> dict[str, Any]:
    """What must agree between runs compared side by side: the utterances synthesised and the
    quality metrics. by_selection: identify the utterances by the recorded corpus selection
    (name and id fingerprint: the same corpus at another path on another machine agrees),
    else by the ``corpus`` argument."""
    config = config or {}
    selection = config.get("corpus_selection") or {}
    if by_selection and selection.get("fingerprint"):
        corpus = {"corpus_selection.name": selection.get("name"),
                  "corpus_selection.fingerprint": selection["fingerprint"]}
    else:
        corpus = {"corpus": config.get("corpus")}
    return corpus | {"metrics": sorted(config.get("metrics") or [])}


def check_comparable(infos: list[dict]) -> None:
    """:class:`UsageError` naming the differing fields when runs synthesised other utterances
    or scored other metrics than the first one."""
    configs = [info.get("config") or {} for info in infos]
    by_selection = all((c.get("corpus_selection") or {}).get("fingerprint") for c in configs)
    fields = [comparable_fields(c, by_selection) for c in configs]
    for info, other in zip(infos[1:], fields[1:], strict=True):
        diff = [k for k in fields[0] if fields[0][k] != other[k]]
        if diff:
            a, b = run_id(infos[0], None), run_id(info, None)
            what = "; ".join(f"{k} (run {a}: {fields[0][k]!r}, run {b}: {other[k]!r})"
                             for k in diff)
            raise UsageError(
                f"runs {a} and {b} cannot be compared: their configurations differ in {what}. "
                "Bench every machine with the same --corpus selection (same utterances) and the "
                "same --metrics, then compare those runs"
            )


def run_id(info: dict, requested: str | None) -> Any:
    """The run's id as the store reports it, else what was asked for."""
    for key in ("run", "id", "run_id"):
        if info.get(key) is not None:
            return info[key]
    return requested or "latest"


def add_run_flag(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """--run; ``several``: the command also takes comma-separated ids (runs to compare)."""
    parser.add_argument(
        "--run", default="latest", metavar="ID[,ID...]" if several else "ID|latest",
        help="which benchmark run (default: latest)" + (
            "; several, comma-separated (e.g. 3,5), to compare runs measured on different "
            "machines" if several else ""))
