"""Every database access of the listening test: studies, raters, play events, ratings.

Every write is committed before the call returns, so a response that acknowledges a rating
means the rating is on disk. Writes go through one writer thread (:class:`GroupCommit`): the
writes that arrive while a commit is on its way share the next transaction, so 50 raters cost
one fsync per batch instead of one each (SQLite allows one writer at a time anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
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


@dataclass(frozen=True)
class Rater:
    id: str
    seq: int
    stage: str
    order_index: int
    plan: list
    checks: dict | None


def _rater(row: ListenRaterRow) -> Rater:
    return Rater(row.id, row.seq, row.stage, row.order_index, row.plan, row.checks)


class GroupCommit:
    """A writer thread that runs write functions (``fn(session) -> value``) in shared
    transactions: it takes every write waiting in its queue (up to ``max_batch``), runs them in
    one transaction and commits once; each caller returns after that commit. If any write of a
    batch raises, the batch is rolled back and each write re-run in its own transaction, so one
    bad write never fails another."""

    def __init__(self, store: ResultStore, max_batch: int = 64) -> None:
        self.store, self.max_batch = store, max_batch
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="greenvoc-listen-writer",
                                       daemon=True)
        self.thread.start()

    def __call__(self, fn: Callable[[Session], Any]) -> Any:
        future: Future = Future()
        self.queue.put((fn, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.store.session() as session, session.begin():
                    values = []
                    for fn, _ in batch:
                        values.append(fn(session))
                        session.flush()
            except Exception:
                for fn, future in batch:
                    self._alone(fn, future)
                continue
            for (_, future), value in zip(batch, values, strict=True):
                future.set_result(value)

    def _alone(self, fn: Callable[[Session], Any], future: Future) -> None:
        try:
            with self.store.session() as session, session.begin():
                value = fn(session)
            future.set_result(value)
        except Exception as e:
            future.set_exception(e)


class ListenStore:
    """The listening-test view of a :class:`~greenvoc.store.db.ResultStore`."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        if store.engine.dialect.name == "sqlite":
            # WAL keeps synchronous=FULL durability (a commit is on disk when it returns) at a
            # quarter of the rollback journal's fsync cost, and lets readers run during a write.
            with store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._write = GroupCommit(store)

    def save_study(self, study: Study) -> None:
        """Insert the study unless a study of that id is stored (ids hash the settings)."""
        def write(session: Session) -> None:
            if session.get(ListenStudyRow, study.id) is None:
                session.add(ListenStudyRow(id=study.id, created_at=_now(),
                                           test_type=study.test_type, run_id=study.run_id,
                                           seed=study.seed, config=study.to_dict()))
        self._write(write)

    def create_rater(self, study: Study, consent: bool = True) -> tuple[Rater, str]:
        """A new rater with a fresh token and the next seeded order. Returns (rater, token)."""
        token = new_token()

        def write(session: Session) -> Rater:
            index = session.scalar(select(func.count()).select_from(ListenRaterRow)
                                   .where(ListenRaterRow.study_id == study.id)) or 0
            row = ListenRaterRow(
                id=secrets.token_hex(8), study_id=study.id, token_sha256=token_digest(token),
                created_at=_now(), consent_at=_now() if consent else None,
                stage="instructions" if consent else "consent", order_index=index,
                plan=rater_plan(study, index), checks=None)
            session.add(row)
            session.flush()
            return _rater(row)
        return self._write(write), token

    def rater_by_token(self, study_id: str, token: str | None) -> Rater | None:
        if not token or len(token) > 200:
            return None
        digest = token_digest(token)
        with self.store.session() as session:
            row = session.scalar(select(ListenRaterRow).where(
                ListenRaterRow.token_sha256 == digest, ListenRaterRow.study_id == study_id))
            if row is None or not hmac.compare_digest(row.token_sha256, digest):
                return None
            return _rater(row)

    def update_rater(self, rater_id: str, **fields: Any) -> None:
        def write(session: Session) -> None:
            row = session.scalar(select(ListenRaterRow).where(ListenRaterRow.id == rater_id))
            for k, v in fields.items():
                setattr(row, k, v)
        self._write(write)

    def add_play(self, rater_id: str, stimulus_id: str, event: str = "ended") -> None:
        self._write(lambda session: session.add(ListenPlayRow(
            rater_id=rater_id, stimulus_id=stimulus_id, event=event, created_at=_now())))

    def played(self, rater_id: str, event: str = "ended") -> set[str]:
        with self.store.session() as session:
            return set(session.scalars(select(ListenPlayRow.stimulus_id).where(
                ListenPlayRow.rater_id == rater_id, ListenPlayRow.event == event)))

    def add_ratings(self, rows: list[dict]) -> bool:
        """Insert the ratings of one page (one rater, one item) together. False when that page
        was already rated (a resubmission: nothing is written twice)."""
        def write(session: Session) -> bool:
            done = session.scalar(select(func.count()).select_from(ListenRatingRow).where(
                ListenRatingRow.rater_id == rows[0]["rater_id"],
                ListenRatingRow.item_id == rows[0]["item_id"]))
            if done:
                return False
            session.add_all([ListenRatingRow(created_at=_now(), **r) for r in rows])
            return True
        try:
            return self._write(write)
        except IntegrityError:  # stored by another process between the check and the insert
            return False

    def ratings_of(self, rater_id: str) -> dict[tuple[str, str], float]:
        """(item_id, stimulus_id) → score of one rater."""
        with self.store.session() as session:
            rows = session.execute(select(ListenRatingRow.item_id, ListenRatingRow.stimulus_id,
                                          ListenRatingRow.score)
                                   .where(ListenRatingRow.rater_id == rater_id))
            return {(i, s): v for i, s, v in rows}

    def progress(self, study_id: str) -> list[dict]:
        """One dict per rater: id, stage, pages in the plan, pages rated, created_at."""
        with self.store.session() as session:
            raters = list(session.scalars(select(ListenRaterRow).where(
                ListenRaterRow.study_id == study_id).order_by(ListenRaterRow.seq)))
            counts = {rater: n for rater, n in session.execute(
                select(ListenRatingRow.rater_id, func.count(func.distinct(ListenRatingRow.item_id)))
                .where(ListenRatingRow.study_id == study_id).group_by(ListenRatingRow.rater_id))}
        return [{"rater": r.id, "stage": r.stage, "pages": len(r.plan),
                 "rated": counts.get(r.id, 0), "created_at": str(r.created_at),
                 "completed_at": str(r.completed_at) if r.completed_at else None,
                 "checks": r.checks} for r in raters]

    def export_rows(self, study_id: str) -> list[dict]:
        """Every rating of the study as flat dicts (CSV/JSON export)."""
        cols = ("rater_id", "item_id", "stimulus_id", "condition", "model", "variant",
                "utterance", "kind", "expected", "score", "created_at")
        with self.store.session() as session:
            rows = session.scalars(select(ListenRatingRow).where(
                ListenRatingRow.study_id == study_id).order_by(ListenRatingRow.id))
            return [{"study": study_id} | {c: getattr(r, c) for c in cols} for r in rows]


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
