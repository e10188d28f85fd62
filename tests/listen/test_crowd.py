"""Crowdsourcing: Prolific and MTurk ids stored with the rater, one session per participant, the
completion code or link at the end, and `listen create`'s flags."""

from __future__ import annotations

import argparse
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from greenvoc.commands import listen as listen_command
from greenvoc.errors import UsageError
from greenvoc.listen.app import create_app
from greenvoc.listen.build import create_study
from greenvoc.listen.sessions import Refused, participant_from
from greenvoc.store.listen_tables import ListenRaterRow
from tests.listen.fixtures import Rater, make_run, make_study

ADMIN = "admin-token-for-the-crowd-tests-0123456"
PROLIFIC = {"PROLIFIC_PID": "5f1e2d3c4b5a69788796a5b4", "STUDY_ID": "st-1", "SESSION_ID": "se-1"}
URL = "https://app.prolific.com/submissions/complete?cc=C1A2B3C4"


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    study, store = make_study(tmp_path_factory.mktemp("crowd"), "ab", n_utts=1,
                              run_models=("clean", "noisy"), completion_url=URL,
                              completion_code="C1A2B3C4")
    return study, store, TestClient(create_app(study, store, ADMIN))


def register(c: TestClient, participant: dict | None):
    return c.post("/api/register", json={"consent": True, "participant": participant})


def test_prolific_ids_are_stored_with_the_rater_and_the_end_page_gets_the_code(crowd):
    study, store, c = crowd
    r = register(c, PROLIFIC)
    assert r.status_code == 201
    rater = Rater(c, study, r.json()["token"])
    final = rater.complete()
    assert final["stage"] == "done" and final["platform"] == "prolific"
    assert final["completion"] == {"code": "C1A2B3C4", "url": URL}
    with store.session() as session:
        row = session.scalar(select(ListenRaterRow).where(ListenRaterRow.id == final["rater"]))
    assert row.participant_id == f"prolific:{PROLIFIC['PROLIFIC_PID']}"
    assert row.participant["ids"] == PROLIFIC
    again = register(c, PROLIFIC | {"SESSION_ID": "se-2"})
    assert again.status_code == 409 and "completed" in again.json()["detail"]
    # the code and link are shown only at the end
    fresh = Rater(c, study).register()
    assert "completion" not in fresh.session()


def test_a_participant_takes_the_study_once(crowd):
    _, _, c = crowd
    mturk = {"workerId": "A1B2C3D4E5", "assignmentId": "3XYZ", "hitId": "H1"}
    assert register(c, mturk).status_code == 201
    again = register(c, mturk | {"assignmentId": "3ABC"})
    assert again.status_code == 409 and "another browser" in again.json()["detail"]
    assert register(c, {"workerId": "OTHER1", "assignmentId": "3XYZ"}).status_code == 201


def test_an_mturk_preview_cannot_start_and_bad_ids_are_refused(crowd):
    _, _, c = crowd
    preview = register(c, {"workerId": "W9", "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert preview.status_code == 422 and "accept" in preview.json()["detail"]
    assert register(c, {"PROLIFIC_PID": "<script>"}).status_code == 422
    assert register(c, {"email": "a@b.c"}).status_code == 422
    assert register(c, None).status_code == 201  # a plain link: no platform


def test_participant_from_url_parameters():
    assert participant_from({"STUDY_ID": "x"}) is None  # no participant id: not a crowd rater
    p = participant_from({"workerId": "W1", "assignmentId": "A1"})
    assert p == {"platform": "mturk", "id": "mturk:W1",
                 "ids": {"workerId": "W1", "assignmentId": "A1"}}
    with pytest.raises(Refused):
        participant_from({"PROLIFIC_PID": "x" * 65})


def test_create_rejects_bad_crowd_options(tmp_path):
    store, run_id, _ = make_run(tmp_path, models=("clean", "noisy"), n_utts=1)
    out = tmp_path / "s.yaml"
    with pytest.raises(UsageError, match="--completion-url"):
        create_study(store, out, "ab", run=run_id, completion_url="javascript:alert(1)")
    with pytest.raises(UsageError, match="--completion-code"):
        create_study(store, out, "ab", run=run_id, completion_code="has space")
    with pytest.raises(UsageError, match="--ab-choices with-tie applies to --type ab"):
        create_study(store, out, "mushra", run=run_id, ab_choices="with-tie")
    with pytest.raises(UsageError, match="--headphone-attempts"):
        create_study(store, out, "ab", run=run_id, headphone_attempts=0)


def test_listen_create_cli_writes_the_crowd_settings(tmp_path, capsys):
    store, run_id, _ = make_run(tmp_path, models=("clean", "noisy"), n_utts=1)
    parser = argparse.ArgumentParser()
    listen_command.register(parser.add_subparsers())
    args = parser.parse_args([
        "listen", "create", "--from-run", str(run_id), "--type", "ab", "--ab-choices",
        "with-tie", "--completion-url", URL, "--completion-code", "C1A2B3C4",
        "--headphone-attempts", "3", "--out", str(tmp_path / "study.yaml"), "--db", store.url,
        "--json"])
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["ab_choices"], doc["completion_url"], doc["completion_code"],
            doc["headphone_attempts"]) == ("with-tie", URL, "C1A2B3C4", 3)
