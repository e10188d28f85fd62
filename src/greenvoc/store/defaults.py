"""Facts about the results database that cost no import: where it is by default and which
schema version this greenvoc writes (bumped in :mod:`greenvoc.store.schema`'s history)."""

from __future__ import annotations

import os
from pathlib import Path

#: 1: measurements. 2: + runs, results. 3: + results.variant_detail. 4: + listening-test tables
#: (:mod:`greenvoc.store.listen_tables`) and training tables (:mod:`greenvoc.store.train_tables`).
#: 5: + results.node_id/hostname/hardware, 64-bit byte counts, ``run_nodes`` (per node idle power
#: and hardware of a run) and ``result_attempts`` (errors of failed attempts, kept when retried).
#: 6: + listen_raters.participant_id/participant (crowd platform ids of a rater).
#: Older databases are migrated in place (see ``greenvoc.store.db.MIGRATIONS``).
SCHEMA_VERSION = 6

DEFAULT_DB_PATH = Path("greenvoc-results") / "greenvoc.db"


def default_db_url() -> str:
    """``GREENVOC_DB`` if set, else an SQLite file under ``./greenvoc-results/``."""
    return os.environ.get("GREENVOC_DB") or f"sqlite:///{DEFAULT_DB_PATH}"


def store_error_advice(backend: str) -> str:
    """What to do when the results database cannot be read or written."""
    if backend == "sqlite":
        return ("check that the folder is writable and the disk has free space (df -h), "
                "then run the same command again")
    return (f"check that the {backend} server is running and reachable (pg_isready for "
            "PostgreSQL) and that the user may write, then run the same command again")
