"""``greenvoc survey``: which evaluation measures papers on generative audio report."""

from __future__ import annotations

import argparse

from rich.table import Table

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_json_flag, console, emit_json
from greenvoc.footprint.survey import (
    MEASURES,
    TABLE_PATH,
    energy_studies,
    load_papers,
    measure_shares,
)


def register(subparsers) -> None:
    p = add_command_parser(subparsers, "survey")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    papers = load_papers()
    shares = measure_shares(papers)
    if args.json:
        emit_json({"papers": [p.to_dict() for p in papers], "shares": shares,
                   "n_papers": len(papers), "measures": MEASURES, "table": TABLE_PATH,
                   "energy_studies": [p.to_dict() for p in energy_studies()]})
        return 0
    t = Table(title=f"What {len(papers)} papers on deep generative audio report ({TABLE_PATH})")
    for col in ("measure", "papers", "share", ""):
        t.add_column(col)
    for key, label in MEASURES.items():
        n = sum(key in p.reports for p in papers)
        t.add_row(label, str(n), f"{100 * shares[key]:.0f} %", "█" * round(30 * shares[key]))
    console.print(t)
    checked = sum(p.verified for p in papers)
    console.print(f"{checked} of {len(papers)} rows checked against a stored copy of the paper's "
                  f"text; the others are from the curator's reading (see the notes column). "
                  f"Each row's source is its arXiv page.")
    console.print("Studies that measure the energy of generative audio models (not in the "
                  "shares above):")
    for p in energy_studies():
        console.print(f"  {p.authors} ({p.year}), {p.title}, {p.source}: {p.notes}")
    return 0
