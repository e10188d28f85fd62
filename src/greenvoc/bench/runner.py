"""Execute a plan: resumable, one row per (run, model, variant, utterance), on an executor.

Resumable by construction: a run is keyed by its configuration, each row is committed in its
own transaction under a unique (run, model, variant, utterance) key, and rows already stored
without error are skipped; failed rows are retried (their errors kept in ``result_attempts``).
Killing the process loses at most the utterance in flight.

Executors: ``local`` (one :class:`~greenvoc.bench.worker.BenchWorker` in this process) and
``ray`` (one worker per node or GPU of a Ray cluster, :mod:`greenvoc.bench.ray_executor`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from greenvoc.bench.plan import Plan
from greenvoc.bench.worker import BenchWorker, NodeIdentity
from greenvoc.errors import UsageError
from greenvoc.provenance import environment
from greenvoc.store import ResultStore
from greenvoc.store.results import done_keys, failed_keys, get_or_create_run, set_idle_power

EXECUTORS = ("local", "ray")


@dataclass
class BenchSummary:
    run_id: int
    resumed: bool
    rows_skipped: int
    rows_written: int
    rows_failed: int
    idle_power_w: float
    wall_s: float
    synthesis_s: float
    out_dir: str
    executor: str = "local"
    #: rows written (and failed) per node, by host name (and GPU)
    rows_per_node: dict[str, dict[str, int]] = field(default_factory=dict)
    #: keys that held a failed row when the run started, and were tried again
    rows_retried: int = 0


def progress_bar(console: Console | None, enabled: bool) -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console or Console(stderr=True), disable=not enabled)


def calibration_paths(plan: Plan) -> dict[str, str]:
    """id → path of the utterances that calibrate int8 variants."""
    by_id = {u.id: str(u.path) for u in plan.corpus.utterances}
    return {i: by_id[i] for i in plan.config.calibration_ids}


def start_run(plan: Plan, store: ResultStore) -> tuple[int, bool, int, int]:
    """(run id, resumed, rows already done, failed rows to retry) of the plan's run."""
    config = plan.config.to_dict() | {"corpus_selection": plan.corpus.to_dict()}
    run_id, resumed = get_or_create_run(store, config, plan.config.seed, environment())
    done = done_keys(store, run_id)
    keys = {(i.model, i.variant, u.id) for i in plan.items for u in i.utterances}
    retry = len(keys & failed_keys(store, run_id))
    return run_id, resumed, len(keys & done), retry


def _run_local(plan: Plan, store: ResultStore, run_id: int, out_dir: Path,
               bar: Progress) -> tuple[int, int, float, float, dict[str, dict[str, int]]]:
    identity = NodeIdentity.local(plan.config.device)
    task = bar.add_task("idle power", total=plan.n_rows)
    worker = BenchWorker(plan.config, calibration_paths(plan), store.url, run_id, out_dir,
                         identity)
    set_idle_power(store, run_id, worker.idle_power_w, worker.idle_method)
    counts: Counter[str] = Counter()
    synthesis_s = 0.0
    try:
        for item in plan.items:
            bar.update(task, description=f"{item.model} {item.variant}")
            report = worker.run_shard(item, on_row=lambda: bar.advance(task))
            bar.advance(task, report.skipped)
            counts["written"] += report.written
            counts["failed"] += report.failed
            synthesis_s += report.synthesis_s
    finally:
        worker.close()
    per_node = {identity.node: {"written": counts["written"], "failed": counts["failed"],
                                "hostname": identity.hostname, "hardware": identity.hardware,
                                "idle_power_w": worker.idle_power_w}}
    return counts["written"], counts["failed"], synthesis_s, worker.idle_power_w, per_node


def run_bench(plan: Plan, store: ResultStore, out_dir: str | Path = "greenvoc-results/audio",
              progress: bool = True, console: Console | None = None, executor: str = "local",
              ray_address: str | None = None) -> BenchSummary:
    """Run (or resume) the sweep of ``plan``; every row lands in ``store``."""
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; valid executors: {', '.join(EXECUTORS)}")
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        if executor == "ray":  # checks the cluster and the store before a run is created
            from greenvoc.bench.ray_executor import RayExecutor

            # Ray prints worker events (a worker killed, restarted) on stdout, which belongs
            # to --json: they go to stderr with the rest of the logs.
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            ray_exec = RayExecutor(plan, store, ray_address)
        run_id, resumed, skipped, retried = start_run(plan, store)
        with progress_bar(console, progress) as bar:
            if executor == "ray":
                written, failed, synthesis_s, idle_w, per_node = ray_exec.run(run_id, out_dir,
                                                                              bar)
            else:
                written, failed, synthesis_s, idle_w, per_node = _run_local(
                    plan, store, run_id, Path(out_dir), bar)
    return BenchSummary(run_id, resumed, skipped, written, failed, idle_w,
                        time.monotonic() - t0, synthesis_s, str(Path(out_dir) / f"run{run_id}"),
                        executor, per_node, retried)
