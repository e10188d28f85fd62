"""Open, check and write the results database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from greenvoc.errors import StoreError, UsageError
from greenvoc.store.defaults import DEFAULT_DB_PATH as DEFAULT_DB_PATH
from greenvoc.store.defaults import SCHEMA_VERSION, default_db_url, store_error_advice
from greenvoc.store.schema import Base, MeasurementRow, Meta

#: Columns added to existing tables, by the schema version that added them: (table, column,
#: SQL type). New tables need no entry: ``create_all`` makes them.
MIGRATIONS: dict[int, list[tuple[str, str, str]]] = {
    3: [("results", "variant_detail", "JSON")],
    5: [("results", "node_id", "VARCHAR(64)"), ("results", "hostname", "VARCHAR(255)"),
        ("results", "hardware", "VARCHAR(255)")],
    6: [("listen_raters", "participant_id", "VARCHAR(80)"),
        ("listen_raters", "participant", "JSON")],
}

#: Integer columns widened to 64 bits, by schema version: (table, column). SQLite's INTEGER is
#: already 64-bit; PostgreSQL's is 32-bit (a peak RSS of 3 GB would overflow it).
WIDENED: dict[int, list[tuple[str, str]]] = {
    5: [("results", "peak_rss_bytes"), ("results", "params"), ("results", "bytes_on_disk")],
}


class ResultStore:
    """A results database at an SQLAlchemy URL, created and version-checked on open."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_db_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError as e:
            raise UsageError(
                f"--db {self.url!r} is not an SQLAlchemy URL; use e.g. "
                "sqlite:///greenvoc-results/greenvoc.db or postgresql+psycopg://user@host/db"
            ) from e
        #: the URL with its password masked: the only form that goes into messages and output
        self.display_url = parsed.render_as_string(hide_password=True)
        self.backend = parsed.get_backend_name()
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(self.url)
            self._check_schema()
        except ModuleNotFoundError as e:
            raise StoreError(
                f"the driver for {parsed.get_backend_name()} is not installed ({e.name}); "
                "for PostgreSQL: pip install 'greenvoc[postgres]'"
            ) from e
        except SQLAlchemyError as e:
            raise self._error(e, "open") from e
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _check_schema(self) -> None:
        tables = set(inspect(self.engine).get_table_names())
        if tables and "greenvoc_meta" not in tables:
            raise StoreError(
                f"{self.display_url} holds tables ({', '.join(sorted(tables))}) but is not a "
                "greenvoc database; point --db at another file"
            )
        Base.metadata.create_all(self.engine)
        with Session(self.engine) as session, session.begin():
            row = session.get(Meta, "schema_version")
            if row is None:
                session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row.value) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.display_url} has schema version {row.value}, newer than this "
                    f"greenvoc's {SCHEMA_VERSION}; upgrade greenvoc (pip install -U greenvoc) or "
                    "use another --db"
                )
            elif int(row.value) < SCHEMA_VERSION:
                self._migrate(session, int(row.value))
                row.value = str(SCHEMA_VERSION)

    def _migrate(self, session: Session, from_version: int) -> None:
        """Add the columns of every later version that the existing tables lack."""
        inspector = inspect(self.engine)
        for version in sorted(v for v in MIGRATIONS if v > from_version):
            for table, column, sql_type in MIGRATIONS[version]:
                existing = {c["name"] for c in inspector.get_columns(table)}
                if column not in existing:
                    session.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
            if self.backend == "postgresql":
                for table, column in WIDENED.get(version, []):
                    session.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))

    def _error(self, e: SQLAlchemyError, doing: str) -> StoreError:
        """A database failure as a StoreError: the URL (password hidden), the cause, the fix."""
        cause = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        return StoreError(f"cannot {doing} the results database {self.display_url}: {cause}; "
                          f"{store_error_advice(self.backend)}: what was stored is kept and "
                          "work resumes where it stopped")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose database failures surface as :class:`StoreError` (an
        ``IntegrityError`` passes through: callers use it to detect an already stored key)."""
        with self._sessions() as session:
            try:
                yield session
            except IntegrityError:
                raise
            except SQLAlchemyError as e:
                raise self._error(e, "read or write") from e

    def add_measurement(self, **fields: Any) -> int:
        """Insert one measurement row in its own transaction; returns its id."""
        fields.setdefault("created_at", datetime.now(UTC).replace(tzinfo=None))
        with self.session() as session, session.begin():
            row = MeasurementRow(**fields)
            session.add(row)
            session.flush()
            return row.id

    def measurements(self, limit: int | None = None) -> list[MeasurementRow]:
        query = select(MeasurementRow).order_by(MeasurementRow.id.desc())
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            return list(session.scalars(query))
