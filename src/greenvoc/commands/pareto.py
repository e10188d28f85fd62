"""``greenvoc pareto``: the quality-vs-cost Pareto front of a benchmark run, and every model's
efficiency, rank and bootstrap confidence.

A thin layer over :func:`greenvoc.analysis.analyze`: tables on stderr, or one JSON document on
stdout with ``--json``. Exit 0 when at least one model could be ranked, 1 when none could,
2 for a usage error (unknown metric or cost column: the message lists the valid ones).
"""

from __future__ import annotations

import argparse
import math

from greenvoc.analysis.bootstrap import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED
from greenvoc.analysis.efficiency import EFFICIENCY_FORMULA
from greenvoc.analysis.objectives import COST_OBJECTIVES
from greenvoc.analysis.runs import add_run_flag, run_from_args, run_id
from greenvoc.analysis.study import DEFAULT_COST, DEFAULT_QUALITY, ParetoAnalysis
from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json


def add_analysis_flags(p: argparse.ArgumentParser) -> None:
    """--quality, --cost, --resamples, --seed (shared with ``greenvoc report``)."""
    p.add_argument("--quality", default=DEFAULT_QUALITY, metavar="METRIC",
                   help="quality metric, direction read from its declaration "
                        "(default %(default)s)")
    p.add_argument("--cost", default=DEFAULT_COST, metavar="COLUMN",
                   help=f"cost column (default %(default)s): {', '.join(COST_OBJECTIVES)}")
    p.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, metavar="N",
                   help="bootstrap resamples over utterances (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="bootstrap seed (default %(default)s)")


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "pareto",
        description="Rank the models of a benchmark run on quality vs cost: the Pareto front, "
        f"each model's efficiency ({EFFICIENCY_FORMULA}) and how sure the ranking is "
        "(paired bootstrap over utterances). With --by hardware: one front per hardware "
        "class, and each model's energy and RTF ratio between classes.",
    )
    add_run_flag(p, several=True)
    add_analysis_flags(p)
    p.add_argument("--floor", type=float, default=None,
                   help="quality floor for quality-per-cost (default: the metric's worst value)")
    p.add_argument("--by", choices=("hardware",), default=None,
                   help="one front per hardware class of the run(s), and each model's energy "
                        "and RTF ratio between classes (several --run ids compare runs measured "
                        "on different machines)")
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _pm(mean: float | None, ci: float | None) -> str:
    return f"{_fmt(mean)}±{_fmt(ci, 2)}"


def _ranked_table(a: ParetoAnalysis, run: object, where: str = ""):
    from rich import box
    from rich.table import Table

    q, c = a.quality, a.cost
    table = Table(title=f"run {run}{where}: {q.name} {q.arrow} vs {c.name} [{c.unit}] "
                  f"{c.arrow}, mean ± 95 % CI", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("model/variant", no_wrap=True,
                     min_width=max((len(m.point.label) for m in a.models), default=5))
    table.add_column("status", no_wrap=True)
    for col in ("quality", "cost", "rank", "eff.", "p_front"):
        table.add_column(col, justify="right", no_wrap=True)
    styles = {"front": "bold green", "dominated": "red", "uncertain": "yellow"}
    for m in a.models:
        p = m.point
        table.add_row(p.label, f"[{styles[m.status]}]{m.status}[/]",
                      _pm(p.get(q.name), p.ci95.get(q.name)),
                      _pm(p.get(c.name), p.ci95.get(c.name)), str(m.rank),
                      _fmt(m.efficiency) + ("*" if m.weakly_efficient else ""),
                      _fmt(m.p_front, 2))
    return table


def _print(a: ParetoAnalysis, run: object) -> None:
    from rich import box
    from rich.table import Table

    console.print(_ranked_table(a, run))
    others = a.cost_only + a.unranked
    if others:
        extra = Table(title="not ranked on quality (cost only, or fewer utterances than the "
                      "others: n)", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        extra.add_column("model/variant", no_wrap=True)
        for col in ("weights", "cost ± 95 %", "n", "failed"):
            extra.add_column(col, no_wrap=True)
        for p in others:
            extra.add_row(p.label, "yes" if p.has_weights else "no",
                          _pm(p.get(a.cost.name), p.ci95.get(a.cost.name)), str(p.n),
                          str(p.n_failed))
        console.print(extra)
    labels = {p.energy_label for p in a.points if p.energy_kind != "none"}
    if len(labels) == 1:
        console.print(f"energy: {labels.pop()} for every model")
    else:
        for p in a.points:
            console.print(f"energy of {p.label}: {p.energy_label}")
    if any(m.weakly_efficient for m in a.models):
        console.print("[dim]* weakly efficient: no cheaper model is as good, but one of "
                      "equal cost is better[/]")
    console.print(f"[dim]efficiency: {EFFICIENCY_FORMULA}[/]")
    console.print(f"[dim]status 'dominated': dominated in ≥ {a.level:.0%} of {a.n_resamples} "
                  f"paired bootstrap resamples over utterances (seed {a.seed}); 'uncertain': "
                  f"off the front, not beyond noise. {a.n_failed} of {a.n_rows} rows failed.[/]")
    if a.energy_warning:
        console.print(f"[yellow]warning:[/] {a.energy_warning}")


def run(args: argparse.Namespace) -> int:
    from greenvoc.analysis.objectives import get_objective
    from greenvoc.analysis.study import analyze

    get_objective(args.quality, "quality")  # usage errors before the database is opened
    get_objective(args.cost, "cost")
    if getattr(args, "by", None) == "hardware":
        return _run_by_hardware(args)
    info, rows = run_from_args(args)
    a = analyze(rows, args.quality, args.cost, n_resamples=args.resamples, seed=args.seed,
                level=getattr(args, "level", DEFAULT_LEVEL), floor=getattr(args, "floor", None))
    rid = run_id(info, getattr(args, "run", None))
    if args.json:
        emit_json({**a.to_dict(), "run": rid})
    else:
        _print(a, rid)
    return 0 if a.models else 1


def _ratio_cell(r) -> str:
    return "—" if r is None else f"{_fmt(r.ratio)} [{_fmt(r.ci95[0])}–{_fmt(r.ci95[1])}]"


def _ratio_table(cmp, numerator: str, denominator: str):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("model/variant", cmp.energy_column, "rtf", "resampled", "energy basis"):
        table.add_column(col, no_wrap=True)
    for r in cmp.ratios:
        if (r.numerator, r.denominator) == (numerator, denominator):
            table.add_row(r.label, _ratio_cell(r.energy), _ratio_cell(r.get("rtf")),
                          f"paired, n={r.energy.n_utterances}" if r.energy.paired
                          else "unpaired", r.basis)
    return table


def _print_by_hardware(cmp) -> None:
    for k in cmp.classes:
        runs = ",".join(map(str, k.runs))
        hosts = f", hosts {', '.join(k.hostnames)}" if k.hostnames else ""
        console.print(_ranked_table(k.analysis, runs, f" on {k.label}"))
        console.print(f"energy on {k.label}: {k.energy_label} ({k.analysis.n_rows} rows{hosts})")
    if len(cmp.classes) < 2:
        console.print("one hardware class: nothing to compare across hardware")
        return
    pairs = list(dict.fromkeys((r.numerator, r.denominator) for r in cmp.ratios))
    for numerator, denominator in pairs:
        console.print(f"{numerator} ÷ {denominator}: ratio of means [95 % bootstrap CI]",
                      soft_wrap=True, markup=False, highlight=False, style="italic")
        console.print(_ratio_table(cmp, numerator, denominator))
    if not pairs:
        console.print("no model/variant was measured on two hardware classes")
    console.print(f"[dim]ratios: {cmp.n_resamples} bootstrap resamples (seed {cmp.seed}), "
                  "paired over the utterances both classes measured when there are >= 2[/]")
    if cmp.energy_warning:
        console.print(f"[yellow]warning:[/] {cmp.energy_warning}")


def _run_by_hardware(args: argparse.Namespace) -> int:
    from greenvoc.analysis.by_hardware import compare_hardware
    from greenvoc.analysis.runs import runs_from_args

    cmp = compare_hardware(runs_from_args(args), args.quality, args.cost,
                           n_resamples=args.resamples, seed=args.seed,
                           level=getattr(args, "level", DEFAULT_LEVEL),
                           floor=getattr(args, "floor", None))
    if args.json:
        emit_json(cmp.to_dict())
    else:
        _print_by_hardware(cmp)
    return 0 if any(k.analysis.models for k in cmp.classes) else 1
