"""Every database access of the listening test: studies, raters, play events, ratings.

Writes go through one writer thread (:class:`GroupCommit`): the writes that arrive while a
commit is on its way share the next transaction, so 50 raters cost one fsync per batch instead
of one each (SQLite allows one writer at a time anyway). The writer runs them in the order they
were submitted, so a write that the caller waits for (a rating) is committed together with or
after every write submitted before it without waiting (the play events it depends on).

Durability: on SQLite the file is in WAL mode with ``synchronous=FULL`` on every connection,
so a commit has reached the disk (the WAL is fsynced) when it returns; a rating is acknowledged
only after its commit. On PostgreSQL the server's ``synchronous_commit`` (on by default) does
the same.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from greenvoc.listen.records import RatingRecord
from greenvoc.listen.study import Study, rater_plan
from greenvoc.store import ResultStore
from greenvoc.store.listen_tables import (
    ListenPlayRow,
    ListenRaterRow,
    ListenRatingRow,
    ListenStudyRow,
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token() -> str:
    """A bearer token: 256 bits from :mod:`secrets`."""
    return secrets.token_urlsafe(32)


log = logging.getLogger("greenvoc.listen")


@dataclass(eq=False)
class RaterState:
    """A rater as the server keeps them: the stored row plus what they played and rated.
    ``started`` / ``ended``: stimulus ids whose playback started / reached the end; ``rated``:
    item id → {stimulus id: score}. Mutable: the app updates it after each committed write."""

    id: str
    study_id: str
    stage: str
    order_index: int
    plan: list
    checks: dict | None = None
    participant: dict | None = None
    started: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    rated: dict[str, dict[str, float]] = field(default_factory=dict)


def _rater(row: ListenRaterRow) -> RaterState:
    return RaterState(row.id, row.study_id, row.stage, row.order_index, row.plan, row.checks,
                      row.participant)


@dataclass(frozen=True)
class Rows:
    """A write that only inserts ``rows`` into ``table``: the writer merges the inserts of a
    batch into one multi-row statement per table (a play event costs one row, not a statement)."""

    table: Any
    rows: list[dict]


#: A write: a function of the session (its value is the write's result), inserted rows, or a
#: tuple of both kinds run in one transaction.
Write = Callable[[Session], Any] | Rows | tuple


def _parts(write: Write) -> tuple:
    return write if isinstance(write, tuple) else (write,)


def _run(session: Session, writes: list[Write]) -> list[Any]:
    """Run ``writes`` in ``session``'s transaction: every insert first, merged per table in the
    order the tables first appear, then the functions in order. Returns each write's value (its
    last function's, None for inserts)."""
    inserts: dict[Any, list[dict]] = {}
    for w in writes:
        for part in _parts(w):
            if isinstance(part, Rows):
                inserts.setdefault(part.table, []).extend(part.rows)
    conn = session.connection()
    for table, rows in inserts.items():
        conn.execute(insert(table), rows)
    values = []
    for w in writes:
        value = None
        for part in _parts(w):
            if not isinstance(part, Rows):
                value = part(session)
        values.append(value)
    return values


class GroupCommit:
    """A writer thread that runs writes (:data:`Write`) in shared transactions: it takes every
    write waiting in its queue (up to ``max_batch``), runs them in one transaction and commits
    once; each caller's future resolves after that commit. If any write of a batch raises, the
    batch is rolled back and each write re-run in its own transaction, so one bad write never
    fails another.

    Deferred rows (:meth:`defer`: play events, which nobody waits for) do not wake the writer:
    they join the next batch, or are flushed after ``flush_s`` when nothing else comes. A batch
    takes the deferred rows after its queued writes, so a write queued after a deferral commits
    with it or after it."""

    def __init__(self, store: ResultStore, max_batch: int = 256, flush_s: float = 0.5) -> None:
        self.store, self.max_batch, self.flush_s = store, max_batch, flush_s
        self.queue: queue.Queue = queue.Queue()
        self._deferred: list[Rows] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="greenvoc-listen-writer",
                                       daemon=True)
        self.thread.start()

    def defer(self, rows: Rows) -> None:
        """Write ``rows`` with the next batch (at the latest after ``flush_s``), unacknowledged."""
        with self._lock:
            self._deferred.append(rows)

    def flush(self) -> None:
        """Return once everything submitted or deferred before the call is committed."""
        self(lambda session: None)

    def submit(self, write: Write) -> Future:
        """Queue ``write``; the future resolves (to its value) once its transaction committed."""
        future: Future = Future()
        self.queue.put((write, future))
        return future

    def __call__(self, write: Write) -> Any:
        return self.submit(write).result()

    def _loop(self) -> None:
        while True:
            try:
                batch: list[tuple[Write, Future | None]] = [self.queue.get(timeout=self.flush_s)]
            except queue.Empty:
                batch = []
            while batch and len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                deferred, self._deferred = self._deferred, []
            batch = [*((rows, None) for rows in deferred), *batch]
            if not batch:
                continue
            try:
                with self.store.session() as session, session.begin():
                    values = _run(session, [w for w, _ in batch])
            except Exception:
                for write, future in batch:
                    self._alone(write, future)
                continue
            for (_, future), value in zip(batch, values, strict=True):
                if future is not None:
                    future.set_result(value)

    def _alone(self, write: Write, future: Future | None) -> None:
        try:
            with self.store.session() as session, session.begin():
                (value,) = _run(session, [write])
        except Exception as e:
            if future is None:
                log.error("a deferred write could not be stored: %s", e)
            else:
                future.set_exception(e)
            return
        if future is not None:
            future.set_result(value)


class ListenStore:
    """The listening-test view of a :class:`~greenvoc.store.db.ResultStore`."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        if store.engine.dialect.name == "sqlite":
            # WAL with synchronous=FULL: a commit is on disk (the WAL fsynced) when it returns,
            # at a fraction of the rollback journal's fsync cost, and readers run during a write.
            # synchronous is a per-connection setting: set on each new connection.
            if not event.contains(store.engine, "connect", _sqlite_full_sync):
                event.listen(store.engine, "connect", _sqlite_full_sync)
                store.engine.dispose()  # pooled connections opened before get it too
            with store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._write = GroupCommit(store)

    def submit(self, write: Write) -> Future:
        """Queue a write on the writer thread without waiting for it."""
        return self._write.submit(write)

    def defer(self, rows: Rows) -> None:
        """Write ``rows`` with the next commit (within half a second), unacknowledged."""
        self._write.defer(rows)

    def flush(self) -> None:
        """Commit everything submitted or deferred so far."""
        self._write.flush()

    def save_study(self, study: Study) -> None:
        """Insert the study unless a study of that id is stored (ids hash the settings)."""
        def write(session: Session) -> None:
            if session.get(ListenStudyRow, study.id) is None:
                session.add(ListenStudyRow(id=study.id, created_at=_now(),
                                           test_type=study.test_type, run_id=study.run_id,
                                           seed=study.seed, config=study.to_dict()))
        self._write(write)

    def next_order_index(self, study_id: str) -> int:
        """The order index the study's next rater gets (one more than the largest stored)."""
        with self.store.session() as session:
            top = session.scalar(select(func.max(ListenRaterRow.order_index))
                                 .where(ListenRaterRow.study_id == study_id))
        return 0 if top is None else top + 1

    def new_rater_write(self, study: Study, order_index: int, consent: bool = True,
                        participant: dict | None = None) -> tuple[Rows, RaterState, str]:
        """(write function, the rater it stores, their fresh token): the caller queues the
        write (:meth:`submit`) and waits for it."""
        token = new_token()
        stage = "instructions" if consent else "consent"
        rater = RaterState(secrets.token_hex(8), study.id, stage, order_index,
                           rater_plan(study, order_index), None, participant)
        pid = participant.get("id") if participant else None

        write = Rows(ListenRaterRow.__table__, [{
            "id": rater.id, "study_id": study.id, "token_sha256": token_digest(token),
            "created_at": _now(), "consent_at": _now() if consent else None,
            "stage": stage, "order_index": order_index, "plan": rater.plan, "checks": None,
            "participant_id": pid, "participant": participant}])
        return write, rater, token

    def load_rater(self, study_id: str, token: str | None) -> RaterState | None:
        """The rater holding ``token``, with their play events and ratings; None if unknown."""
        if not token or len(token) > 200:
            return None
        digest = token_digest(token)
        with self.store.session() as session:
            row = session.scalar(select(ListenRaterRow).where(
                ListenRaterRow.token_sha256 == digest, ListenRaterRow.study_id == study_id))
            if row is None or not hmac.compare_digest(row.token_sha256, digest):
                return None
            rater = _rater(row)
            for stim, ev in session.execute(select(ListenPlayRow.stimulus_id, ListenPlayRow.event)
                                            .where(ListenPlayRow.rater_id == rater.id)):
                (rater.ended if ev == "ended" else rater.started).add(stim)
        rater.started |= rater.ended
        for (item, stim), score in self.ratings_of(rater.id).items():
            rater.rated.setdefault(item, {})[stim] = score
        return rater

    def participants(self, study_id: str) -> dict[str, tuple[str, str]]:
        """participant id (``prolific:PID``, ``mturk:workerId``) → (rater id, stage)."""
        with self.store.session() as session:
            rows = session.execute(select(ListenRaterRow.participant_id, ListenRaterRow.id,
                                          ListenRaterRow.stage).where(
                ListenRaterRow.study_id == study_id, ListenRaterRow.participant_id.isnot(None)))
            return {pid: (rid, stage) for pid, rid, stage in rows}

    @staticmethod
    def rater_update(rater_id: str, **fields: Any) -> Callable[[Session], None]:
        """A write that sets ``fields`` of the rater's row."""
        def write(session: Session) -> None:
            session.execute(update(ListenRaterRow).where(ListenRaterRow.id == rater_id)
                            .values(**fields))
        return write

    @staticmethod
    def play_write(rater_id: str, stimulus_id: str, event_name: str) -> Rows:
        return Rows(ListenPlayRow.__table__, [{"rater_id": rater_id, "stimulus_id": stimulus_id,
                                               "event": event_name, "created_at": _now()}])

    @staticmethod
    def ratings_write(rows: list[dict], rater_fields: dict | None = None) -> tuple:
        """A write inserting one page's ratings (and updating the rater's row with
        ``rater_fields`` in the same transaction). A page stored before raises
        ``IntegrityError`` (the unique rater, item, condition)."""
        inserted = Rows(ListenRatingRow.__table__, [{"created_at": _now(), **r} for r in rows])
        if not rater_fields:
            return (inserted,)
        return inserted, ListenStore.rater_update(rows[0]["rater_id"], **rater_fields)

    def ratings_of(self, rater_id: str) -> dict[tuple[str, str], float]:
        """(item_id, stimulus_id) → score of one rater."""
        with self.store.session() as session:
            rows = session.execute(select(ListenRatingRow.item_id, ListenRatingRow.stimulus_id,
                                          ListenRatingRow.score)
                                   .where(ListenRatingRow.rater_id == rater_id))
            return {(i, s): v for i, s, v in rows}

    def progress(self, study_id: str, training_items: set[str]) -> list[dict]:
        """One dict per rater: id, participant id, stage, ``pages`` (rated pages of the plan,
        training left out) and ``rated`` of them, ``training_pages`` and ``training_rated``,
        created_at, completed_at, checks."""
        with self.store.session() as session:
            raters = list(session.scalars(select(ListenRaterRow).where(
                ListenRaterRow.study_id == study_id).order_by(ListenRaterRow.seq)))
            counts: dict[tuple[str, bool], int] = defaultdict(int)
            for rater, kind, n in session.execute(
                    select(ListenRatingRow.rater_id, ListenRatingRow.kind,
                           func.count(func.distinct(ListenRatingRow.item_id)))
                    .where(ListenRatingRow.study_id == study_id)
                    .group_by(ListenRatingRow.rater_id, ListenRatingRow.kind)):
                counts[(rater, kind == "training")] += n
        out = []
        for r in raters:
            n_train = sum(1 for item, _ in r.plan if item in training_items)
            out.append({
                "rater": r.id, "participant_id": r.participant_id, "stage": r.stage,
                "pages": len(r.plan) - n_train, "rated": counts.get((r.id, False), 0),
                "training_pages": n_train, "training_rated": counts.get((r.id, True), 0),
                "created_at": str(r.created_at),
                "completed_at": str(r.completed_at) if r.completed_at else None,
                "checks": r.checks})
        return out

    def count_ratings(self, study_id: str) -> int:
        with self.store.session() as session:
            return session.scalar(select(func.count()).select_from(ListenRatingRow)
                                  .where(ListenRatingRow.study_id == study_id)) or 0

    def export_rows(self, study_id: str) -> list[dict]:
        """Every rating of the study as flat dicts (CSV/JSON export)."""
        cols = ("rater_id", "item_id", "stimulus_id", "condition", "model", "variant",
                "utterance", "kind", "expected", "score", "created_at")
        with self.store.session() as session:
            rows = session.scalars(select(ListenRatingRow).where(
                ListenRatingRow.study_id == study_id).order_by(ListenRatingRow.id))
            return [{"study": study_id} | {c: getattr(r, c) for c in cols} for r in rows]


def _sqlite_full_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def load_records(store: ResultStore, study_id: str | None = None, run_id: int | None = None
                 ) -> list[RatingRecord]:
    """Every stored rating (gold, trap and training included) of study ``study_id``, or of
    every study built from benchmark run ``run_id``; ordered by storage."""
    query = (select(ListenRatingRow, ListenStudyRow.test_type, ListenStudyRow.run_id)
             .join(ListenStudyRow, ListenStudyRow.id == ListenRatingRow.study_id)
             .order_by(ListenRatingRow.id))
    if study_id is not None:
        query = query.where(ListenRatingRow.study_id == study_id)
    if run_id is not None:
        query = query.where(ListenStudyRow.run_id == run_id)
    with store.session() as session:
        return [RatingRecord(study=r.study_id, rater=r.rater_id, test_type=test_type,
                             item=r.item_id, condition=r.condition, model=r.model,
                             variant=r.variant, utterance=r.utterance, score=r.score,
                             kind=r.kind, expected=r.expected, run_id=run)
                for r, test_type, run in session.execute(query)]
