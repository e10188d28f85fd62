"""``greenvoc report``: a self-contained HTML report of a benchmark run that opens with the
decision (the cheapest model meeting each quality level, ``--quality-floor`` and
``--budget-j-per-s``), with interactive charts, a leaderboard, PNG plots and a CSV, a projection
of the energy and carbon of synthesising 1,000 hours of speech, and the paper table on request
(``--latex``, ``--markdown``).

A thin layer over :func:`greenvoc.analysis.report.render_report`, to which it adds the
sections of the layers above the analysis: the training runs of the same database, the
footprint of published models and the literature survey (``--no-context`` leaves the last two
out). Exit 0 when the report was written, 2 for a usage error (unknown metric, country
code, PUE < 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from greenvoc.analysis.runs import add_run_flag, runs_from_args
from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.commands.pareto import add_analysis_flags

DEFAULT_OUT = "greenvoc-results/report"


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "report",
        description="Write report.html (self-contained), PNG plots and models.csv for one "
        "benchmark run; with several runs (--run 3,5: the same models measured on different "
        "machines) the first is reported and the section 'Across hardware' compares them all.",
    )
    add_run_flag(p, several=True)
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help="output folder (default %(default)s)")
    p.add_argument("--country", default=None, metavar="CC",
                   help="ISO country code for the grid's carbon intensity (default: "
                        "GREENVOC_COUNTRY, config file, else world average)")
    p.add_argument("--pue", type=float, default=None, metavar="P",
                   help="data-centre PUE >= 1.0 (default: GREENVOC_PUE, config file, else 1.0)")
    p.add_argument("--no-context", action="store_true",
                   help="leave out the published-model footprints and the literature survey")
    p.add_argument("--quality-floor", type=float, action="append", default=[], metavar="Q",
                   help="a quality you require (in the metric's unit, e.g. 3.5 MOS): the "
                        "decision table names the cheapest model meeting it (repeatable)")
    p.add_argument("--budget-j-per-s", type=float, action="append", default=[], metavar="J",
                   help="an energy budget in J per audio second: the decision table names the "
                        "best-quality model within it (repeatable)")
    p.add_argument("--latex", default=None, metavar="FILE",
                   help="also write the paper table (quality ± CI, energy per audio second, "
                        "RTF, parameters, size, hardware) as a LaTeX table")
    p.add_argument("--markdown", default=None, metavar="FILE",
                   help="also write the paper table as a Markdown table")
    add_analysis_flags(p)
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def context_sections(db_url: str | None, out_dir: str | Path, country: str | None = None,
                     pue: float | None = None, *, training: bool = True,
                     published: bool = True) -> list[str]:
    """HTML sections from training, footprint and survey, in the report's reading order.

    training: add the training runs of ``db_url`` (if it holds any); published: add the
    published-model footprints and the literature survey."""
    sections = []
    if training:
        from greenvoc.store.db import ResultStore
        from greenvoc.train.report import training_section_html

        html = training_section_html(ResultStore(db_url), Path(out_dir))
        if html:
            sections.append(html)
    if published:
        from greenvoc.footprint.report import published_section_html, survey_section_html

        sections.append(published_section_html(country, pue))
        sections.append(survey_section_html(Path(out_dir)))
    return sections


def _check_budgets(args: argparse.Namespace) -> None:
    """Usage errors for a budget that no energy cost column can meet, before any work."""
    from greenvoc.analysis.decision import ENERGY_RATE_COLUMNS
    from greenvoc.errors import UsageError

    for b in args.budget_j_per_s:
        if not b > 0:
            raise UsageError(f"--budget-j-per-s must be > 0 J per audio second, got {b:g}")
    if args.budget_j_per_s and args.cost not in ENERGY_RATE_COLUMNS:
        raise UsageError(f"--budget-j-per-s is a budget of energy per audio second, but --cost "
                         f"is {args.cost}: use --cost {ENERGY_RATE_COLUMNS[0]}")


def run(args: argparse.Namespace) -> int:
    from greenvoc.analysis.objectives import get_objective
    from greenvoc.analysis.report import render_report
    from greenvoc.energy.carbon import resolve_carbon_settings

    get_objective(args.quality, "quality")  # usage errors before the database is opened
    get_objective(args.cost, "cost")
    resolve_carbon_settings(args.country, args.pue)
    _check_budgets(args)
    runs = runs_from_args(args)
    info, rows = runs[0]
    studies = None
    if getattr(args, "result", None) is None:
        from greenvoc.analysis.human import load_study_summaries

        studies = load_study_summaries(args.db, info.get("run"), args.quality)
    if not args.json:
        console.print(f"[dim]rendering the report of {len(rows)} result rows…[/]")
    report = render_report(info, rows, args.out, country=args.country, pue=args.pue, runs=runs,
                           quality=args.quality, cost=args.cost, n_resamples=args.resamples,
                           seed=args.seed, floors=args.quality_floor,
                           budgets_j_per_s=args.budget_j_per_s, human_studies=studies,
                           latex=args.latex, markdown=args.markdown,
                           extra_sections=context_sections(
                               args.db, args.out, args.country, args.pue,
                               # rows handed in (notebooks): there is no database to read
                               training=getattr(args, "result", None) is None,
                               published=not args.no_context))
    if args.json:
        emit_json({"html": str(report.html), "figures": [str(p) for p in report.figures],
                   "csv": str(report.csv), "n_models": len(report.analysis.points),
                   "runs": [i.get("run") for i, _ in runs],
                   "hardware_classes": report.hardware_classes,
                   "decisions": [d.to_dict() for d in report.decisions],
                   "tables": [str(p) for p in report.tables],
                   "energy_warning": report.analysis.energy_warning})
    else:
        for d in report.decisions:
            pick = d.pick.point.label if d.pick else "none"
            console.print(f"{d.requirement}: [bold]{pick}[/] — {d.certainty}", soft_wrap=True)
        console.print(f"report: {report.html}")
        for path in report.tables:
            console.print(f"  table: {path}")
        for path in report.figures:
            console.print(f"  figure: {path}")
        if report.analysis.energy_warning:
            console.print(f"[yellow]warning:[/] {report.analysis.energy_warning}")
    return 0
