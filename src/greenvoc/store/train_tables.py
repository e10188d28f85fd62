"""Tables of metered training runs: the run, one row per step, one row per validation.

``(run_id, step)`` is unique in both child tables, so a resumed run can never store a step
twice: on resume the rows after the checkpoint's step are deleted first (their energy is kept
in ``train_runs.discarded_energy_j``) and the steps are trained again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenvoc.store.schema import Base


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class TrainRunRow(Base):
    """One training run (``greenvoc train``), resumed in place by ``--resume``.

    status: ``running``, ``finished`` (reached the target step), ``budget_spent`` (stopped by
    ``--energy-budget-kwh``), ``interrupted`` or ``failed``.
    """

    __tablename__ = "train_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    recipe: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict] = mapped_column(JSON)  # recipe, overrides, batch, segment, data split
    seed: Mapped[int] = mapped_column(Integer)
    environment: Mapped[dict] = mapped_column(JSON)  # hardware, versions, git commit
    status: Mapped[str] = mapped_column(String(32))
    target_steps: Mapped[int] = mapped_column(Integer)
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    energy_j: Mapped[float] = mapped_column(Float, default=0.0)
    carbon_g: Mapped[float] = mapped_column(Float, default=0.0)
    discarded_energy_j: Mapped[float] = mapped_column(Float, default=0.0)
    energy_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    carbon: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # intensity, PUE, origin
    projection: Mapped[list | None] = mapped_column(JSON, nullable=True)
    out_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class TrainStepRow(Base):
    """One optimisation step (a GAN step is the discriminator step plus the generator step),
    metered in its own window. ``measured`` is true only when every component of the window
    came from a hardware counter; ``energy_method`` names them (``rapl``, ``estimate``…)."""

    __tablename__ = "train_steps"
    __table_args__ = (UniqueConstraint("run_id", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("train_runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    losses: Mapped[dict] = mapped_column(JSON)
    energy_j: Mapped[float] = mapped_column(Float)
    cumulative_energy_j: Mapped[float] = mapped_column(Float)
    measured: Mapped[bool] = mapped_column()
    energy_method: Mapped[str] = mapped_column(String(64))
    carbon_g: Mapped[float] = mapped_column(Float)
    cumulative_carbon_g: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)


class TrainValidationRow(Base):
    """Quality on the held-out clips after ``step``, against the training energy spent so far
    (validation's own energy is kept apart in ``validation_energy_j``)."""

    __tablename__ = "train_validations"
    __table_args__ = (UniqueConstraint("run_id", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("train_runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    cumulative_energy_j: Mapped[float] = mapped_column(Float)
    mel_l1: Mapped[float | None] = mapped_column(Float, nullable=True)
    dnsmos_ovrl: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_clips: Mapped[int] = mapped_column(Integer)
    validation_energy_j: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)


def create_run(store, **fields: Any) -> int:
    fields.setdefault("created_at", _now())
    fields.setdefault("updated_at", fields["created_at"])
    with store.session() as s, s.begin():
        row = TrainRunRow(**fields)
        s.add(row)
        s.flush()
        return row.id


def update_run(store, run_id: int, **fields: Any) -> None:
    with store.session() as s, s.begin():
        row = s.get(TrainRunRow, run_id)
        for k, v in fields.items():
            setattr(row, k, v)
        row.updated_at = _now()


def get_run(store, run_id: int) -> TrainRunRow | None:
    with store.session() as s:
        return s.get(TrainRunRow, run_id)


def add_step(store, **fields: Any) -> None:
    """Insert one step row in its own transaction (a second row for the step raises)."""
    with store.session() as s, s.begin():
        s.add(TrainStepRow(**fields))


def add_validation(store, **fields: Any) -> None:
    with store.session() as s, s.begin():
        s.add(TrainValidationRow(**fields))


def truncate_after(store, run_id: int, step: int) -> float:
    """Delete the step and validation rows after ``step``; returns the deleted steps' joules."""
    with store.session() as s, s.begin():
        lost = s.scalars(select(TrainStepRow.energy_j).where(
            TrainStepRow.run_id == run_id, TrainStepRow.step > step)).all()
        s.execute(delete(TrainStepRow).where(TrainStepRow.run_id == run_id,
                                             TrainStepRow.step > step))
        s.execute(delete(TrainValidationRow).where(TrainValidationRow.run_id == run_id,
                                                   TrainValidationRow.step > step))
        return float(sum(lost))


def step_rows(store, run_id: int) -> list[TrainStepRow]:
    with store.session() as s:
        return list(s.scalars(select(TrainStepRow).where(TrainStepRow.run_id == run_id)
                              .order_by(TrainStepRow.step)))


def validation_rows(store, run_id: int) -> list[TrainValidationRow]:
    with store.session() as s:
        return list(s.scalars(select(TrainValidationRow).where(
            TrainValidationRow.run_id == run_id).order_by(TrainValidationRow.step)))


def run_rows(store) -> list[TrainRunRow]:
    with store.session() as s:
        return list(s.scalars(select(TrainRunRow).order_by(TrainRunRow.id)))
