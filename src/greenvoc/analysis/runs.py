"""Where the analysis gets its rows: the results store, or rows handed in (notebooks, tests)."""

from __future__ import annotations

import argparse
from typing import Any

from greenvoc.errors import GreenvocError


def load_run(url: str | None, run: str = "latest") -> tuple[dict, list[dict]]:
    """Run info and result rows from :func:`greenvoc.store.results.load_result_rows`."""
    try:
        from greenvoc.store.results import load_result_rows
    except ImportError as e:
        raise GreenvocError(
            "this greenvoc has no results reader (greenvoc.store.results.load_result_rows); "
            "update greenvoc"
        ) from e
    return load_result_rows(url, run)


def run_from_args(args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """``args.result`` (``(info, rows)``, injected by callers that already hold the rows) or
    the run ``args.run`` of the database ``args.db``."""
    injected: Any = getattr(args, "result", None)
    if injected is not None:
        info, rows = injected
        return dict(info), list(rows)
    return load_run(getattr(args, "db", None), getattr(args, "run", None) or "latest")


def run_id(info: dict, requested: str | None) -> Any:
    """The run's id as the store reports it, else what was asked for."""
    for key in ("run", "id", "run_id"):
        if info.get(key) is not None:
            return info[key]
    return requested or "latest"


def add_run_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", default="latest", metavar="ID|latest",
                        help="which benchmark run (default: latest)")
