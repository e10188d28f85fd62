"""The raters of a running study: their state in memory, each change committed through the store.

:class:`Sessions` keeps every rater it has seen (loaded from the database on first use, so a
restarted server resumes every session) and applies the rules of a session: the stages
(consent → instructions → check → training → rating → done, or ``rejected`` at the check), what
must be played before a page is rated, the screening attempts, duplicate crowd participants. A
rating is acknowledged only after its transaction committed; play events are deferred (nobody
waits for them) and the store's writer commits them with the next batch, so no later than the
rating that needs them (:class:`~greenvoc.listen.storage.GroupCommit`).

One server process per study database: the in-memory state is that process's own. Mutations of
one rater are serialised by a per-rater lock.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from greenvoc.errors import GreenvocError
from greenvoc.listen import headphone as hp
from greenvoc.listen.storage import ListenStore, RaterState, token_digest
from greenvoc.listen.study import CROWD_VALUE, CROWD_VALUE_RULE, SCALES, Study

#: URL parameters of the crowd platforms that are stored with a rater: Prolific's and MTurk's.
PARTICIPANT_FIELDS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId",
                      "hitId")
#: The parameter that identifies a participant, per platform.
PLATFORM_ID = {"prolific": "PROLIFIC_PID", "mturk": "workerId"}
#: MTurk's assignmentId while a worker only previews a HIT (they cannot start before accepting).
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
#: What a page needs played before it is rated: ACR every clip to its end (P.808), MUSHRA and
#: A/B every clip (and MUSHRA's reference) for any part (raters switch between them mid-clip).
PLAY_RULE = {"acr": "ended", "mushra": "started", "ab": "started"}
TIE = "tie"


class Refused(GreenvocError):
    """A request the session's rules refuse; ``status``: the HTTP status it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def participant_from(params: dict[str, str] | None) -> dict | None:
    """The crowd participant named by URL ``params`` (Prolific's ``PROLIFIC_PID``, ``STUDY_ID``,
    ``SESSION_ID``; MTurk's ``workerId``, ``assignmentId``, ``hitId``): ``{"platform", "id":
    "<platform>:<participant>", "ids": {...}}``, or None when no platform id is given.
    :class:`Refused` (422) for an unknown key, a malformed value or an MTurk preview."""
    if not params:
        return None
    unknown = sorted(set(params) - set(PARTICIPANT_FIELDS))
    if unknown:
        raise Refused(422, f"unknown participant field(s) {', '.join(unknown)}; valid: "
                      f"{', '.join(PARTICIPANT_FIELDS)}")
    bad = [k for k, v in params.items() if not isinstance(v, str) or not CROWD_VALUE.fullmatch(v)]
    if bad:
        raise Refused(422, f"participant field(s) {', '.join(bad)} must be {CROWD_VALUE_RULE}")
    if params.get("assignmentId") == MTURK_PREVIEW:
        raise Refused(422, "this is a preview of the HIT: accept it on MTurk to start")
    platform = next((p for p, key in PLATFORM_ID.items() if key in params), None)
    if platform is None:
        return None
    return {"platform": platform, "id": f"{platform}:{params[PLATFORM_ID[platform]]}",
            "ids": dict(params)}


@dataclass(frozen=True)
class CheckAnswers:
    """headphones, quiet: the rater's statements; beeps: tones counted in the check clip;
    answers: the headphone test's answers (1–3), in the order of the attempt's trials."""

    headphones: bool
    quiet: bool
    beeps: int
    answers: tuple[int, ...]


class Sessions:
    """Every rater of ``study``, cached in memory, written through ``db``."""

    def __init__(self, study: Study, db: ListenStore) -> None:
        self.study, self.db = study, db
        self.items = study.item_map()
        self.stimuli = study.stimuli()
        self.training_items = {i.id for i in study.training}
        self._allowed: dict[tuple[str, int], set[str]] = {}
        self.lo, self.hi = SCALES[study.test_type]
        self._by_digest: dict[str, RaterState] = {}
        self._loading: dict[str, asyncio.Future] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._participants = db.participants(study.id)
        self._next_index = db.next_order_index(study.id)

    # -- raters ---------------------------------------------------------------------------

    async def rater(self, token: str | None) -> RaterState:
        """The rater holding ``token`` (cached; loaded from the database on first use)."""
        if not token or len(token) > 200:
            raise Refused(401, "rater token required")
        digest = token_digest(token)
        found = self._by_digest.get(digest)
        if found is not None:
            return found
        if digest not in self._loading:
            loop = asyncio.get_running_loop()
            self._loading[digest] = loop.run_in_executor(None, self.db.load_rater,
                                                         self.study.id, token)
        try:
            found = await self._loading[digest]
        finally:
            self._loading.pop(digest, None)
        if found is None:
            raise Refused(401, "unknown rater token: open the link you were given again")
        return self._by_digest.setdefault(digest, found)

    async def register(self, consent: bool, params: dict[str, str] | None = None
                       ) -> tuple[RaterState, str]:
        """A new rater and their token. A crowd participant registers once: a second time is
        403 if they were screened out, 409 otherwise (their session is in another browser)."""
        participant = participant_from(params)
        pid = participant["id"] if participant else None
        if pid is not None and pid in self._participants:
            _, stage = self._participants[pid]
            if stage == "rejected":
                raise Refused(403, "you already took part in this study's screening and did not "
                              "pass it, so you cannot take part again")
            if stage == "done":
                raise Refused(409, "you already completed this study: thank you")
            raise Refused(409, "you already started this study in another browser or tab: "
                          "continue there (the study can be taken once)")
        if pid is not None:
            self._participants[pid] = ("", "registering")  # holds the id while committing
        index, self._next_index = self._next_index, self._next_index + 1
        write, rater, token = self.db.new_rater_write(self.study, index, consent, participant)
        try:
            await asyncio.wrap_future(self.db.submit(write))
        except BaseException:
            if pid is not None:
                self._participants.pop(pid, None)
            raise
        if pid is not None:
            self._participants[pid] = (rater.id, rater.stage)
        self._by_digest[token_digest(token)] = rater
        return rater, token

    async def _set(self, r: RaterState, **fields: Any) -> None:
        await asyncio.wrap_future(self.db.submit(self.db.rater_update(r.id, **fields)))
        self._apply(r, fields)

    def _apply(self, r: RaterState, fields: dict[str, Any]) -> None:
        """Mirror a committed update of the rater's row in memory."""
        for k in ("stage", "checks"):
            if k in fields:
                setattr(r, k, fields[k])
        if "stage" in fields and r.participant:
            self._participants[r.participant["id"]] = (r.id, r.stage)

    async def consent(self, r: RaterState) -> None:
        async with self._locks[r.id]:
            if r.stage == "consent":
                await self._set(r, stage="instructions", consent_at=_now())

    async def start_check(self, r: RaterState) -> None:
        async with self._locks[r.id]:
            if r.stage == "check":
                return  # a repeated click
            if r.stage != "instructions":
                raise Refused(409, f"cannot go from {r.stage} to the check")
            await self._set(r, stage="check")

    # -- audio ------------------------------------------------------------------------------

    def attempt(self, r: RaterState) -> int:
        """The 0-based headphone-test attempt the rater is at."""
        return len((r.checks or {}).get("attempts", []))

    def trials(self, r: RaterState) -> list[hp.HeadphoneTrial]:
        if not self.study.headphone:
            return []
        attempt = min(self.attempt(r), self.study.headphone_attempts - 1)
        return hp.trials_for(self.study.headphone, self.study.seed, r.order_index, attempt)

    def allowed(self, r: RaterState) -> set[str]:
        """The stimulus ids this rater may fetch and report as played (cached per attempt)."""
        key = (r.id, self.attempt(r))
        out = self._allowed.get(key)
        if out is None:
            out = {self.study.check.id, *(t.id for t in self.trials(r))}
            for item_id, ids in r.plan:
                out.update(ids)
                ref = self.items[item_id].reference
                if ref is not None:
                    out.add(ref.id)
            self._allowed[key] = out
        return out

    def play(self, r: RaterState, stimulus: str, event: str) -> None:
        """Record a play event: in memory at once, in the database with the next commit."""
        if stimulus not in self.allowed(r):
            raise Refused(404, "no such stimulus")
        seen = r.ended if event == "ended" else r.started
        if stimulus in seen:
            return  # one row per (stimulus, event) is all the rules read
        seen.add(stimulus)
        if event == "ended":
            r.started.add(stimulus)
        self.db.defer(self.db.play_write(r.id, stimulus, event))

    # -- the check ----------------------------------------------------------------------------

    async def check(self, r: RaterState, a: CheckAnswers) -> dict:
        """Score one attempt at the check: the tone count and the headphone test (≥
        :data:`~greenvoc.listen.headphone.PASS_MIN` of 6). Failing the last allowed attempt
        screens the rater out (stage ``rejected``, the reason kept in ``checks``)."""
        async with self._locks[r.id]:
            if r.stage != "check":
                raise Refused(409, f"the check is not the current step ({r.stage})")
            if not (a.headphones and a.quiet):
                raise Refused(422, "the test needs headphones and a quiet place: confirm both")
            trials = self.trials(r)
            unplayed = [s for s in (self.study.check.id, *(t.id for t in trials))
                        if s not in r.ended]
            if unplayed:
                raise Refused(409, f"play every sound of the check to its end first "
                              f"({len(unplayed)} not played)")
            if len(a.answers) != len(trials) or any(x not in (1, 2, 3) for x in a.answers):
                raise Refused(422, f"answer each of the {len(trials)} headphone trials with 1, 2 "
                              "or 3")
            correct = hp.n_correct(trials, list(a.answers)) if trials else 0
            beeps_ok = a.beeps == self.study.check_beeps
            passed = beeps_ok and (not trials or correct >= hp.PASS_MIN)
            checks = dict(r.checks or {})
            attempts = [*checks.get("attempts", []), {
                "beeps": a.beeps, "beeps_expected": self.study.check_beeps,
                "trials": [t.id for t in trials], "answers": list(a.answers),
                "correct": correct, "of": len(trials), "passed": passed}]
            checks.update(headphones=a.headphones, quiet=a.quiet, attempts=attempts,
                          passed=passed)
            left = self.study.headphone_attempts - len(attempts)
            fields: dict[str, Any] = {"checks": checks}
            if passed:
                fields["stage"] = self.next_stage(r)
            elif left <= 0:
                checks["rejected"] = _rejection(attempts, self.study.headphone_attempts)
                fields.update(stage="rejected", completed_at=_now())
            await self._set(r, **fields)
            return {"passed": passed, "attempts_left": max(left, 0) if not passed else None,
                    "rejected": r.stage == "rejected"}

    # -- ratings ------------------------------------------------------------------------------

    def todo(self, r: RaterState) -> list[tuple[int, list]]:
        return [(j, p) for j, p in enumerate(r.plan) if p[0] not in r.rated]

    def next_stage(self, r: RaterState, rated: str | None = None) -> str:
        """training, rating or done: the stage of the first page not yet rated (``rated``: a
        page about to be stored)."""
        left = [p for j, p in self.todo(r) if p[0] != rated]
        if not left:
            return "done"
        return "training" if left[0][0] in self.training_items else "rating"

    def scores(self, ids: list[str], scores: dict[str, float] | None, choice: str | None
               ) -> dict[str, float]:
        """A page's answer as scores by stimulus id, checked against the scale (422)."""
        if self.study.test_type == "ab":
            if choice == TIE and self.study.ab_choices == "with-tie":
                return {s: 0.5 for s in ids}
            if choice not in ids:
                allowed = "one of the two clips" + (
                    " or 'tie'" if self.study.ab_choices == "with-tie" else "")
                raise Refused(422, f"choice must be {allowed}")
            return {s: 1.0 if s == choice else 0.0 for s in ids}
        scores = scores or {}
        if set(scores) != set(ids):
            raise Refused(422, "scores must rate exactly the clips of this page")
        for s, v in scores.items():
            if not self.lo <= v <= self.hi or (self.study.test_type == "acr" and v != int(v)):
                raise Refused(422, f"score {v} of {s} is outside the scale "
                              f"{self.lo:g}–{self.hi:g}")
        return {s: float(v) for s, v in scores.items()}

    async def rate(self, r: RaterState, item_id: str, scores_in: dict[str, float] | None,
                   choice: str | None) -> bool:
        """Store one page's answer; True once committed, False for a resubmission of the same
        answer (409 for another answer)."""
        plan = dict((i, ids) for i, ids in r.plan)
        if item_id not in plan:
            raise Refused(403, "this item is not in your plan")
        if r.stage not in ("training", "rating", "done"):
            raise Refused(409, f"ratings start after the check (now: {r.stage})")
        ids = plan[item_id]
        scores = self.scores(ids, scores_in, choice)
        async with self._locks[r.id]:
            if item_id in r.rated:
                if r.rated[item_id] != scores:
                    raise Refused(409, "this page was already rated with other scores")
                return False
            item = self.items[item_id]
            needed = [*ids, *((item.reference.id,) if item.reference else ())]
            played = r.ended if PLAY_RULE[self.study.test_type] == "ended" else r.started
            unplayed = [s for s in needed if s not in played]
            if unplayed:
                how = "to the end" if PLAY_RULE[self.study.test_type] == "ended" else ""
                raise Refused(409, f"play every clip {how} before rating ({len(unplayed)} "
                              "unplayed)".replace("  ", " "))
            stage = self.next_stage(r, rated=item_id)
            fields: dict[str, Any] = {}
            if stage != r.stage:
                fields["stage"] = stage
                if stage == "done":
                    fields["completed_at"] = _now()
            stim = self.stimuli
            rows = [{"study_id": self.study.id, "rater_id": r.id, "item_id": item_id,
                     "stimulus_id": s, "condition": stim[s].condition, "model": stim[s].model,
                     "variant": stim[s].variant, "utterance": stim[s].utterance,
                     "kind": item.kind, "expected": item.expected, "score": v}
                    for s, v in scores.items()]
            try:
                await asyncio.wrap_future(self.db.submit(self.db.ratings_write(rows, fields)))
            except IntegrityError:  # stored by another process: compare with what it stored
                stored = await asyncio.get_running_loop().run_in_executor(
                    None, self.db.ratings_of, r.id)
                r.rated[item_id] = {s: v for (i, s), v in stored.items() if i == item_id}
                if r.rated[item_id] != scores:
                    raise Refused(409, "this page was already rated with other scores") from None
                return False
            r.rated[item_id] = scores
            self._apply(r, fields)
            return True

    # -- what the page shows ----------------------------------------------------------------

    def view(self, r: RaterState) -> dict:
        """The session as the browser renders it (see ``web/app.js``)."""
        study = self.study
        n_train = sum(1 for i, _ in r.plan if i in self.training_items)
        out: dict[str, Any] = {
            "rater": r.id, "stage": r.stage, "test_type": study.test_type,
            "scale": [self.lo, self.hi], "ab_choices": study.ab_choices,
            "pages": len(r.plan), "training_pages": n_train, "done": len(r.rated),
            "platform": r.participant["platform"] if r.participant else None,
            "page": None}
        if r.stage in ("training", "rating"):
            todo = self.todo(r)
            if todo:
                j, (item_id, ids) = todo[0]
                ref = self.items[item_id].reference
                played = r.ended if PLAY_RULE[study.test_type] == "ended" else r.started
                out["page"] = {
                    "index": j, "item": item_id, "training": item_id in self.training_items,
                    "number": j + 1 - (0 if item_id in self.training_items else n_train),
                    "stimuli": ids, "reference": ref.id if ref else None,
                    "played": [s for s in (*ids, *((ref.id,) if ref else ())) if s in played]}
        elif r.stage == "check":
            trials = self.trials(r)
            out["check"] = {
                "calibration": study.check.id, "trials": [t.id for t in trials],
                "attempt": self.attempt(r) + 1, "attempts": study.headphone_attempts,
                "pass_min": hp.PASS_MIN, "played": sorted(r.ended & self.allowed(r))}
        elif r.stage == "done":
            out["completion"] = {"code": study.completion_code, "url": study.completion_url}
        elif r.stage == "rejected":
            out["rejected"] = (r.checks or {}).get("rejected")
        return out


def _rejection(attempts: list[dict], allowed: int) -> str:
    last = attempts[-1]
    why = []
    if last["of"] and last["correct"] < hp.PASS_MIN:
        why.append(f"headphone test {last['correct']}/{last['of']} correct "
                   f"(≥ {hp.PASS_MIN} needed)")
    if last["beeps"] != last["beeps_expected"]:
        why.append(f"counted {last['beeps']} tones, {last['beeps_expected']} were played")
    return f"{'; '.join(why)} at the last of {allowed} attempt(s)"

