"""Tables of the listening test (studies, raters, play events, ratings).

Every rating row carries what the statistics need (condition, model, variant, utterance, kind,
expected answer) so that :func:`greenvoc.listen.storage.load_records` reads them without the
study's YAML file. ``(rater_id, item_id, condition)`` is unique: a rater rates a condition of an
item once, and a resubmitted rating is recognised instead of duplicated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenvoc.store.schema import Base


class ListenStudyRow(Base):
    """One study as ``greenvoc listen create`` built it (``config``: the study's YAML fields)."""

    __tablename__ = "listen_studies"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    test_type: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    seed: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict] = mapped_column(JSON)


class ListenRaterRow(Base):
    """One rater of a study. The token is stored only as its SHA-256; ``plan`` is the rater's
    seeded order, drawn once at registration: ``[[item_id, [stimulus_id, ...]], ...]``.
    ``checks``: the screening answers (attempts, and why a rater was screened out).
    ``participant_id``: ``prolific:<PROLIFIC_PID>`` or ``mturk:<workerId>`` for crowd raters;
    ``participant``: every id the platform passed (study, session, assignment), as given."""

    __tablename__ = "listen_raters"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("listen_studies.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    consent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    stage: Mapped[str] = mapped_column(String(16))  # consent, instructions, check, training, …
    order_index: Mapped[int] = mapped_column(Integer)
    plan: Mapped[list] = mapped_column(JSON)
    checks: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    participant_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    participant: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ListenPlayRow(Base):
    """A stimulus that a rater's browser played to the end (or started, ``event``)."""

    __tablename__ = "listen_play_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rater_id: Mapped[str] = mapped_column(ForeignKey("listen_raters.id"), index=True)
    stimulus_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ListenRatingRow(Base):
    """One score: ACR 1–5, MUSHRA 0–100, A/B 1.0 (preferred) or 0.0."""

    __tablename__ = "listen_ratings"
    __table_args__ = (UniqueConstraint("rater_id", "item_id", "condition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("listen_studies.id"), index=True)
    rater_id: Mapped[str] = mapped_column(ForeignKey("listen_raters.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    stimulus_id: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(160))
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    variant: Mapped[str | None] = mapped_column(String(50), nullable=True)
    utterance: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    expected: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)
