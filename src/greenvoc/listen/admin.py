"""The admin side of the listening-test app: login, live progress, summary, screening, export.

The admin token is given once, to the login form (``POST /admin/login``), which sets an HttpOnly,
SameSite=Strict session cookie scoped to ``/admin``; scripts send ``Authorization: Bearer
<token>`` instead. No token travels in a URL. Sessions live in the server's memory (12 h): a
restarted server asks for the token again.
"""

from __future__ import annotations

import csv
import hmac
import io
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from greenvoc.listen.pages import admin_page, login_page
from greenvoc.listen.sessions import Sessions
from greenvoc.listen.storage import load_records
from greenvoc.listen.study import Study

COOKIE = "greenvoc_admin"
SESSION_S = 12 * 3600
#: Resamples of the live summary's bootstrap intervals (the full 2000 of `listen results` would
#: make each refresh of the dashboard cost seconds on a large study).
LIVE_RESAMPLES = 1000
#: The live summary is recomputed at most this often: a dashboard left open must not take CPU
#: from the raters' requests.
SUMMARY_EVERY_S = 10.0


class AdminAuth:
    """Checks the admin token and the login sessions made from it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.sessions: dict[str, float] = {}  # session key → expiry (monotonic s)

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def login(self, given: str) -> str | None:
        """A new session key when ``given`` is the admin token, else None."""
        if not self.token_ok(given):
            return None
        key = secrets.token_urlsafe(32)
        now = time.monotonic()
        self.sessions = {k: t for k, t in self.sessions.items() if t > now}
        self.sessions[key] = now + SESSION_S
        return key

    def require(self, request: Request) -> None:
        """401 without credentials (or with an expired session), 403 with a wrong token."""
        auth = request.headers.get("authorization")
        if auth is not None:
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not given:
                raise HTTPException(401, "use 'Authorization: Bearer <admin token>'")
            if not self.token_ok(given.strip()):
                raise HTTPException(403, "wrong admin token")
            return
        key = request.cookies.get(COOKIE)
        if key is None:
            raise HTTPException(401, "admin login required")
        expiry = self.sessions.get(key)
        if expiry is None or expiry < time.monotonic():
            raise HTTPException(401, "your admin session expired: log in again")


def screening_view(study: Study, progress: list[dict], summary: dict | None) -> dict:
    """Who was screened out at the check (and why), who the statistics exclude (and why)."""
    at_check = [{"rater": p["rater"], "participant_id": p["participant_id"],
                 "reason": (p["checks"] or {}).get("rejected", "")}
                for p in progress if p["stage"] == "rejected"]
    after = summary["exclusions"] if summary else []
    return {"rejected_at_check": at_check, "excluded_from_statistics": after,
            "headphone_test": "Woods et al. 2017 (≥ 5 of 6 correct)" if study.headphone
            else None, "attempts_allowed": study.headphone_attempts}


def add_admin_routes(app: FastAPI, sessions: Sessions, admin_token: str) -> None:
    """Mount the admin pages and API of ``sessions``' study on ``app``."""
    from greenvoc.listen.stats import summarize

    auth = AdminAuth(admin_token)
    study, db = sessions.study, sessions.db
    cached: dict[str, Any] = {"at": -SUMMARY_EVERY_S, "doc": None}
    training = {i.id for i in study.training}

    @app.get("/admin", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        try:
            auth.require(request)
        except HTTPException as e:
            if e.status_code == 401:
                message = None if "required" in str(e.detail) else str(e.detail)
                return HTMLResponse(login_page(message), status_code=401)
            raise
        return HTMLResponse(admin_page())

    @app.post("/admin/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        key = auth.login((form.get("token") or [""])[0].strip())
        if key is None:
            return HTMLResponse(login_page("Wrong admin token: check what `greenvoc listen "
                                           "serve` printed."), status_code=401)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(COOKIE, key, max_age=SESSION_S, path="/admin", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    @app.post("/admin/logout")
    def logout(request: Request) -> Response:
        auth.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(COOKIE, path="/admin")
        return response

    @app.get("/admin/api/progress")
    def progress(request: Request) -> dict:
        auth.require(request)
        raters = db.progress(study.id, training)
        return {"study": study.id, "test_type": study.test_type, "raters": raters,
                "ratings": db.count_ratings(study.id),
                "completed": sum(1 for x in raters if x["stage"] == "done"),
                "rejected": sum(1 for x in raters if x["stage"] == "rejected")}

    @app.get("/admin/api/summary")
    def summary(request: Request) -> dict:
        """Per-condition (or per-pair) statistics of what is stored now, after screening."""
        auth.require(request)
        if time.monotonic() - cached["at"] < SUMMARY_EVERY_S:
            return cached["doc"]
        records = load_records(db.store, study_id=study.id)
        doc: dict[str, Any] | None = None
        if records:
            doc = summarize(records, study.test_type, n_resamples=LIVE_RESAMPLES,
                            ties_allowed=study.ab_choices == "with-tie").to_dict()
        raters = db.progress(study.id, training)
        cached.update(at=time.monotonic(), doc={
            "study": study.id, "test_type": study.test_type, "summary": doc,
            "screening": screening_view(study, raters, doc), "every_s": SUMMARY_EVERY_S})
        return cached["doc"]

    @app.post("/admin/api/raters", status_code=201)
    async def invite(request: Request) -> dict:
        auth.require(request)
        r, rater_token = await sessions.register(consent=False)
        return {"rater": r.id, "token": rater_token, "link": f"/?token={rater_token}"}

    @app.get("/admin/api/export.json")
    def export_json(request: Request) -> dict:
        auth.require(request)
        return {"study": study.id, "test_type": study.test_type, "run_id": study.run_id,
                "ratings": db.export_rows(study.id)}

    @app.get("/admin/api/export.csv")
    def export_csv(request: Request) -> Response:
        auth.require(request)
        rows = db.export_rows(study.id)
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return Response(buf.getvalue(), media_type="text/csv", headers={
            "content-disposition": f'attachment; filename="{study.id}.csv"'})
