"""Human MOS as a Pareto quality: rows with ratings rank, rows without are left unranked, and a
run with no ratings is a usage error that says how to collect them."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from greenvoc.analysis.objectives import HUMAN_OBJECTIVES, get_objective, objective_names
from greenvoc.analysis.study import analyze
from greenvoc.cli import main
from greenvoc.listen.human_mos import attach_human_mos
from greenvoc.listen.records import RatingRecord

from .conftest import UTTERANCES, zoo_rows

#: listener MOS of the rated models; melgan, waveglow and wavenet are never rated
HEARD = {("hifigan_v1", "fp32"): 4.5, ("hifigan_v1", "int8"): 4.0,
         ("hifigan_v3", "fp32"): 3.0, ("vocos", "fp32"): 4.4}


def records(run=1) -> list[RatingRecord]:
    out = []
    for (model, variant), mos in HEARD.items():
        for utt in UTTERANCES[:4]:
            for rater, delta in (("r1", -0.5), ("r2", 0.5)):  # mean = mos
                out.append(RatingRecord("s1", rater, "acr", f"{model}:{utt}",
                                        f"{model}/{variant}", model, variant, utt, mos + delta,
                                        run_id=run))
    return out


def test_human_objectives_are_declared_quality_columns():
    mos = get_objective("human_mos", "quality")
    assert mos.higher_is_better and mos.unit == "MOS 1–5" and mos.range == (1.0, 5.0)
    assert mos.label == "human MOS (P.808 ACR)"
    assert set(HUMAN_OBJECTIVES) <= set(objective_names("quality"))
    assert "human_mushra" not in objective_names("cost")


def test_analyze_ranks_only_the_rated_models():
    rows = attach_human_mos(zoo_rows(), records())
    a = analyze(rows, quality="human_mos", n_resamples=50)
    ranked = {(m.point.model, m.point.variant): m for m in a.models}
    assert set(ranked) == set(HEARD)
    for key, mos in HEARD.items():
        assert ranked[key].point.get("human_mos") == pytest.approx(mos)
    # energy J/s: v3 2, vocos 4, v1-int8 6, v1 12; MOS 3.0, 4.4, 4.0, 4.5
    assert {m.point.model + "/" + m.point.variant for m in a.front} == {
        "hifigan_v3/fp32", "vocos/fp32", "hifigan_v1/fp32"}
    assert ranked[("hifigan_v1", "int8")].rank == 2
    assert {p.model for p in a.cost_only} == {"melgan", "waveglow", "wavenet"}


def _store_run(url: str) -> int:
    from greenvoc.store.db import ResultStore
    from greenvoc.store.results import add_result, get_or_create_run

    store = ResultStore(url)
    run, _ = get_or_create_run(store, {"models": ["zoo"], "metrics": ["dnsmos_ovrl"]}, 0,
                               {"hardware": {"cpu": "test"}})
    for r in zoo_rows():
        add_result(store, run, model=r["model"], variant=r["variant"], family=r["family"],
                   utterance=r["utterance"], has_weights=r["has_weights"],
                   energy_j_per_audio_s=r["energy_j_per_audio_s"], error=r["error"],
                   energy_measured=True, energy_method="rapl",
                   metrics={"dnsmos_ovrl": r["dnsmos_ovrl"]})
    return run


def test_pareto_on_human_mos_without_ratings_says_how_to_get_them(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    run = _store_run(url)
    code = main(["pareto", "--quality", "human_mos", "--db", url, "--json", "--resamples", "20"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert f"run {run} has no human ratings" in err
    assert "greenvoc listen create" in err and "greenvoc listen serve" in err
    # the objective rows of the same run still rank on a metric
    assert main(["pareto", "--db", url, "--json", "--resamples", "20"]) == 0


def _store_ratings(url: str, run: int) -> None:
    from greenvoc.store.db import ResultStore
    from greenvoc.store.listen_tables import ListenRaterRow, ListenRatingRow, ListenStudyRow

    now = datetime(2026, 1, 1)
    with ResultStore(url).session() as session, session.begin():
        session.add(ListenStudyRow(id="s1", created_at=now, test_type="acr", run_id=run, seed=0,
                                   config={}))
        for i, rater in enumerate(("r1", "r2")):
            session.add(ListenRaterRow(id=rater, study_id="s1", token_sha256=str(i) * 64,
                                       created_at=now, stage="done", order_index=i, plan=[]))
        session.flush()
        for rec in records(run):
            session.add(ListenRatingRow(
                study_id="s1", rater_id=rec.rater, item_id=rec.item, stimulus_id=rec.item,
                condition=rec.condition, model=rec.model, variant=rec.variant,
                utterance=rec.utterance, kind="rating", expected=None, score=rec.score,
                created_at=now))


def test_pareto_cli_ranks_rated_models_from_the_store(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    run = _store_run(url)
    _store_ratings(url, run)
    code = main(["pareto", "--quality", "human_mos", "--db", url, "--json", "--resamples", "50"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["quality"] == "human_mos"
    got = {(m["model"], m["variant"]): m["quality"] for m in doc["models"]}
    assert got == pytest.approx(HEARD)
    assert {m["model"] + "/" + m["variant"] for m in doc["front"]} == {
        "hifigan_v3/fp32", "vocos/fp32", "hifigan_v1/fp32"}


def test_load_run_attaches_only_the_ratings_of_that_run(tmp_path):
    from greenvoc.analysis.runs import load_run
    from greenvoc.store.db import ResultStore
    from greenvoc.store.results import add_result, get_or_create_run

    url = f"sqlite:///{tmp_path / 'g.db'}"
    run = _store_run(url)
    _store_ratings(url, run)
    other, _ = get_or_create_run(ResultStore(url), {"models": ["other"]}, 0, {})
    add_result(ResultStore(url), other, model="vocos", variant="fp32", family="vocos",
               utterance=UTTERANCES[0], has_weights=True)
    _, rows = load_run(url, str(run))
    rated = [r for r in rows if r["model"] == "vocos" and r["utterance"] == UTTERANCES[0]]
    assert rated[0]["human_mos"] == pytest.approx(4.4)
    _, rows = load_run(url, str(other))
    assert "human_mos" not in rows[0]  # no study of that run: rows unchanged


def test_load_run_without_the_listen_storage_module_leaves_rows_alone(tmp_path, monkeypatch):
    import sys

    from greenvoc.analysis.runs import load_run

    url = f"sqlite:///{tmp_path / 'g.db'}"
    run = _store_run(url)
    _store_ratings(url, run)
    monkeypatch.setitem(sys.modules, "greenvoc.listen.storage", None)  # as if not installed
    _, rows = load_run(url, str(run))
    assert rows and all("human_mos" not in r for r in rows)
