"""``greenvoc bench``: the resumable sweep; ``greenvoc results``: its rows, as JSON/CSV/Parquet."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys

from rich.table import Table

from greenvoc.bench import plan as make_plan
from greenvoc.bench import run_bench
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.errors import UsageError
from greenvoc.store import ResultStore
from greenvoc.store.results import BASE_COLUMNS, load_result_rows


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="copy-synthesis sweep: energy, speed, memory, size and quality per model")
    p.add_argument("--models", default="hifigan-v1-lj,griffin-lim",
                   help="comma-separated names or 'all' (see `greenvoc zoo list`)")
    p.add_argument("--variants", default="fp32",
                   help="comma-separated variants: fp32, int8-dynamic, int8-static, "
                   "int8-mixed, int8-weight-only, int4-weight-only, bf16, fp16, onnx-fp32, "
                   "onnx-int8, onnx-int8-conv (see `greenvoc quantize --help`)")
    p.add_argument("--corpus", default="default", help="default, a folder, or FORMAT:PATH")
    p.add_argument("--limit", type=int, help="at most N utterances (sorted by id)")
    p.add_argument("--cost-only-limit", type=int, default=2,
                   help="utterances for models without weights (cost only; default 2)")
    p.add_argument("--cost-only-max-s", type=float, metavar="S",
                   help="cut utterances of models without weights to their first S seconds")
    p.add_argument("--metrics",
                   help="comma-separated quality metrics (default: all; 'none' for cost only)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, help="torch intra-op threads")
    p.add_argument("--repeat", type=int, default=1,
                   help="syntheses per utterance (averaged); on CUDA at least as many as "
                        "fill a 1 s window, after one unmetered call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="greenvoc-results/audio", help="where audio is written")
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)

    r = subparsers.add_parser("results", help="every result row of a run")
    r.add_argument("--run", default="latest", help="run id or 'latest'")
    add_db_flag(r)
    add_json_flag(r)
    r.add_argument("--csv", metavar="PATH", help="write the rows as CSV ('-' for stdout)")
    r.add_argument("--parquet", metavar="PATH", help="write the rows as Parquet (needs pandas)")
    r.set_defaults(func=run_results)


def run(args: argparse.Namespace) -> int:
    plan = make_plan(args.models, args.variants, args.corpus, args.limit, args.metrics,
                     cost_only_limit=args.cost_only_limit,
                     cost_only_max_s=args.cost_only_max_s, device=args.device,
                     threads=args.threads, repeat=args.repeat, seed=args.seed)
    store = ResultStore(args.db)
    table = Table(title=f"plan: {plan.n_rows} rows on {len(plan.corpus)} utterances "
                        f"({plan.corpus.name})")
    for col in ("model", "variant", "utterances", "weights"):
        table.add_column(col)
    for item in plan.items:
        table.add_row(item.model, item.variant, str(len(item.utterances)),
                      "yes" if item.has_weights else "no: cost only")
    console.print(table)
    summary = run_bench(plan, store, args.out, progress=True, console=console)
    doc = dataclasses.asdict(summary) | {"db": store.url}
    if args.json:
        emit_json(doc)
    else:
        console.print(
            f"run {summary.run_id}{' (resumed)' if summary.resumed else ''}: "
            f"{summary.rows_written} rows written, {summary.rows_skipped} already stored, "
            f"{summary.rows_failed} failed; {summary.wall_s:.1f} s wall, "
            f"{summary.synthesis_s:.1f} s synthesis; idle {summary.idle_power_w:.2f} W; "
            f"audio in {summary.out_dir}")
    return 1 if summary.rows_failed and not summary.rows_written else 0


def _columns(rows: list[dict]) -> list[str]:
    extra = sorted({k for r in rows for k in r} - set(BASE_COLUMNS))
    return [*BASE_COLUMNS, *extra]


def run_results(args: argparse.Namespace) -> int:
    info, rows = load_result_rows(args.db, args.run)
    columns = _columns(rows)
    if args.parquet:
        try:
            import pandas as pd
        except ModuleNotFoundError as e:
            raise UsageError(
                "--parquet needs pandas and pyarrow: pip install pandas pyarrow"
            ) from e
        pd.DataFrame(rows, columns=columns).to_parquet(args.parquet)
    if args.csv:
        out = sys.stdout if args.csv == "-" else open(args.csv, "w", newline="")  # noqa: SIM115
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        if out is not sys.stdout:
            out.close()
    if args.json:
        emit_json({"run": info, "rows": rows})
    elif args.csv != "-":
        table = Table(title=f"run {info['run']}: {len(rows)} rows")
        for col in ("model", "variant", "utterance", "rtf", "energy_j_per_audio_s", "measured",
                    "dnsmos_ovrl", "pesq_wb", "error"):
            table.add_column(col)
        for r in rows:
            def f(v):
                return "" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)
            table.add_row(r["model"], r["variant"], r["utterance"], f(r["rtf"]),
                          f(r["energy_j_per_audio_s"]), f(r["energy_measured"]),
                          f(r.get("dnsmos_ovrl")), f(r.get("pesq_wb")), f(r["error"])[:40])
        console.print(table)
    return 0
