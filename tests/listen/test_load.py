"""Load on a real uvicorn server over SQLite: 50 raters × 20 ratings at once, every rating
stored; and a server SIGKILLed under that load loses no acknowledged rating."""

from __future__ import annotations

import pytest

from tests.listen.fixtures import load_benchmark, make_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def acr(tmp_path_factory):
    # 4 training + 14 clips + 1 gold + 1 trap = 20 rated pages per rater
    return make_study(tmp_path_factory.mktemp("load"), "acr", per_rater=14, n_utts=5)


def test_50_concurrent_raters_each_submitting_20_ratings_store_exactly_1000(acr):
    study, store = acr
    load = load_benchmark()
    with load.Server(study.path, store.url) as server:
        result = load.run_load(server, study, store.url, raters=50, ratings=20)
    print("\n" + result.line())
    assert len(result.acked) == len(result.latencies_s) == 1000 and result.stored == 1000
    # the figure to beat is p95 < 150 ms (benchmarks/listen_load.py); this machine is shared,
    # so the test only bounds it
    assert result.quantile_ms(0.95) < 1000


def test_a_server_killed_under_load_keeps_every_acknowledged_rating(acr):
    study, store = acr
    load = load_benchmark()
    with load.Server(study.path, store.url) as server:
        # run_load reopens the database after the kill and raises if an acknowledged rating
        # is missing
        result = load.run_load(server, study, store.url, raters=50, ratings=20, kill_after=300)
    print(f"\nkilled after {len(result.acked)} acknowledged ratings; {result.failed} raters "
          f"cut off; {result.stored} ratings stored")
    assert len(result.acked) >= 300 and result.failed > 0
    assert result.stored >= len(result.acked)
