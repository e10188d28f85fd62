"""The results database (SQLAlchemy; SQLite by default, PostgreSQL by URL).

``ResultStore`` is loaded on first use: importing SQLAlchemy costs more CPU than a whole
``greenvoc measure`` of a short command, which may append its row without it
(:mod:`greenvoc.store.sqlite_append`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenvoc.store.defaults import default_db_url

if TYPE_CHECKING:
    from greenvoc.store.db import ResultStore

__all__ = ["ResultStore", "default_db_url"]


def __getattr__(name: str) -> Any:
    if name == "ResultStore":
        from greenvoc.store.db import ResultStore

        return ResultStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
