"""Runs and result rows: resumable writes and flat reads for analysis and export."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from greenvoc.errors import UsageError
from greenvoc.store.db import ResultStore
from greenvoc.store.schema import ResultAttemptRow, ResultRow, RunNodeRow, RunRow

#: Columns every result row has, in the order exports show them (quality metrics follow).
BASE_COLUMNS = (
    "run", "model", "variant", "family", "utterance", "has_weights", "audio_s", "compute_s",
    "rtf", "energy_j", "energy_j_per_audio_s", "energy_net_j", "energy_net_j_per_audio_s",
    "energy_measured", "energy_method", "peak_rss_bytes", "params", "bytes_on_disk",
    "macs_per_audio_s", "audio_path", "error", "variant_detail", "hardware", "hostname",
    "node_id",
)

#: Columns a retried row overwrites: everything but its key and id.
_REPLACEABLE = tuple(
    c.name for c in ResultRow.__table__.columns
    if c.name not in ("id", "run_id", "model", "variant", "utterance"))


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def get_or_create_run(store: ResultStore, config: dict, seed: int, environment: dict
                      ) -> tuple[int, bool]:
    """The run of this exact configuration (resumed), or a new one. Returns (id, resumed)."""
    digest = config_hash(config)
    with store.session() as session:
        existing = session.scalar(select(RunRow).where(RunRow.config_hash == digest))
        if existing is not None:
            return existing.id, True
    try:
        with store.session() as session, session.begin():
            row = RunRow(created_at=_now(), config_hash=digest, config=config, seed=seed,
                         environment=environment)
            session.add(row)
            session.flush()
            return row.id, False
    except IntegrityError:  # another process created it between our read and write
        return get_or_create_run(store, config, seed, environment)


def set_idle_power(store: ResultStore, run_id: int, idle_power_w: float, method: str) -> None:
    """The run's idle power, unless one is already stored (the first measurement stands)."""
    with store.session() as session, session.begin():
        run = session.get(RunRow, run_id)
        if run.idle_power_w is None:
            run.idle_power_w, run.idle_method = idle_power_w, method


def get_run_node(store: ResultStore, run_id: int, node: str) -> RunNodeRow | None:
    with store.session() as session:
        return session.scalar(select(RunNodeRow).where(
            RunNodeRow.run_id == run_id, RunNodeRow.node == node))


def add_run_node(store: ResultStore, run_id: int, node: str, **fields: Any) -> RunNodeRow:
    """Store a node's idle power and hardware for the run; if another process stored that node
    first, its row stands and is returned (one idle figure per node and run)."""
    try:
        with store.session() as session, session.begin():
            row = RunNodeRow(run_id=run_id, node=node, created_at=_now(), **fields)
            session.add(row)
        return row
    except IntegrityError:
        existing = get_run_node(store, run_id, node)
        assert existing is not None
        return existing


def run_nodes(store: ResultStore, run_id: int) -> list[dict[str, Any]]:
    with store.session() as session:
        rows = session.scalars(select(RunNodeRow).where(RunNodeRow.run_id == run_id)
                               .order_by(RunNodeRow.id))
        return [{"node": r.node, "hostname": r.hostname, "hardware": r.hardware,
                 "idle_power_w": r.idle_power_w, "idle_method": r.idle_method} for r in rows]


def done_keys(store: ResultStore, run_id: int) -> set[tuple[str, str, str]]:
    """(model, variant, utterance) stored for the run without an error: a failed key is not
    done, the next run of the same command retries it."""
    with store.session() as session:
        rows = session.execute(
            select(ResultRow.model, ResultRow.variant, ResultRow.utterance)
            .where(ResultRow.run_id == run_id, ResultRow.error.is_(None))
        )
        return {tuple(r) for r in rows}


def failed_keys(store: ResultStore, run_id: int) -> set[tuple[str, str, str]]:
    """(model, variant, utterance) whose stored row is a failure: the next run retries them."""
    with store.session() as session:
        rows = session.execute(
            select(ResultRow.model, ResultRow.variant, ResultRow.utterance)
            .where(ResultRow.run_id == run_id, ResultRow.error.is_not(None))
        )
        return {tuple(r) for r in rows}


def add_result(store: ResultStore, run_id: int, **fields: Any) -> bool:
    """Store one row in its own transaction. A key that holds a failed attempt is overwritten
    (the old error goes to ``result_attempts``); False if the key already holds a success.
    The unique key makes this exactly-once whatever the number of writers."""
    try:
        with store.session() as session, session.begin():
            session.add(ResultRow(run_id=run_id, created_at=_now(), **fields))
        return True
    except IntegrityError:
        return _replace_failed(store, run_id, fields)


def _replace_failed(store: ResultStore, run_id: int, fields: dict[str, Any]) -> bool:
    key = (ResultRow.run_id == run_id, ResultRow.model == fields["model"],
           ResultRow.variant == fields["variant"], ResultRow.utterance == fields["utterance"])
    with store.session() as session, session.begin():
        old = session.scalar(select(ResultRow).where(*key, ResultRow.error.is_not(None))
                             .with_for_update())
        if old is None:
            return False
        session.add(ResultAttemptRow(
            run_id=run_id, model=old.model, variant=old.variant, utterance=old.utterance,
            error=old.error, hostname=old.hostname, created_at=old.created_at))
        values = dict.fromkeys(_REPLACEABLE) | {k: v for k, v in fields.items()
                                                if k in _REPLACEABLE} | {"created_at": _now()}
        # Conditional on the row still being a failure: of two racing writers one wins.
        done = session.execute(update(ResultRow).where(ResultRow.id == old.id,
                                                       ResultRow.error.is_not(None))
                               .values(**values))
        return done.rowcount == 1


def failed_attempts(store: ResultStore, run_id: int) -> list[dict[str, Any]]:
    """Errors of earlier attempts at keys of the run (kept when the key was retried)."""
    with store.session() as session:
        rows = session.scalars(select(ResultAttemptRow).where(ResultAttemptRow.run_id == run_id)
                               .order_by(ResultAttemptRow.id))
        return [{"model": r.model, "variant": r.variant, "utterance": r.utterance,
                 "error": r.error, "hostname": r.hostname, "at": str(r.created_at)}
                for r in rows]


def resolve_run_id(store: ResultStore, run: str | int | None = "latest") -> int:
    with store.session() as session:
        if run in (None, "latest"):
            run_id = session.scalar(select(RunRow.id).order_by(RunRow.id.desc()).limit(1))
            if run_id is None:
                raise UsageError(
                    f"no benchmark run in {store.display_url}; run `greenvoc bench` first")
            return run_id
        try:
            run_id = int(run)
        except ValueError as e:
            raise UsageError(f"--run takes a run id or 'latest', got {run!r}") from e
        if session.get(RunRow, run_id) is None:
            ids = list(session.scalars(select(RunRow.id)))
            raise UsageError(f"no run {run_id} in {store.display_url}; runs: {ids or 'none'}")
        return run_id


def flatten(row: ResultRow) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in BASE_COLUMNS if c != "run"}
    out["run"] = row.run_id
    out.update(row.metrics or {})
    return out


def load_result_rows(url: str | None, run: str | int | None = "latest"
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(run info, flat rows) of a run: every base column plus one column per metric."""
    store = ResultStore(url)
    run_id = resolve_run_id(store, run)
    with store.session() as session:
        run_row = session.get(RunRow, run_id)
        info = {
            "run": run_id, "created_at": str(run_row.created_at), "config": run_row.config,
            "seed": run_row.seed, "idle_power_w": run_row.idle_power_w,
            "idle_method": run_row.idle_method, **run_row.environment,
            "nodes": run_nodes(store, run_id),
        }
        rows = session.scalars(
            select(ResultRow).where(ResultRow.run_id == run_id).order_by(ResultRow.id)
        )
        metric_names = (run_row.config or {}).get("metrics", [])
        # Every metric of the run is a column of every row: None where not computed (models
        # without weights, failed rows, failed metrics).
        return info, [{m: None for m in metric_names} | flatten(r) for r in rows]
