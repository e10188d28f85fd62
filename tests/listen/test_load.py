"""Bounded load on a real uvicorn server over SQLite: 50 raters × 20 ratings at once."""

from __future__ import annotations

import pytest

from tests.listen.fixtures import load_benchmark, make_study


@pytest.mark.slow
def test_50_concurrent_raters_each_submitting_20_ratings_store_exactly_1000(tmp_path):
    load = load_benchmark()
    # 4 training + 14 clips + 1 gold + 1 trap = 20 rated pages per rater
    study, store = make_study(tmp_path, "acr", per_rater=14, n_utts=5)
    with load.Server(study.path, store.url) as server:
        result = load.run_load(server, study.check.id, study.check_beeps, raters=50, ratings=20)
    print("\n" + result.line())
    assert result.stored == 1000 and len(result.latencies_s) == 1000
    assert result.quantile_ms(0.95) < 5000  # bounded: no request starves
