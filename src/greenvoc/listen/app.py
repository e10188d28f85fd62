"""The listening-test web app: :func:`create_app` (FastAPI), its pages served from ``web/``.

Raters authenticate with a bearer token in the ``X-Rater-Token`` header (audio is fetched with
it too, so no token travels in an audio URL); the admin logs in with the admin token through a
form that sets an HttpOnly cookie, or sends ``Authorization: Bearer <token>``
(:mod:`greenvoc.listen.admin`). A rater reaches only the pages of their own plan; audio is served
only by stimulus id from the study's folder. The session rules live in
:mod:`greenvoc.listen.sessions`; a rating is committed before the response acknowledges it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from greenvoc.listen.pages import error_page
from greenvoc.listen.sessions import CheckAnswers, Refused, Sessions
from greenvoc.listen.storage import ListenStore
from greenvoc.listen.study import SCALES, Study, durations_s, rater_plan, session_estimate_s
from greenvoc.store import ResultStore

WEB = Path(__file__).parent / "web"
#: Largest request body accepted (a MUSHRA page of 12 scores is well under 2 KiB).
MAX_BODY_BYTES = 16 * 1024
STATIC_TYPES = {**dict.fromkeys(("dom.js", "player.js", "check.js", "rate.js", "app.js",
                                  "admin.js"), "text/javascript"),
                "style.css": "text/css", "favicon.svg": "image/svg+xml"}
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
    (b"content-security-policy",
     b"default-src 'self'; media-src 'self'; object-src 'none'; frame-ancestors 'none'; "
     b"form-action 'self'; base-uri 'none'"),
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
    participant: dict[str, str] | None = Field(default=None, max_length=8)


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(max_length=16)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headphones: bool
    quiet: bool
    beeps: int = Field(ge=0, le=20)
    answers: list[int] = Field(default_factory=list, max_length=24)


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


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/admin/api/"))


def _install_error_pages(app: FastAPI) -> None:
    """API paths answer errors in JSON (``{"detail": ...}``), pages in HTML."""

    @app.exception_handler(Refused)
    async def refused(request: Request, e: Refused) -> Response:
        return JSONResponse({"detail": str(e)}, status_code=e.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> Response:
        if _is_api(request.url.path):
            return JSONResponse({"detail": e.detail}, status_code=e.status_code,
                                headers=getattr(e, "headers", None))
        return HTMLResponse(error_page(e.status_code, str(e.detail)), status_code=e.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> Response:
        return JSONResponse({"detail": jsonable_errors(e)}, status_code=422)


def jsonable_errors(e: RequestValidationError) -> list[dict]:
    """Pydantic's errors without their (possibly unserialisable) context objects."""
    return [{k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in e.errors()]


def create_app(study: Study, store: ResultStore | ListenStore, admin_token: str) -> FastAPI:
    """The app serving ``study``; ratings go to ``store``; ``admin_token`` opens ``/admin``."""
    from greenvoc.listen.admin import add_admin_routes

    db = store if isinstance(store, ListenStore) else ListenStore(store)
    db.save_study(study)
    sessions = Sessions(study, db)
    stimuli = study.stimuli()
    lo, hi = SCALES[study.test_type]
    minutes = max(1, round(session_estimate_s(study, rater_plan(study, 0), durations_s(study))
                           / 60))
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.flush()  # a stopped server leaves no deferred play event behind

    app = FastAPI(title=f"greenvoc listen {study.id}", docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    app.add_middleware(_Guard)
    _install_error_pages(app)
    page_html = (WEB / "index.html").read_text(encoding="utf-8")
    study_doc = {"id": study.id, "test_type": study.test_type, "scale": [lo, hi],
                 "ab_choices": study.ab_choices, "minutes": minutes,
                 "headphone_test": bool(study.headphone)}

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page_html

    @app.get("/favicon.ico")
    async def favicon() -> FileResponse:
        return FileResponse(WEB / "favicon.svg", media_type="image/svg+xml")

    @app.get("/static/{name}")
    async def static(name: str) -> FileResponse:
        if name not in STATIC_TYPES:
            raise HTTPException(404, "no such file")
        return FileResponse(WEB / name, media_type=STATIC_TYPES[name])

    @app.get("/api/study")
    async def study_info() -> dict:
        return study_doc

    @app.post("/api/register", status_code=201)
    async def register(body: Registration) -> dict:
        if not body.consent:
            raise Refused(422, "consent is required to take part")
        r, token = await sessions.register(True, body.participant)
        return {"rater": r.id, "token": token}

    @app.post("/api/consent")
    async def consent(body: Registration, h: RaterH = None) -> dict:
        r = await sessions.rater(h)
        if not body.consent:
            raise Refused(422, "consent is required to take part")
        await sessions.consent(r)
        return {"ok": True}

    @app.get("/api/session")
    async def session(h: RaterH = None) -> dict:
        return sessions.view(await sessions.rater(h))

    @app.post("/api/stage")
    async def stage(body: StageChange, h: RaterH = None) -> dict:
        r = await sessions.rater(h)
        if body.stage != "check":
            raise Refused(409, f"cannot go from {r.stage} to {body.stage}")
        await sessions.start_check(r)
        return {"ok": True}

    @app.post("/api/check")
    async def check(body: CheckIn, h: RaterH = None) -> dict:
        r = await sessions.rater(h)
        result = await sessions.check(r, CheckAnswers(body.headphones, body.quiet, body.beeps,
                                                      tuple(body.answers)))
        return result | {"session": sessions.view(r)}

    @app.get("/api/audio/{stimulus_id}")
    async def audio(stimulus_id: str, h: RaterH = None) -> FileResponse:
        r = await sessions.rater(h)
        stim = stimuli.get(stimulus_id)
        if stim is None or stimulus_id not in sessions.allowed(r):
            raise HTTPException(404, "no such stimulus")
        root = study.audio_root
        path = (root / stim.file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, "no such stimulus")
        return FileResponse(path, media_type="audio/wav")

    # The two requests a rater sends on every page are plain Starlette routes: FastAPI's
    # dependency resolution cost more CPU than the rest of the request (see listen_load.py).
    async def play(request: Request) -> Response:
        body = await _parse(request, PlayEvent)
        sessions.play(await sessions.rater(request.headers.get("x-rater-token")),
                      body.stimulus, body.event)
        return Response(status_code=204)

    async def rate(request: Request) -> Response:
        body = await _parse(request, RatingIn)
        r = await sessions.rater(request.headers.get("x-rater-token"))
        stored = await sessions.rate(r, body.item, body.scores, body.choice)
        out: dict[str, Any] = {"stored": stored, **({} if stored else {"duplicate": True})}
        return JSONResponse(out | sessions.view(r))

    app.router.routes[:0] = [Route("/api/play", play, methods=["POST"]),
                             Route("/api/ratings", rate, methods=["POST"])]
    add_admin_routes(app, sessions, admin_token)
    return app


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    """The request's JSON body as ``model`` (422, as FastAPI answers, when it does not fit)."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as e:
        raise Refused(422, "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                                     for err in e.errors())) from None
