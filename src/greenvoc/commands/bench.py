"""``greenvoc bench``: the resumable sweep; ``greenvoc results``: its rows, as JSON/CSV/Parquet."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys

from rich.markup import escape
from rich.table import Table

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.errors import UsageError


def register(subparsers) -> None:
    p = add_command_parser(subparsers, "bench")
    p.add_argument("--models", default="hifigan-v1-lj,griffin-lim",
                   help="comma-separated names or 'all' (see `greenvoc zoo list`)")
    p.add_argument("--variants", default="fp32",
                   help="comma-separated variants: fp32, int8-dynamic, int8-static, "
                   "int8-qat (after `greenvoc quantize NAME --variant int8-qat`), "
                   "int8-mixed, int8-weight-only, int4-weight-only, bf16, fp16, onnx-fp32, "
                   "onnx-int8, onnx-int8-conv (see `greenvoc quantize --help`)")
    p.add_argument("--corpus", default="default",
                   help="default, a folder, FORMAT:PATH, or FORMAT:PATH@SPLIT (e.g. "
                   "ljspeech:LJSpeech-1.1@hifigan-val, libritts:LibriTTS@test-clean)")
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
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local: this process (default); ray: one measuring worker per node "
                   "(CPU) or per GPU (--device cuda) of a Ray cluster (docs/scale-out.md)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --executor ray: the cluster's address (host:6379, or 'auto' for "
                   "the one `ray start` runs here); default: the cluster `ray start` runs on "
                   "this machine if any, else a one-machine Ray instance for this command")
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)

    r = add_command_parser(subparsers, "results")
    r.add_argument("--run", default="latest", help="run id or 'latest'")
    add_db_flag(r)
    add_json_flag(r)
    r.add_argument("--csv", metavar="PATH", help="write the rows as CSV ('-' for stdout)")
    r.add_argument("--parquet", metavar="PATH", help="write the rows as Parquet (needs pandas)")
    r.set_defaults(func=run_results)


def run(args: argparse.Namespace) -> int:
    from greenvoc.bench import plan as make_plan
    from greenvoc.bench import run_bench
    from greenvoc.store import ResultStore

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
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    summary = run_bench(plan, store, args.out, progress=True, console=console,
                        executor=args.executor, ray_address=args.ray_address)
    doc = dataclasses.asdict(summary) | {"db": store.display_url}
    if args.json:
        emit_json(doc)
    else:
        retried = f" ({summary.rows_retried} failed before, retried)" if summary.rows_retried \
            else ""
        console.print(
            f"run {summary.run_id}{' (resumed)' if summary.resumed else ''}: "
            f"{summary.rows_written} rows written{retried}, {summary.rows_skipped} already "
            f"stored, {summary.rows_failed} failed; {summary.wall_s:.1f} s wall, "
            f"{summary.synthesis_s:.1f} s synthesis; idle {summary.idle_power_w:.2f} W; "
            f"audio in {summary.out_dir}")
        if len(summary.rows_per_node) > 1 or summary.executor == "ray":
            for node, n in summary.rows_per_node.items():
                host = n.get("hostname") or node
                short = f" node {node[:8]}" if host != node else ""
                console.print(f"  {escape(host)}{short} ({escape(n['hardware'])}): "
                              f"{n['written']} written, {n['failed']} failed, idle "
                              f"{n.get('idle_power_w', summary.idle_power_w):.2f} W")
    return 1 if summary.rows_failed and not summary.rows_written else 0


def _columns(rows: list[dict]) -> list[str]:
    from greenvoc.store.results import BASE_COLUMNS

    extra = sorted({k for r in rows for k in r} - set(BASE_COLUMNS))
    return [*BASE_COLUMNS, *extra]


def run_results(args: argparse.Namespace) -> int:
    from greenvoc.store.results import load_result_rows

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
