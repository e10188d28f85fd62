"""The results database on a real PostgreSQL server, started by the test on a local socket.

Skipped where PostgreSQL's server binaries (initdb, pg_ctl) or psycopg are absent; CI's machine
has both (Debian's postgresql 15, and psycopg from the dev extra).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, done_keys, get_or_create_run, load_result_rows

INITDB, PG_CTL = shutil.which("initdb"), shutil.which("pg_ctl")


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the server as the 'postgres' account if we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root without a 'postgres' account to start the server")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    if not INITDB or not PG_CTL:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix = _as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="greenvoc-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run([*prefix, INITDB, "-D", str(data), "-U", "greenvoc", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, PG_CTL, "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                    f"-k {sock} -c listen_addresses='' -p 54329", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://greenvoc@/postgres?host={sock}&port=54329"
    finally:
        subprocess.run([*prefix, PG_CTL, "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_runs_results_and_resume_keys_on_postgres(postgres_url):
    store = ResultStore(postgres_url)
    run_id, resumed = get_or_create_run(store, {"models": ["a"], "metrics": ["stoi"]}, 0, {})
    assert not resumed
    assert get_or_create_run(store, {"metrics": ["stoi"], "models": ["a"]}, 0, {}) == (run_id,
                                                                                     True)
    row = dict(model="a", variant="fp32", utterance="u1", family="gan", has_weights=True,
               audio_s=1.0, energy_j=2.0, metrics={"stoi": 0.9})
    assert add_result(store, run_id, **row)
    assert not add_result(store, run_id, **row)  # the unique key refuses a duplicate
    assert done_keys(store, run_id) == {("a", "fp32", "u1")}
    info, rows = load_result_rows(postgres_url, "latest")
    assert info["run"] == run_id and rows[0]["stoi"] == 0.9 and rows[0]["energy_j"] == 2.0
    ResultStore(postgres_url)  # reopening checks the schema version and changes nothing
