"""The results database (SQLAlchemy; SQLite by default, PostgreSQL by URL)."""

from greenvoc.store.db import ResultStore, default_db_url

__all__ = ["ResultStore", "default_db_url"]
