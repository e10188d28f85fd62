"""Tables of the results database. Bump ``SCHEMA_VERSION`` with every change to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1


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
