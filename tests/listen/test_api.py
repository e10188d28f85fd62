"""The listening-test API over real audio and a real SQLite results database."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from greenvoc.commands import listen as listen_command
from greenvoc.listen.app import create_app
from greenvoc.listen.records import ANCHOR_LOWPASS_3K5, REFERENCE
from greenvoc.listen.storage import load_records
from greenvoc.store import ResultStore
from tests.listen.fixtures import Rater, make_study

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def acr(tmp_path_factory):
    study, store = make_study(tmp_path_factory.mktemp("acr"), "acr", per_rater=4)
    return study, store


def client(study, store) -> TestClient:
    return TestClient(create_app(study, store, ADMIN))


def test_acr_session_stores_every_page_with_its_kind(acr):
    study, store = acr
    c = client(study, store)
    rater = Rater(c, study).register()
    assert rater.session()["stage"] == "instructions"
    final = rater.complete(score=4)
    assert final["stage"] == "done" and final["done"] == final["pages"] == 4 + 4 + 2
    records = [r for r in load_records(store, study_id=study.id) if r.rater == final["rater"]]
    kinds = sorted(r.kind for r in records)
    assert kinds == ["gold", "rating", "rating", "rating", "rating",
                     "training", "training", "training", "training", "trap"]
    gold = next(r for r in records if r.kind == "gold")
    assert (gold.condition, gold.expected, gold.model) == (REFERENCE, 5.0, None)
    assert next(r for r in records if r.kind == "trap").expected == 2.0
    rated = [r for r in records if r.kind == "rating"]
    assert all(r.model in ("clean", "lp4k", "noisy") and r.variant == "fp32" for r in rated)
    assert {r.test_type for r in records} == {"acr"} and {r.run_id for r in records} == {
        study.run_id}
    assert load_records(store, run_id=study.run_id) and not load_records(store, run_id=999)


def test_rating_needs_the_clip_played_and_resubmission_is_idempotent(acr):
    study, store = acr
    c = client(study, store)
    rater = Rater(c, study).register()
    page = rater.pass_check()["page"]
    r = rater.rate(page, 5, play=False)
    assert r.status_code == 409 and "play" in r.json()["detail"]
    assert rater.play(page["stimuli"][0]) == 204
    first = c.post("/api/ratings", json=rater.body(page, 5), headers=rater.headers)
    assert first.status_code == 200 and first.json()["stored"] is True
    again = c.post("/api/ratings", json=rater.body(page, 5), headers=rater.headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other = c.post("/api/ratings", json=rater.body(page, 1), headers=rater.headers)
    assert other.status_code == 409
    mine = [x for x in load_records(store, study_id=study.id) if x.rater == first.json()["rater"]]
    assert len(mine) == 1 and mine[0].score == 5


def test_a_rater_who_closes_the_tab_continues_where_they_stopped(acr):
    study, store = acr
    rater = Rater(client(study, store), study).register()
    state = rater.pass_check()
    for _ in range(3):
        state = rater.rate(state["page"], 3).json()
    # a new browser (new client, same token link) resumes on the next page
    again = Rater(client(study, store), study, rater.token).session()
    assert again["done"] == 3 and again["page"] == state["page"]


def test_raters_get_different_seeded_orders(acr):
    study, store = acr
    c = client(study, store)
    plans = [Rater(c, study).register().pass_check() for _ in range(2)]
    assert plans[0]["page"]["index"] == plans[1]["page"]["index"] == 0  # training comes first
    a, b = (Rater(c, study).register() for _ in range(2))
    assert a.session()["rater"] != b.session()["rater"]


def test_mushra_page_holds_every_condition_and_the_open_reference(tmp_path):
    study, store = make_study(tmp_path, "mushra", n_utts=2)
    rater = Rater(client(study, store), study).register()
    page = rater.pass_check()["page"]
    assert page["reference"] and len(page["stimuli"]) == 3 + 2
    rater.complete(score=70)
    conditions = {r.condition for r in load_records(store, study_id=study.id)}
    assert conditions == {"clean/fp32", "lp4k/fp32", "noisy/fp32", REFERENCE, ANCHOR_LOWPASS_3K5}


def test_ab_choice_is_stored_as_one_preferred_and_one_not(tmp_path):
    study, store = make_study(tmp_path, "ab", n_utts=1, run_models=("clean", "noisy"))
    Rater(client(study, store), study).complete()
    rated = [r for r in load_records(store, study_id=study.id) if r.kind == "rating"]
    assert sorted(r.score for r in rated) == [0.0, 1.0]
    assert {r.condition for r in rated} == {"clean/fp32", "noisy/fp32"}


def test_admin_progress_export_and_invited_raters(acr):
    study, store = acr
    c = client(study, store)
    invite = c.post("/admin/api/raters", headers={"X-Admin-Token": ADMIN})
    assert invite.status_code == 201 and invite.json()["link"].startswith("/?token=")
    invited = Rater(c, study, invite.json()["token"])
    assert invited.session()["stage"] == "consent"
    assert c.post("/api/stage", json={"stage": "check"}, headers=invited.headers).status_code \
        == 409
    assert c.post("/api/consent", json={"consent": True},
                  headers=invited.headers).status_code == 200
    invited.complete(score=2)
    progress = c.get("/admin/api/progress", headers={"X-Admin-Token": ADMIN}).json()
    assert progress["completed"] >= 1 and progress["ratings"] == len(
        load_records(store, study_id=study.id))
    exported = c.get(f"/admin/api/export.csv?token={ADMIN}")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == progress["ratings"] and {"condition", "score", "kind"} <= set(rows[0])
    doc = c.get("/admin/api/export.json", headers={"X-Admin-Token": ADMIN}).json()
    assert len(doc["ratings"]) == progress["ratings"]
    assert "data-page=\"admin\"" in c.get(f"/admin?token={ADMIN}").text


def test_restart_durability_a_second_app_sees_everything_acknowledged(tmp_path):
    study, store = make_study(tmp_path, "acr", per_rater=3)
    rater = Rater(client(study, store), study).register()
    state = rater.pass_check()
    acknowledged = 0
    for _ in range(5):
        r = rater.rate(state["page"], 4)
        acknowledged += r.status_code == 200
        state = r.json()
    store.engine.dispose()  # the first server is gone
    reopened = ResultStore(store.url)
    second = client(study, reopened)
    export = second.get("/admin/api/export.json", headers={"X-Admin-Token": ADMIN}).json()
    assert len(export["ratings"]) == acknowledged == 5
    assert Rater(second, study, rater.token).session()["done"] == 5


def test_listen_results_cli_summarises_the_stored_ratings(acr, capsys):
    study, store = acr
    c = client(study, store)
    for score in (3, 4):
        Rater(c, study).complete(score=score)
    parser = argparse.ArgumentParser()
    listen_command.register(parser.add_subparsers())  # as `greenvoc` does, without torch
    args = parser.parse_args(["listen", "results", str(study.path), "--db", store.url, "--json"])
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["test_type"] == "acr" and doc["n_records"] >= 20
