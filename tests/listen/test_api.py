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
BEARER = {"Authorization": f"Bearer {ADMIN}"}


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
    invite = c.post("/admin/api/raters", headers=BEARER)
    assert invite.status_code == 201 and invite.json()["link"].startswith("/?token=")
    invited = Rater(c, study, invite.json()["token"])
    assert invited.session()["stage"] == "consent"
    assert c.post("/api/stage", json={"stage": "check"}, headers=invited.headers).status_code \
        == 409
    assert c.post("/api/consent", json={"consent": True},
                  headers=invited.headers).status_code == 200
    invited.complete(score=2)
    progress = c.get("/admin/api/progress", headers=BEARER).json()
    assert progress["completed"] >= 1 and progress["ratings"] == len(
        load_records(store, study_id=study.id))
    mine = next(r for r in progress["raters"] if r["rater"] == invite.json()["rater"])
    # pages count the rated pages only; the 4 practice pages are counted apart
    assert (mine["rated"], mine["pages"], mine["training_rated"], mine["training_pages"]) == (
        4 + 2, 4 + 2, 4, 4)
    exported = c.get("/admin/api/export.csv", headers=BEARER)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == progress["ratings"] and {"condition", "score", "kind"} <= set(rows[0])
    doc = c.get("/admin/api/export.json", headers=BEARER).json()
    assert len(doc["ratings"]) == progress["ratings"]
    assert "data-page=\"admin\"" in c.get("/admin", headers=BEARER).text


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
    export = second.get("/admin/api/export.json", headers=BEARER).json()
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


def test_ab_with_tie_stores_half_a_vote_each_and_forced_refuses_a_tie(tmp_path):
    study, store = make_study(tmp_path / "tie", "ab", n_utts=1, run_models=("clean", "noisy"),
                              ab_choices="with-tie")
    c = client(study, store)
    rater = Rater(c, study).register()
    state = rater.pass_check()
    while state["page"] is not None:
        for stim in state["page"]["stimuli"]:
            rater.play(stim, "started")
        r = c.post("/api/ratings", json={"item": state["page"]["item"], "choice": "tie"},
                   headers=rater.headers)
        assert r.status_code == 200, r.text
        state = r.json()
    rated = [r for r in load_records(store, study_id=study.id) if r.kind == "rating"]
    assert sorted(r.score for r in rated) == [0.5, 0.5]
    forced, fstore = make_study(tmp_path / "forced", "ab", n_utts=1,
                                run_models=("clean", "noisy"))
    fc = client(forced, fstore)
    other = Rater(fc, forced).register()
    page = other.pass_check()["page"]
    for s in page["stimuli"]:
        other.play(s, "started")
    r = fc.post("/api/ratings", json={"item": page["item"], "choice": "tie"},
                headers=other.headers)
    assert r.status_code == 422 and "one of the two clips" in r.json()["detail"]


def test_mushra_needs_the_reference_played_and_any_part_of_each_clip_counts(tmp_path):
    study, store = make_study(tmp_path, "mushra", n_utts=1)
    c = client(study, store)
    rater = Rater(c, study).register()
    page = rater.pass_check()["page"]
    body = {"item": page["item"], "scores": {s: 80 for s in page["stimuli"]}}
    for s in page["stimuli"]:
        assert rater.play(s, "started") == 204  # switched to mid-clip: never reached the end
    r = c.post("/api/ratings", json=body, headers=rater.headers)
    assert r.status_code == 409 and "1 unplayed" in r.json()["detail"]  # the reference
    rater.play(page["reference"], "started")
    assert c.post("/api/ratings", json=body, headers=rater.headers).status_code == 200


def test_acr_needs_its_clip_played_to_the_end(acr):
    study, store = acr
    c = client(study, store)
    rater = Rater(c, study).register()
    page = rater.pass_check()["page"]
    rater.play(page["stimuli"][0], "started")
    body = rater.body(page, 4)
    assert c.post("/api/ratings", json=body, headers=rater.headers).status_code == 409
    rater.play(page["stimuli"][0], "ended")
    assert c.post("/api/ratings", json=body, headers=rater.headers).status_code == 200


def test_consent_estimate_is_computed_from_the_study(tmp_path):
    from greenvoc.listen.study import durations_s, rater_plan, session_estimate_s

    small, store = make_study(tmp_path / "s", "mushra", n_utts=1)
    big, bstore = make_study(tmp_path / "b", "mushra", n_utts=8)
    est = [session_estimate_s(s, rater_plan(s, 0), durations_s(s)) for s in (small, big)]
    # MUSHRA: 1 practice page + 1 (or 8) pages of 5 clips and the reference, each 0.5 s
    # played twice, 6 s per rated clip and 5 s per page; + the fixed steps and the check
    page_s = 2 * 6 * 0.5 + 6 * 5 + 5
    assert est[1] - est[0] == pytest.approx(7 * page_s, rel=0.01)
    minutes = [client(s, st).get("/api/study").json()["minutes"]
               for s, st in ((small, store), (big, bstore))]
    assert minutes == [max(1, round(e / 60)) for e in est] and minutes[0] < minutes[1]


def test_favicon_and_static_files(acr):
    study, store = acr
    c = client(study, store)
    for path in ("/favicon.ico", "/static/favicon.svg"):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    for name in ("app.js", "player.js", "check.js", "rate.js", "admin.js", "style.css"):
        assert c.get(f"/static/{name}").status_code == 200
    assert 'rel="icon"' in c.get("/").text


def test_a_version_5_database_gains_the_participant_columns(tmp_path):
    import sqlite3

    from greenvoc.store.defaults import SCHEMA_VERSION

    path = tmp_path / "old.db"
    ResultStore(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:  # as greenvoc 5 left it
        conn.execute("DROP INDEX ix_listen_raters_participant_id")
        conn.execute("ALTER TABLE listen_raters DROP COLUMN participant_id")
        conn.execute("ALTER TABLE listen_raters DROP COLUMN participant")
        conn.execute("UPDATE greenvoc_meta SET value = '5' WHERE key = 'schema_version'")
    ResultStore(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(listen_raters)")}
        version = conn.execute("SELECT value FROM greenvoc_meta").fetchone()[0]
    assert {"participant_id", "participant"} <= columns and int(version) == SCHEMA_VERSION == 6
