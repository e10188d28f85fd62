"""The admin side: a login form that sets an HttpOnly cookie (no token in a URL), HTML error
pages, the live per-condition summary with its intervals and the screening view."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from greenvoc.listen.app import create_app
from greenvoc.listen.records import REFERENCE
from tests.listen.fixtures import Rater, make_study

ADMIN = "admin-token-for-the-admin-tests-0123456789"


@pytest.fixture(scope="module")
def mushra(tmp_path_factory):
    study, store = make_study(tmp_path_factory.mktemp("admin"), "mushra", n_utts=2)
    return study, store, TestClient(create_app(study, store, ADMIN))


def rate_mushra(c: TestClient, study, reference_score: float) -> str:
    """One rater: the hidden reference gets ``reference_score``, every other condition a score
    by its quality; returns the rater id."""
    conditions = {s.id: s.condition for s in study.stimuli().values()}
    by_condition = {"clean/fp32": 85, "lp4k/fp32": 60, "noisy/fp32": 35}
    rater = Rater(c, study).register()
    state = rater.pass_check()
    while state["page"] is not None:
        page = state["page"]
        for s in (*page["stimuli"], page["reference"]):
            rater.play(s, "started")
        scores = {s: reference_score if conditions[s] == REFERENCE
                  else by_condition.get(conditions[s], 10) for s in page["stimuli"]}
        r = c.post("/api/ratings", json={"item": page["item"], "scores": scores},
                   headers=rater.headers)
        assert r.status_code == 200, r.text
        state = r.json()
    return state["rater"]


def test_login_form_sets_an_httponly_cookie_and_no_token_travels_in_a_url(mushra):
    _, _, c = mushra
    c.cookies.clear()
    page = c.get("/admin")
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert 'action="/admin/login"' in page.text and 'type="password"' in page.text
    wrong = c.post("/admin/login", data={"token": "not-it"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Wrong admin token" in wrong.text
    assert "set-cookie" not in wrong.headers
    ok = c.post("/admin/login", data={"token": ADMIN}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/admin"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    assert ADMIN.lower() not in cookie  # a session key, not the token
    dashboard = c.get("/admin")
    assert dashboard.status_code == 200 and 'data-page="admin"' in dashboard.text
    assert "admin.js" in dashboard.text and ADMIN not in dashboard.text
    assert c.get("/admin/api/progress").status_code == 200
    c.post("/admin/logout", follow_redirects=False)
    assert c.get("/admin/api/progress").status_code == 401
    c.cookies.clear()


def test_errors_are_html_pages_outside_the_api_and_json_inside(mushra):
    _, _, c = mushra
    page = c.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "detail" not in page.text
    api = c.get("/api/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    denied = c.get("/admin", headers={"Authorization": "Bearer wrong"})
    assert denied.status_code == 403 and "<h1>Not allowed</h1>" in denied.text


def test_live_summary_per_condition_with_intervals_and_the_screening_view(mushra):
    study, _, c = mushra
    kept = [rate_mushra(c, study, 100) for _ in range(3)]
    excluded = rate_mushra(c, study, 50)  # misses the hidden reference on every page
    doc = c.get("/admin/api/summary", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    s = doc["summary"]
    assert sorted(s["raters"]["kept"]) == sorted(kept) and s["raters"]["excluded"] == [excluded]
    by_cond = {x["condition"]: x for x in s["conditions"]}
    assert by_cond["clean/fp32"]["mean"] == 85 and by_cond["noisy/fp32"]["mean"] == 35
    assert by_cond[REFERENCE]["n"] == 3 * 2  # 3 kept raters × 2 pages, training left out
    for x in s["conditions"]:
        assert {"ci95_t_low", "ci95_t_high", "ci95_bootstrap_low", "ci95_bootstrap_high"} <= set(x)
    assert "Student-t" in s["intervals"] and "bootstrap" in s["intervals"]
    (why,) = [e for e in doc["screening"]["excluded_from_statistics"] if e["rater"] == excluded]
    assert why["reason"] == "hidden_reference" and "below 90" in why["detail"]
    assert doc["screening"]["headphone_test"].startswith("Woods et al. 2017")
