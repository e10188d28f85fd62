"""The listening-test web app: :func:`create_app` (FastAPI), its pages served from ``web/``.

Raters authenticate with a bearer token (header ``X-Rater-Token`` or ``?token=`` for audio
elements); the admin with the admin token (``X-Admin-Token`` or ``?token=``). A rater reaches
only the pages of their own plan; audio is served only by stimulus id from the study's folder.
A rating is committed before the response acknowledges it.
"""

from __future__ import annotations

import csv
import hmac
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from greenvoc.listen.storage import ListenStore, Rater
from greenvoc.listen.study import SCALES, Study
from greenvoc.store import ResultStore

WEB = Path(__file__).parent / "web"
#: Largest request body accepted (a MUSHRA page of 12 scores is well under 2 KiB).
MAX_BODY_BYTES = 16 * 1024
STAGES = ("consent", "instructions", "check", "training", "rating", "done")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
    (b"content-security-policy",
     b"default-src 'self'; media-src 'self'; object-src 'none'; frame-ancestors 'none'"),
]


class _Guard:
    """ASGI middleware: 413 for bodies over ``limit`` bytes, security headers on every reply."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            response = JSONResponse({"detail": "request body too large"}, status_code=413)
            return await response(scope, receive, send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, "request body too large")
            return message

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, limited, with_headers)


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: bool


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(max_length=16)


class CheckAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headphones: bool
    quiet: bool
    beeps: int = Field(ge=0, le=20)


class PlayEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stimulus: str = Field(max_length=64)
    event: str = Field(default="ended", pattern="^(started|ended)$")


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(max_length=64)
    scores: dict[str, float] | None = Field(default=None, max_length=16)
    choice: str | None = Field(default=None, max_length=64)


# Module level: FastAPI resolves these (string) annotations in the module's namespace.
RaterH = Annotated[str | None, Header(alias="X-Rater-Token")]
AdminH = Annotated[str | None, Header(alias="X-Admin-Token")]
TokenQ = Annotated[str | None, Query(alias="token", max_length=200)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_app(study: Study, store: ResultStore | ListenStore, admin_token: str) -> FastAPI:
    """The app serving ``study``; ratings go to ``store``; ``admin_token`` opens ``/admin``."""
    db = store if isinstance(store, ListenStore) else ListenStore(store)
    db.save_study(study)
    stimuli, items = study.stimuli(), study.item_map()
    lo, hi = SCALES[study.test_type]
    app = FastAPI(title=f"greenvoc listen {study.id}", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.add_middleware(_Guard)
    page_html = (WEB / "index.html").read_text(encoding="utf-8")

    def rater(token_h: str | None, token_q: str | None) -> Rater:
        token = token_h or token_q
        if not token:
            raise HTTPException(401, "rater token required")
        found = db.rater_by_token(study.id, token)
        if found is None:
            raise HTTPException(401, "unknown rater token")
        return found

    def admin(token_h: str | None, token_q: str | None) -> None:
        token = token_h or token_q
        if not token:
            raise HTTPException(401, "admin token required")
        if not hmac.compare_digest(token.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    def allowed_stimuli(r: Rater) -> set[str]:
        out = {study.check.id}
        for item_id, ids in r.plan:
            out.update(ids)
            ref = items[item_id].reference
            if ref is not None:
                out.add(ref.id)
        return out

    def state(r: Rater, played: set[str] | None = None) -> dict:
        rated = {i for i, _ in db.ratings_of(r.id)}
        todo = [(j, p) for j, p in enumerate(r.plan) if p[0] not in rated]
        stage = r.stage
        if stage in ("training", "rating"):
            if not todo:
                stage = "done"
                db.update_rater(r.id, stage="done", completed_at=_now())
            else:
                stage = "training" if items[todo[0][1][0]].kind == "training" else "rating"
                if stage != r.stage:
                    db.update_rater(r.id, stage=stage)
        page = None
        if stage in ("training", "rating"):
            j, (item_id, ids) = todo[0]
            ref = items[item_id].reference
            played = db.played(r.id) if played is None else played
            page = {"index": j, "item": item_id, "training": stage == "training",
                    "stimuli": ids, "reference": ref.id if ref else None,
                    "played": [s for s in ids if s in played]}
        n_train = sum(1 for i, _ in r.plan if items[i].kind == "training")
        return {"rater": r.id, "stage": stage, "test_type": study.test_type, "scale": [lo, hi],
                "pages": len(r.plan), "training_pages": n_train, "done": len(r.plan) - len(todo),
                "page": page, "check": study.check.id}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page_html

    @app.get("/admin", response_class=HTMLResponse)
    def admin_page(h: AdminH = None, token: TokenQ = None) -> str:
        admin(h, token)
        return page_html.replace('data-page="rater"', 'data-page="admin"')

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        types = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in types:
            raise HTTPException(404)
        return FileResponse(WEB / name, media_type=types[name])

    @app.get("/api/study")
    def study_info() -> dict:
        return {"id": study.id, "test_type": study.test_type, "scale": [lo, hi]}

    @app.post("/api/register", status_code=201)
    def register(body: Registration) -> dict:
        if not body.consent:
            raise HTTPException(422, "consent is required to take part")
        r, token = db.create_rater(study)
        return {"rater": r.id, "token": token}

    @app.post("/api/consent")
    def consent(body: Registration, h: RaterH = None) -> dict:
        r = rater(h, None)
        if not body.consent:
            raise HTTPException(422, "consent is required to take part")
        if r.stage == "consent":
            db.update_rater(r.id, stage="instructions", consent_at=_now())
        return {"ok": True}

    @app.get("/api/session")
    def session(h: RaterH = None) -> dict:
        return state(rater(h, None))

    @app.post("/api/stage")
    def stage(body: StageChange, h: RaterH = None) -> dict:
        r = rater(h, None)
        if (r.stage, body.stage) != ("instructions", "check"):
            raise HTTPException(409, f"cannot go from {r.stage} to {body.stage}")
        db.update_rater(r.id, stage="check")
        return {"ok": True}

    @app.post("/api/check")
    def check(body: CheckAnswers, h: RaterH = None) -> dict:
        r = rater(h, None)
        if r.stage != "check":
            raise HTTPException(409, f"the check is not the current step ({r.stage})")
        if study.check.id not in db.played(r.id):
            raise HTTPException(409, "play the check sound first")
        ok = body.headphones and body.quiet and body.beeps == study.check_beeps
        tries = (r.checks or {}).get("tries", 0) + 1
        fields: dict[str, Any] = {"checks": {"tries": tries, "passed": ok,
                                             "headphones": body.headphones, "quiet": body.quiet}}
        if ok:
            fields["stage"] = "training"
        db.update_rater(r.id, **fields)
        return {"passed": ok}

    @app.get("/api/audio/{stimulus_id}")
    def audio(stimulus_id: str, h: RaterH = None, token: TokenQ = None) -> FileResponse:
        r = rater(h, token)
        stim = stimuli.get(stimulus_id)
        if stim is None or stimulus_id not in allowed_stimuli(r):
            raise HTTPException(404, "no such stimulus")
        root = study.audio_root
        path = (root / stim.file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, "no such stimulus")
        return FileResponse(path, media_type="audio/wav")

    @app.post("/api/play", status_code=204)
    def play(body: PlayEvent, h: RaterH = None) -> Response:
        r = rater(h, None)
        if body.stimulus not in allowed_stimuli(r):
            raise HTTPException(404, "no such stimulus")
        db.add_play(r.id, body.stimulus, body.event)
        return Response(status_code=204)

    @app.post("/api/ratings")
    def rate(body: RatingIn, h: RaterH = None) -> dict:
        r = rater(h, None)
        plan = dict((i, ids) for i, ids in r.plan)
        if body.item not in plan:
            raise HTTPException(403, "this item is not in your plan")
        if r.stage not in ("training", "rating", "done"):
            raise HTTPException(409, f"ratings start after the check (now: {r.stage})")
        item, ids = items[body.item], plan[body.item]
        scores = _scores(body, ids, study.test_type, lo, hi)
        played = db.played(r.id)
        unplayed = [s for s in ids if s not in played]
        if unplayed:
            raise HTTPException(409, f"play every clip before rating ({len(unplayed)} unplayed)")
        rows = [{"study_id": study.id, "rater_id": r.id, "item_id": item.id, "stimulus_id": s,
                 "condition": stimuli[s].condition, "model": stimuli[s].model,
                 "variant": stimuli[s].variant, "utterance": stimuli[s].utterance,
                 "kind": item.kind, "expected": item.expected, "score": v}
                for s, v in scores.items()]
        if not db.add_ratings(rows):
            stored = {s: v for (i, s), v in db.ratings_of(r.id).items() if i == item.id}
            if stored != scores:
                raise HTTPException(409, "this page was already rated with other scores")
            return {"stored": False, "duplicate": True} | state(r, played)
        return {"stored": True} | state(r, played)

    @app.get("/admin/api/progress")
    def progress(h: AdminH = None, token: TokenQ = None) -> dict:
        admin(h, token)
        raters = db.progress(study.id)
        return {"study": study.id, "test_type": study.test_type, "raters": raters,
                "ratings": sum(1 for _ in db.export_rows(study.id)),
                "completed": sum(1 for x in raters if x["stage"] == "done")}

    @app.post("/admin/api/raters", status_code=201)
    def invite(h: AdminH = None, token: TokenQ = None) -> dict:
        admin(h, token)
        r, rater_token = db.create_rater(study, consent=False)
        return {"rater": r.id, "token": rater_token, "link": f"/?token={rater_token}"}

    @app.get("/admin/api/export.json")
    def export_json(h: AdminH = None, token: TokenQ = None) -> dict:
        admin(h, token)
        return {"study": study.id, "test_type": study.test_type, "run_id": study.run_id,
                "ratings": db.export_rows(study.id)}

    @app.get("/admin/api/export.csv")
    def export_csv(h: AdminH = None, token: TokenQ = None) -> Response:
        admin(h, token)
        rows = db.export_rows(study.id)
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return Response(buf.getvalue(), media_type="text/csv", headers={
            "content-disposition": f'attachment; filename="{study.id}.csv"'})

    return app


def _scores(body: RatingIn, ids: list[str], test_type: str, lo: float, hi: float
            ) -> dict[str, float]:
    """The page's scores by stimulus id, validated against the scale (422 otherwise)."""
    if test_type == "ab":
        if body.choice not in ids:
            raise HTTPException(422, "choice must be one of the two clips of the pair")
        return {s: 1.0 if s == body.choice else 0.0 for s in ids}
    scores = body.scores or {}
    if set(scores) != set(ids):
        raise HTTPException(422, "scores must rate exactly the clips of this page")
    for s, v in scores.items():
        if not lo <= v <= hi or (test_type == "acr" and v != int(v)):
            raise HTTPException(422, f"score {v} of {s} is outside the scale {lo:g}–{hi:g}")
    return {s: float(v) for s, v in scores.items()}
