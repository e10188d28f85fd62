"""``greenvoc demo``: the main job on the built-in default (``make demo`` runs it).

bench on the default corpus with the default zoo → report → the Pareto front. ``--meter-only``
runs the energy meter alone on a vocoder-shaped PyTorch workload.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.commands.measure import add_meter_flags
from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.meter import EnergyMeter
from greenvoc.energy.table import measurement_table, windows_table


def register(subparsers) -> None:
    p = add_command_parser(subparsers, "demo")
    add_meter_flags(p)
    add_json_flag(p)
    add_db_flag(p)
    p.add_argument("--out", default="greenvoc-results", help="folder for audio and the report")
    p.add_argument("--models", help="override the demo's model list (comma-separated)")
    p.add_argument("--limit", type=int, help="at most N utterances of the default corpus")
    p.add_argument("--metrics", help="quality metrics (default: the full suite)")
    p.add_argument("--meter-only", action="store_true",
                   help="only meter a PyTorch conv workload (idle, 1 thread, all threads)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.meter_only:
        return _meter_only(args)
    from greenvoc.analysis.study import analyze
    from greenvoc.bench import plan, run_bench
    from greenvoc.commands.pareto import _print
    from greenvoc.demo import demo_models
    from greenvoc.store import ResultStore
    from greenvoc.store.results import load_result_rows

    t0 = time.monotonic()
    carbon = resolve_carbon_settings(args.country, args.pue)
    store = ResultStore(args.db)
    models = args.models or ",".join(demo_models())
    p = plan(models, "fp32", "default", args.limit, args.metrics, cost_only_limit=1,
             cost_only_max_s=1.0)
    console.print(f"[bold]greenvoc demo[/]: {len(p.items)} models × {len(p.corpus)} "
                  f"utterances of the default corpus ({p.corpus.total_duration_s:.1f} s); "
                  "models without weights are measured for cost on 1 s of 1 utterance")
    summary = run_bench(p, store, Path(args.out) / "audio", progress=not args.json,
                        console=console)
    info, rows = load_result_rows(store.url, summary.run_id)
    from greenvoc.analysis.report import render_report
    from greenvoc.commands.report import context_sections

    out = Path(args.out) / "report"
    report = render_report(info, rows, out, country=carbon.intensity.code, pue=carbon.pue,
                           extra_sections=context_sections(store.url, out, carbon.intensity.code,
                                                           carbon.pue))
    analysis = analyze(rows)
    wall_s = time.monotonic() - t0
    if args.json:
        emit_json({"run": summary.run_id, "report": str(report.html), "wall_s": wall_s,
                   "bench": summary.__dict__, **analysis.to_dict()})
        return 0
    _print(analysis, summary.run_id)
    console.print(f"report: [bold]{report.html}[/] ({len(report.figures)} figures); "
                  f"run {summary.run_id} in {store.display_url}; demo took {wall_s:.0f} s "
                  f"({summary.synthesis_s:.0f} s of synthesis)")
    return 0


def _meter_only(args: argparse.Namespace) -> int:
    from greenvoc.demo import ConvWorkload, run_demo

    carbon = resolve_carbon_settings(args.country, args.pue)
    workload = ConvWorkload()
    meter = EnergyMeter(mode=args.mode, interval_s=args.interval_s, cpu_tdp_w=args.cpu_tdp_w)
    with console.status("metering: idle, then a conv stack at 1 and all threads…"), meter:
        windows = run_demo(meter, workload)
    if args.json:
        emit_json({"windows": [m.to_dict() | {"carbon_g": carbon.carbon_g(m.energy_j)}
                               for m in windows],
                   "total": meter.measurement.to_dict(), "country": carbon.intensity.code,
                   "pue": carbon.pue, "notes": meter.notes})
        return 0
    console.print(measurement_table(meter.measurement, carbon))
    console.print(windows_table(windows, carbon))
    macs = workload.macs_per_iteration * workload.iterations
    for m in windows[1:]:
        console.print(f"{m.name}: {macs / m.duration_s / 1e9:.1f} GMAC/s, "
                      f"{m.energy_j / macs * 1e12:.1f} pJ per MAC")
    for note in meter.notes:
        console.print(f"[yellow]note:[/] {note}")
    return 0
