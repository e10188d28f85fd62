"""Append a measurement to an existing SQLite results database with the standard library.

``greenvoc measure`` writes one row per call, and importing SQLAlchemy costs more CPU than the
rest of the command (about 0.4 CPU-s of a 0.7 CPU-s call on a short command). When the database
is an existing SQLite file at this greenvoc's schema version, with the ``measurements`` columns
this module knows, the row is inserted with ``sqlite3`` in the form SQLAlchemy writes (JSON as
text, datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``, booleans as 0/1); anything else (a new file,
another version, PostgreSQL) returns None and the caller uses :class:`ResultStore`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from greenvoc.store.defaults import SCHEMA_VERSION

#: The ``measurements`` table's columns (checked against the ORM by a test).
MEASUREMENT_COLUMNS = (
    "id", "created_at", "name", "command", "exit_code", "duration_s", "energy_j", "measured",
    "carbon_g", "intensity_g_per_kwh", "country", "pue", "components", "environment",
)
_JSON = ("components", "environment")
_SQLALCHEMY_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL (no driver, no query), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = unquote(url[len(prefix):])
    return Path(path) if path and path != ":memory:" else None


def append_measurement(url: str, **fields: Any) -> int | None:
    """Insert one ``measurements`` row; its id, or None where this fast path does not apply
    (then nothing was written). ``sqlite3.Error`` (disk full, locked) propagates."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    with sqlite3.connect(path, timeout=30) as conn:
        try:
            version = conn.execute(
                "SELECT value FROM greenvoc_meta WHERE key = 'schema_version'").fetchone()
            columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(measurements)"))
        except sqlite3.DatabaseError:
            return None
        if version is None or version[0] != str(SCHEMA_VERSION):
            return None
        if sorted(columns) != sorted(MEASUREMENT_COLUMNS):
            return None
        row = dict(fields)
        row.setdefault("created_at", datetime.now(UTC).replace(tzinfo=None))
        row["created_at"] = row["created_at"].strftime(_SQLALCHEMY_DATETIME)
        row["measured"] = int(bool(row["measured"]))
        for key in _JSON:
            row[key] = json.dumps(row[key])
        names = [c for c in MEASUREMENT_COLUMNS if c != "id"]
        cursor = conn.execute(
            f"INSERT INTO measurements ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)})", [row.get(c) for c in names])
        return int(cursor.lastrowid)
