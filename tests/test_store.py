"""The results database: creation, schema checks, migration, foreign databases, bad URLs."""

from __future__ import annotations

import sqlite3

import pytest

from greenvoc.errors import StoreError, UsageError
from greenvoc.store import ResultStore
from greenvoc.store.schema import SCHEMA_VERSION


def test_creates_the_file_and_records_the_schema_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'g.db'}"
    store = ResultStore(url)
    rid = store.add_measurement(name="x", command=None, exit_code=0, duration_s=1.0,
                                energy_j=2.0, measured=False, carbon_g=0.1,
                                intensity_g_per_kwh=50.0, country="FR", pue=1.0,
                                components={}, environment={})
    assert rid == 1
    with sqlite3.connect(tmp_path / "sub" / "g.db") as conn:
        (version,) = conn.execute(
            "select value from greenvoc_meta where key='schema_version'").fetchone()
    assert int(version) == SCHEMA_VERSION


def test_an_older_schema_is_migrated_in_place(tmp_path):
    db = tmp_path / "old.db"
    ResultStore(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        conn.execute("drop table runs")
        conn.execute("alter table results drop column variant_detail")  # as in a v2 database
        conn.execute("update greenvoc_meta set value='1' where key='schema_version'")
    ResultStore(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        (version,) = conn.execute("select value from greenvoc_meta").fetchone()
        columns = {r[1] for r in conn.execute("pragma table_info(results)")}
    assert {"runs", "results", "measurements"} <= tables and int(version) == SCHEMA_VERSION
    assert "variant_detail" in columns


def test_a_newer_schema_or_a_foreign_database_is_refused(tmp_path):
    db = tmp_path / "new.db"
    ResultStore(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        conn.execute("update greenvoc_meta set value='99' where key='schema_version'")
    with pytest.raises(StoreError, match="newer than this greenvoc"):
        ResultStore(f"sqlite:///{db}")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table customers (id integer)")
    with pytest.raises(StoreError, match="not a greenvoc database"):
        ResultStore(f"sqlite:///{other}")


def test_bad_urls(tmp_path):
    with pytest.raises(UsageError, match="not an SQLAlchemy URL"):
        ResultStore("not a url")
    with pytest.raises(StoreError, match="driver"):
        ResultStore("postgresql+nosuchdriver://u@127.0.0.1/db")


def test_measure_fast_append_writes_what_sqlalchemy_reads_back(tmp_path):
    from datetime import datetime

    from greenvoc.store.schema import MeasurementRow
    from greenvoc.store.sqlite_append import MEASUREMENT_COLUMNS, append_measurement

    assert sorted(MEASUREMENT_COLUMNS) == sorted(c.name for c in MeasurementRow.__table__.columns)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    fields = dict(name="command", command="true", exit_code=0, duration_s=0.5, energy_j=1.25,
                  measured=False, carbon_g=0.01, intensity_g_per_kwh=480.0, country="WORLD",
                  pue=1.0, components={"cpu": {"energy_j": 1.25, "method": "estimate"}},
                  environment={"git_commit": "abc", "hardware": {"logical_cpus": 2}})
    assert append_measurement(url, **fields) is None  # no database yet: the caller creates it
    store = ResultStore(url)
    first = store.add_measurement(**fields)
    at = datetime(2026, 12, 3, 14, 5, 6, 123456)
    second = append_measurement(url, created_at=at, **fields)
    assert second == first + 1
    rows = {r.id: r for r in ResultStore(url).measurements()}
    fast, slow = rows[second], rows[first]
    for column in MEASUREMENT_COLUMNS:
        if column not in ("id", "created_at"):
            assert getattr(fast, column) == getattr(slow, column), column
    assert fast.created_at == at and fast.measured is False
    assert append_measurement("postgresql+psycopg://u@h/db", **fields) is None


def test_measure_fast_append_refuses_another_schema_version(tmp_path):
    import sqlite3

    from greenvoc.store.sqlite_append import append_measurement

    db = tmp_path / "g.db"
    ResultStore(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE greenvoc_meta SET value = '999' WHERE key = 'schema_version'")
    assert append_measurement(f"sqlite:///{db}", name="x", command=None, exit_code=0,
                              duration_s=1.0, energy_j=1.0, measured=False, carbon_g=0.0,
                              intensity_g_per_kwh=1.0, country="FR", pue=1.0, components={},
                              environment={}) is None
