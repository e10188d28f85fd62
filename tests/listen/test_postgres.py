"""The listening test on a real PostgreSQL server (which, unlike SQLite, enforces the foreign
keys the group commit must respect): raters of a crowd study from registration to export."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from greenvoc.listen.app import create_app
from greenvoc.listen.build import create_study
from greenvoc.listen.storage import load_records
from greenvoc.store import ResultStore
from greenvoc.testing.postgres import postgres_server
from greenvoc.testing.system import require_postgres
from tests.listen.fixtures import Rater, make_run

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-postgres-tests-0123"


def test_a_mushra_study_on_postgres_from_registration_to_export(tmp_path):
    _, run_id, _ = make_run(tmp_path, n_utts=2)
    sqlite_store = ResultStore(f"sqlite:///{tmp_path / 'db' / 'greenvoc.db'}")
    study = create_study(sqlite_store, tmp_path / "study" / "study.yaml", "mushra",
                         run=run_id, completion_code="PGDONE1")
    with postgres_server(require_postgres()) as url:
        store = ResultStore(url)
        c = TestClient(create_app(study, store, ADMIN))
        raters = []
        for k in range(3):
            r = c.post("/api/register", json={"consent": True, "participant": {
                "PROLIFIC_PID": f"pg{k}", "STUDY_ID": "s", "SESSION_ID": f"x{k}"}})
            assert r.status_code == 201, r.text
            raters.append(Rater(c, study, r.json()["token"]))
        finals = [rater.complete(score=95) for rater in raters]
        assert all(f["completion"]["code"] == "PGDONE1" for f in finals)
        # a resubmission, to a second server on the same database, is recognised
        rows = c.get("/admin/api/export.json", headers={"Authorization": f"Bearer {ADMIN}"}
                     ).json()["ratings"]
        item = next(r["item_id"] for r in rows if r["rater_id"] == finals[0]["rater"])
        scores = {r["stimulus_id"]: r["score"] for r in rows
                  if r["rater_id"] == finals[0]["rater"] and r["item_id"] == item}
        second = TestClient(create_app(study, ResultStore(url), ADMIN))
        again = second.post("/api/ratings", headers=raters[0].headers,
                            json={"item": item, "scores": scores})
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert len(load_records(store, study_id=study.id)) == 3 * (1 + 2) * 5
        export = c.get("/admin/api/export.json", headers={"Authorization": f"Bearer {ADMIN}"})
        assert len(export.json()["ratings"]) == 45
        summary = c.get("/admin/api/summary", headers={"Authorization": f"Bearer {ADMIN}"})
        assert {x["mean"] for x in summary.json()["summary"]["conditions"]} == {95.0}
        store.engine.dispose()
