"""Tables of the results database. Bump ``SCHEMA_VERSION`` (in :mod:`greenvoc.store.defaults`)
with every change to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from greenvoc.store.defaults import SCHEMA_VERSION  # noqa: F401  (the version history is there)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value facts about the database itself (``schema_version``)."""

    __tablename__ = "greenvoc_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MeasurementRow(Base):
    """One metered window: ``greenvoc measure`` or an API call that saves its measurement."""

    __tablename__ = "measurements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    name: Mapped[str] = mapped_column(String(200))
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float] = mapped_column(Float)
    energy_j: Mapped[float] = mapped_column(Float)
    measured: Mapped[bool] = mapped_column()
    carbon_g: Mapped[float] = mapped_column(Float)
    intensity_g_per_kwh: Mapped[float] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(16))
    pue: Mapped[float] = mapped_column(Float)
    components: Mapped[dict] = mapped_column(JSON)
    environment: Mapped[dict] = mapped_column(JSON)  # hardware, versions, git commit, meter config


class RunRow(Base):
    """One benchmark configuration. The same configuration resumes the same run; a changed
    one is a new run (``config_hash`` is unique)."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    config_hash: Mapped[str] = mapped_column(String(64), unique=True)
    config: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    environment: Mapped[dict] = mapped_column(JSON)  # hardware, versions, git commit
    idle_power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    idle_method: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ResultRow(Base):
    """One model × variant × utterance of a run, committed in its own transaction."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("run_id", "model", "variant", "utterance"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    model: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(50))
    utterance: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(32))
    has_weights: Mapped[bool] = mapped_column()
    audio_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    compute_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    rtf: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_j: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_j_per_audio_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_net_j: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_net_j_per_audio_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_measured: Mapped[bool | None] = mapped_column(nullable=True)
    energy_method: Mapped[str | None] = mapped_column(String(100), nullable=True)
    components: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    peak_rss_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    params: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes_on_disk: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    macs_per_audio_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    metrics: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    metric_errors: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    audio_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    variant_detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    #: where the row was measured: Ray node id (None with the local executor), host name, and
    #: the hardware class that measured it (``cpu:<model> x<packages>`` or ``gpu:<model>``)
    node_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    hardware: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)


class RunNodeRow(Base):
    """A node (or GPU) that measured rows of a run: its idle power, measured once per run, and
    its hardware. ``node`` is the Ray node id, or the host name with the local executor; a
    CUDA worker adds ``/gpu:UUID``."""

    __tablename__ = "run_nodes"
    __table_args__ = (UniqueConstraint("run_id", "node"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    node: Mapped[str] = mapped_column(String(255))
    hostname: Mapped[str] = mapped_column(String(255))
    hardware: Mapped[str] = mapped_column(String(255))
    idle_power_w: Mapped[float] = mapped_column(Float)
    idle_method: Mapped[str] = mapped_column(String(64))
    environment: Mapped[dict] = mapped_column(JSON)  # hardware facts, counters, versions
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ResultAttemptRow(Base):
    """A failed attempt at one key of a run. The failed result row is replaced when a later
    attempt succeeds; its error stays here."""

    __tablename__ = "result_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    model: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(50))
    utterance: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# Tables of other layers' records live in their own modules; importing them here registers them
# on ``Base.metadata`` so that ``create_all`` makes them.
from greenvoc.store import listen_tables, train_tables  # noqa: E402, F401
