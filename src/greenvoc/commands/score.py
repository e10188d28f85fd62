"""``greenvoc score``: objective quality of estimates against references (files or folders).

A thin layer over :func:`greenvoc.metrics.score_folders` and :func:`greenvoc.metrics.summarize`:
it parses, prints a per-file table and the means with their 95 % CIs (stderr), or one JSON
document (stdout) with ``--json``. Exit 0 when at least one value was computed, 1 when nothing
could be scored, 2 for a usage error (unknown metric, REF/EST that do not match).
"""

from __future__ import annotations

import argparse
import math

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_json_flag, console, emit_json
from greenvoc.errors import UsageError
from greenvoc.metrics.pairing import MAX_OFFSET_SAMPLES


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from greenvoc.metrics.registry import metric_names

    p.add_argument("--ref", required=True, metavar="REF", help="reference file or folder")
    p.add_argument("--est", required=True, metavar="EST", help="estimate file or folder")
    p.add_argument(
        "--metrics", metavar="A,B,...", default=None,
        help=f"comma-separated metric names (default: all): {', '.join(metric_names())}",
    )
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes (default 2; 1 scores in this process)")
    p.add_argument("--max-offset", type=int, default=MAX_OFFSET_SAMPLES, metavar="SAMPLES",
                   help="alignment search half-width in samples (default %(default)s; 0: none)")
    add_json_flag(p)
    p.set_defaults(func=run)


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "score",
        description="Objective quality of estimate audio against reference audio: two files "
        "or two folders matched by file name.",
    )
    _add_arguments(p)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"


def _document(metrics, scores, summary) -> dict:
    return {
        "files": [s.to_dict() for s in scores],
        "mean": {k: v.mean for k, v in summary.items()},
        "ci95": {k: v.ci95 for k, v in summary.items()},
        "n": {k: v.n for k, v in summary.items()},
        "n_failed": {k: v.n_failed for k, v in summary.items()},
        "ci_method": "Student t, 95 %: t(0.975, n-1) * sd / sqrt(n); failures excluded",
        "metrics": [m.to_dict() for m in metrics],
    }


#: Up to this many files, the table shows one column per file next to the mean.
MAX_FILE_COLUMNS = 6


def _print_tables(metrics, scores, summary) -> None:
    from rich.table import Table

    wide = len(scores) <= MAX_FILE_COLUMNS
    table = Table(title="per file and mean ± 95 % CI (Student t)", title_justify="left")
    table.add_column("metric", no_wrap=True, min_width=13)
    table.add_column("dir")
    for s in scores if wide else ():
        table.add_column(s.name, justify="right", overflow="fold")
    for col in ("mean", "± ci95", "n", "failed", "unit"):
        table.add_column(col, justify="left" if col == "unit" else "right")
    for m in metrics:
        v = summary[m.name]
        per_file = [_fmt(s.metrics.get(m.name)) for s in scores] if wide else []
        table.add_row(m.name, "↑" if m.higher_is_better else "↓", *per_file, _fmt(v.mean),
                      _fmt(v.ci95), str(v.n), str(v.n_failed), m.unit)
    if not wide:
        files = Table(title="per file", title_justify="left")
        files.add_column("file", overflow="fold")
        for m in metrics:
            files.add_column(m.name, justify="right")
        for s in scores:
            files.add_row(s.name, *(_fmt(s.metrics.get(m.name)) for m in metrics))
        console.print(files)
    console.print(table)
    for s in scores:
        if s.error:
            console.print(f"[red]error[/] {s.name}: {s.error}")
        for name, reason in s.errors.items():
            console.print(f"[yellow]{name} failed[/] on {s.name}: {reason}")
        for note in s.notes:
            console.print(f"[dim]note[/] {s.name}: {note}")


def run(args: argparse.Namespace) -> int:
    from greenvoc.metrics import resolve_metrics, score_folders, summarize

    metrics = resolve_metrics(args.metrics)
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.max_offset < 0:
        raise UsageError(f"--max-offset must be >= 0 samples, got {args.max_offset}")
    scores = score_folders(args.ref, args.est, metrics, workers=args.workers,
                           progress=not args.json, max_offset_samples=args.max_offset)
    summary = summarize(scores)
    summary = {m.name: summary[m.name] for m in metrics}
    if args.json:
        emit_json(_document(metrics, scores, summary))
    else:
        _print_tables(metrics, scores, summary)
    return 0 if any(v.n for v in summary.values()) else 1
