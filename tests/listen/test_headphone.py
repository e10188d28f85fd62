"""The Woods et al. (2017) headphone test: its sounds do what the paper relies on, a listener on
loudspeakers fails it, and a rater who fails every allowed attempt is screened out for good."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from greenvoc.listen import headphone as hp
from greenvoc.listen.app import create_app
from greenvoc.listen.study import load_study
from tests.listen.fixtures import Rater, make_study

RATE = 22050
ADMIN = "admin-token-for-the-headphone-tests-0123"


def tone_levels_db(x: np.ndarray) -> list[float]:
    """RMS level (dB) of the steady part (ramps left out) of each of the three tones of a
    (T,) trial channel."""
    tone, gap, ramp = (int(s * RATE) for s in (hp.TONE_S, hp.GAP_S, hp.RAMP_S))
    out = []
    for k in range(3):
        seg = x[k * (tone + gap) + ramp:k * (tone + gap) + tone - ramp].astype(np.float64)
        out.append(10 * np.log10(np.mean(seg ** 2) + 1e-20))
    return out


@pytest.mark.parametrize(("soft", "anti"), hp.ORDERS)
def test_each_trial_has_one_tone_6db_down_and_one_in_antiphase(soft, anti):
    x = hp.trial_audio(soft, anti, RATE, -26.0)
    assert x.shape == (2, int((3 * hp.TONE_S + 2 * hp.GAP_S) * RATE))
    left, right = x
    levels = tone_levels_db(left)
    standard = [lv for k, lv in enumerate(levels, 1) if k != soft]
    assert standard == pytest.approx([-26.0, -26.0], abs=0.1)
    assert levels[soft - 1] - standard[0] == pytest.approx(hp.SOFT_DB, abs=0.05)
    tone, gap = int(hp.TONE_S * RATE), int(hp.GAP_S * RATE)
    for k in (1, 2, 3):
        seg = slice((k - 1) * (tone + gap), (k - 1) * (tone + gap) + tone)
        expected = -left[seg] if k == anti else left[seg]
        np.testing.assert_array_equal(right[seg], expected)


def headphone_listener(x: np.ndarray) -> int:
    """Each ear hears its channel: the quietest tone is the quietest in either ear."""
    return int(np.argmin(tone_levels_db(x[0]))) + 1


def loudspeaker_listener(x: np.ndarray) -> int:
    """Two loudspeakers sum in the air (roughly, at the listener): L + R."""
    return int(np.argmin(tone_levels_db(x[0] + x[1]))) + 1


def test_a_listener_on_headphones_passes_and_one_on_loudspeakers_fails():
    trials = [(soft, anti, hp.trial_audio(soft, anti, RATE, -26.0)) for soft, anti in hp.ORDERS]
    on_headphones = sum(headphone_listener(x) == soft for soft, _, x in trials)
    on_speakers = sum(loudspeaker_listener(x) == soft for soft, _, x in trials)
    assert on_headphones == 6 >= hp.PASS_MIN
    # the antiphase tone cancels in the air: a loudspeaker listener names it every time
    assert on_speakers == 0 < hp.PASS_MIN
    assert all(loudspeaker_listener(x) == anti for _, anti, x in trials)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("hp"), "mushra", n_utts=2,
                      headphone_attempts=2)


def test_the_study_holds_fresh_files_for_every_attempt(study):
    s, _ = study
    assert len(s.headphone) == 2 * hp.TRIALS_PER_ATTEMPT
    assert {(t.answer, t.antiphase) for t in s.headphone if t.attempt == 0} == set(hp.ORDERS)
    assert len({t.id for t in s.headphone}) == len(s.headphone)
    assert load_study(s.path).headphone == s.headphone  # round trip through the YAML
    # each rater hears the attempt's six trials in an order of their own
    orders = {tuple(t.id for t in hp.trials_for(s.headphone, s.seed, k, 0)) for k in range(6)}
    assert len(orders) > 1


def test_failing_every_allowed_attempt_screens_the_rater_out_for_good(study):
    s, store = study
    c = TestClient(create_app(s, store, ADMIN))
    rater = Rater(c, s)
    r = c.post("/api/register", json={"consent": True, "participant": {
        "PROLIFIC_PID": "p-fails-twice", "STUDY_ID": "st", "SESSION_ID": "se"}})
    rater.token = r.json()["token"]
    seen = []
    for attempt in (1, 2):
        body = rater.check_answers(wrong=2)  # 4 of 6: one short of the paper's 5
        seen.append(tuple(body["answers"]))
        state = rater.session()
        assert state["check"]["attempt"] == attempt and state["check"]["attempts"] == 2
        out = c.post("/api/check", json=body, headers=rater.headers).json()
        assert out["passed"] is False
        assert out["attempts_left"] == 2 - attempt and out["rejected"] is (attempt == 2)
    state = rater.session()
    assert state["stage"] == "rejected" and state["page"] is None and "check" not in state
    assert "4/6 correct" in state["rejected"]
    # no third attempt, no ratings, no new registration with the same Prolific id
    assert c.post("/api/check", json=body, headers=rater.headers).status_code == 409
    assert c.post("/api/stage", json={"stage": "check"}, headers=rater.headers).status_code == 409
    again = c.post("/api/register", json={"consent": True, "participant": {
        "PROLIFIC_PID": "p-fails-twice", "STUDY_ID": "st", "SESSION_ID": "other"}})
    assert again.status_code == 403 and "did not pass" in again.json()["detail"]
    screening = c.get("/admin/api/summary", headers={"Authorization": f"Bearer {ADMIN}"}
                      ).json()["screening"]
    (row,) = [x for x in screening["rejected_at_check"] if x["rater"] == state["rater"]]
    assert row["participant_id"] == "prolific:p-fails-twice" and "4/6" in row["reason"]


def test_a_second_attempt_uses_new_sounds_and_can_pass(study):
    s, store = study
    c = TestClient(create_app(s, store, ADMIN))
    rater = Rater(c, s).register()
    first = rater.check_answers(wrong=6)
    trials_1 = rater.session()["check"]["trials"]
    assert c.post("/api/check", json=first, headers=rater.headers).json()["passed"] is False
    trials_2 = rater.session()["check"]["trials"]
    assert not set(trials_1) & set(trials_2)
    # the new trials must be played before they can be answered
    unplayed = dict(first, answers=[1] * 6)
    assert c.post("/api/check", json=unplayed, headers=rater.headers).status_code == 409
    out = c.post("/api/check", json=rater.check_answers(wrong=1), headers=rater.headers)
    assert out.json()["passed"] is True and out.json()["session"]["stage"] == "training"


def test_a_wrong_tone_count_fails_the_attempt_too(study):
    s, store = study
    c = TestClient(create_app(s, store, ADMIN))
    rater = Rater(c, s).register()
    body = rater.check_answers()
    body["beeps"] = s.check_beeps + 1
    out = c.post("/api/check", json=body, headers=rater.headers).json()
    assert out["passed"] is False and out["attempts_left"] == 1
    # and self-reports are required, not scored: no attempt is used up by them
    body = rater.check_answers() | {"headphones": False}
    assert c.post("/api/check", json=body, headers=rater.headers).status_code == 422
    assert rater.session()["check"]["attempt"] == 2
