"""Every security point of the listening test: tokens (never in an audio or admin URL), own items
only, admin routes, audio by id only, validated inputs, request size limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from greenvoc.listen.app import MAX_BODY_BYTES, create_app
from greenvoc.listen.storage import token_digest
from greenvoc.store.listen_tables import ListenRaterRow
from tests.listen.fixtures import Rater, make_study

ADMIN = "s3cret-admin-token-of-the-tests-abcdef"
ADMIN_ROUTES = [("GET", "/admin"), ("GET", "/admin/api/progress"),
                ("GET", "/admin/api/summary"), ("GET", "/admin/api/export.csv"),
                ("GET", "/admin/api/export.json"), ("POST", "/admin/api/raters")]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    study, store = make_study(tmp_path_factory.mktemp("sec"), "acr", per_rater=3, n_utts=3)
    c = TestClient(create_app(study, store, ADMIN))
    a, b = Rater(c, study).register(), Rater(c, study).register()
    a.pass_check()
    b.pass_check()
    return study, store, c, a, b


def plan_of(store, rater: Rater) -> dict[str, list[str]]:
    with store.session() as session:
        rows = session.scalars(select(ListenRaterRow))
        for row in rows:
            if row.token_sha256 == token_digest(rater.token):
                return dict((i, ids) for i, ids in row.plan)
    raise AssertionError("rater not stored")


def test_rater_routes_need_a_valid_token(env):
    _, _, c, a, _ = env
    assert c.get("/api/session").status_code == 401
    assert c.get("/api/session", headers={"X-Rater-Token": "not-a-token"}).status_code == 401
    assert c.post("/api/ratings", json={"item": "x", "scores": {}}).status_code == 401
    assert c.get(f"/api/audio/{env[0].check.id}").status_code == 401
    assert c.get("/api/session", headers=a.headers).status_code == 200


def test_tokens_come_from_secrets_and_only_their_hash_is_stored(env):
    _, store, _, a, b = env
    assert len(a.token) >= 43 and a.token != b.token
    with store.session() as session:
        stored = [(r.token_sha256, r.plan) for r in session.scalars(select(ListenRaterRow))]
    assert all(a.token not in str(row) for row in stored)


def test_a_rater_reads_and_rates_only_their_own_items(env):
    _, store, c, a, b = env
    mine, theirs = plan_of(store, a), plan_of(store, b)
    foreign = [i for i in theirs if i not in mine]
    assert foreign, "the rotation gives two raters different items"
    item, stims = foreign[0], theirs[foreign[0]]
    assert c.get(f"/api/audio/{stims[0]}", headers=a.headers).status_code == 404
    assert c.post("/api/play", json={"stimulus": stims[0]}, headers=a.headers).status_code == 404
    r = c.post("/api/ratings", json={"item": item, "scores": {stims[0]: 3}}, headers=a.headers)
    assert r.status_code == 403
    own = next(iter(mine.values()))[0]
    got = c.get(f"/api/audio/{own}", headers=a.headers)
    assert got.status_code == 200 and got.content[:4] == b"RIFF"
    # a token in the URL opens nothing: audio is fetched with the header only
    assert c.get(f"/api/audio/{own}?token={a.token}").status_code == 401


@pytest.mark.parametrize("path", [
    "/api/audio/..%2F..%2Fstudy.yaml", "/api/audio/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/audio/../../etc/passwd", "/api/audio/study.yaml", "/api/audio/s0000000000000000",
    "/static/..%2Fapp.py", "/static/../storage.py", "/static/index.html", "/api/audio/%00",
])
def test_audio_and_static_files_only_by_id_path_traversal_is_404(env, path):
    _, _, c, a, _ = env
    assert c.get(path, headers=a.headers).status_code == 404


def test_admin_routes_need_the_admin_token(env):
    _, _, c, a, _ = env
    for method, path in ADMIN_ROUTES:
        assert c.request(method, path).status_code == 401, path
        bearer = {"Authorization": "Bearer wrong"}
        assert c.request(method, path, headers=bearer).status_code == 403, path
        assert c.request(method, path, headers={"Authorization": f"Bearer {a.token}"}
                         ).status_code == 403
        # the token in a URL or a made-up session cookie opens nothing
        assert c.request(method, f"{path}?token={ADMIN}").status_code == 401, path
        c.cookies.set("greenvoc_admin", ADMIN, path="/admin")
        assert c.request(method, path).status_code == 401, path
        c.cookies.clear()
    assert c.get("/admin/api/progress", headers={"Authorization": f"Bearer {ADMIN}"}
                 ).status_code == 200


@pytest.mark.parametrize("score", [0, 6, 3.5, -1, 1e9])
def test_a_rating_outside_its_scale_is_422(env, score):
    _, _, c, a, _ = env
    page = a.session()["page"]
    a.play(page["stimuli"][0])
    r = c.post("/api/ratings", json=a.body(page, score), headers=a.headers)
    assert r.status_code == 422


def test_malformed_bodies_are_422(env):
    _, _, c, a, _ = env
    page = a.session()["page"]
    stim = page["stimuli"][0]
    bad = [{"item": page["item"]}, {"item": page["item"], "scores": {stim: "good"}},
           {"item": page["item"], "scores": {stim: 3}, "extra": 1},
           {"item": page["item"], "scores": {"other": 3}}, {"item": "x" * 65, "scores": {}}]
    for body in bad:
        assert c.post("/api/ratings", json=body, headers=a.headers).status_code == 422, body
    assert c.post("/api/register", json={"consent": False}).status_code == 422
    assert c.post("/api/register", content=b"{not json",
                  headers={"content-type": "application/json"}).status_code == 422


def test_request_size_is_limited(env):
    _, _, c, a, _ = env
    big = b'{"item": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    r = c.post("/api/ratings", content=big, headers=a.headers | {"content-type":
                                                                  "application/json"})
    assert r.status_code == 413

    def chunks():  # no content-length: counted while it streams
        for _ in range(MAX_BODY_BYTES // 1000 + 2):
            yield b" " * 1000

    r = c.post("/api/register", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_security_headers(env):
    _, _, c, _, _ = env
    r = c.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"  # tokens travel in links
    assert "default-src 'self'" in r.headers["content-security-policy"]
