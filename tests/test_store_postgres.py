"""The results database on a real PostgreSQL server, started by the test on a local socket.

``make test`` installs Debian's postgresql when run as root and then requires it: a missing
server fails these tests there (elsewhere they are skipped with the install command).
"""

from __future__ import annotations

import pytest

from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, done_keys, get_or_create_run, load_result_rows
from greenvoc.testing.postgres import postgres_server
from greenvoc.testing.system import require_postgres


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server(require_postgres()) as url:
        yield url


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
