"""Raters in a real browser (Debian's chromium driven by Playwright) against a real server:
ACR by keyboard and mouse with a closed tab, a reload and the back button; MUSHRA switching
mid-clip, looping a region and the slider rules; A/B with "no preference" from a Prolific link
to the completion redirect; the headphone test failed twice; the admin login."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from greenvoc.listen.storage import load_records
from greenvoc.store.listen_tables import ListenRaterRow
from greenvoc.testing.browser import chromium_browser
from tests.listen.fixtures import load_benchmark, make_study

pytestmark = pytest.mark.slow
#: Clips play at this speed (the audio engine's rate, set from the test, not by the app) so that
#: a session takes seconds; the app still waits for the events it needs.
FAST = 16
COMPLETE = "https://app.prolific.com/submissions/complete?cc=C0DE42"


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(scope="module")
def server_mod():
    return load_benchmark()


@pytest.fixture(scope="module")
def mushra(server_mod, tmp_path_factory):
    """One MUSHRA study and its server, shared by the tests that need no other study (each
    test is a new browser context, so a new rater)."""
    study, store = make_study(tmp_path_factory.mktemp("mushra"), "mushra", n_utts=1, dur_s=2.0)
    with server_mod.Server(study.path, store.url) as server:
        yield study, store, server


def open_page(context, url: str, rate: float = FAST):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.evaluate(f"window.greenvoc.engine.rate = {rate}")
    page.js_errors = errors
    return page


def start(page) -> None:
    page.check("#consent")
    page.click("#start")
    page.click("#continue")


def do_check(page, study, wrong: int = 0) -> None:
    """The check page: play the test sound, count its tones, play each headphone trial once
    and answer it (the first ``wrong`` answers wrong), confirm, submit."""
    answer = {t.id: t.answer for t in study.headphone}
    page.click("#calibration")
    page.locator("#beeps:enabled").fill(str(study.check_beeps))
    trials = page.eval_on_selector_all("[data-trial]", "bs => bs.map(b => b.dataset.trial)")
    for j, t in enumerate(trials):
        page.click(f"[data-trial='{t}']")  # waits until no other sound plays
        given = answer[t] % 3 + 1 if j < wrong else answer[t]
        page.locator(f"#trial-{j}-{given}:enabled").check()
        assert page.locator(f"[data-trial='{t}']").is_disabled()  # each trial plays once
    page.check("#headphones")
    page.check("#quiet")
    page.click("#check-submit")


def title(page) -> str:
    return page.locator("#page-title").inner_text()


def focus_in_app(page) -> bool:
    return page.evaluate("document.getElementById('app').contains(document.activeElement) && "
                         "document.activeElement !== document.getElementById('app')")


def test_acr_by_keyboard_and_mouse_with_a_closed_tab_a_reload_and_the_back_button(
        browser, server_mod, tmp_path):
    study, store = make_study(tmp_path, "acr", per_rater=2, n_utts=2)
    with server_mod.Server(study.path, store.url) as server:
        context = browser.new_context()
        page = open_page(context, server.base + "/")
        assert "about" in page.locator("#app").inner_text()  # the consent's time estimate
        start(page)
        do_check(page, study)
        page.wait_for_selector("#page-title")
        n_train, n_real = len(study.training), 2 + 2
        seen = []
        # practice 1, by keyboard: Space plays, 5 rates, Enter submits
        assert page.locator("#progress-label").inner_text() == f"Practice 1 of {n_train}"
        assert focus_in_app(page)
        page.keyboard.press("Space")
        page.locator("#acr-5:enabled").wait_for()  # enabled once the clip played to its end
        page.keyboard.press("5")
        assert page.locator("#acr-5").is_checked()
        seen.append(title(page) + page.locator("#progress-label").inner_text())
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('progress-label').innerText "
                               "=== 'Practice 2 of 4'")
        page.wait_for_selector("#play")
        assert focus_in_app(page)  # focus moved to the new page, not left on <body>
        # the back button stays in the app and says why
        page.go_back()
        assert page.url.startswith(server.base)
        assert page.locator("#notice").is_visible() and page.locator("#page-title").count()
        # a chosen rating survives a reload
        page.click("#play")
        page.locator("#acr-2:enabled").check()
        page.reload()
        page.evaluate(f"window.greenvoc.engine.rate = {FAST}")
        page.locator("#acr-2:checked").wait_for()
        page.click("#submit")
        page.wait_for_function("() => document.getElementById('progress-label').innerText "
                               "=== 'Practice 3 of 4'")
        page.close()  # the rater closes the tab ...
        page = open_page(context, server.base + "/")  # ... and comes back
        page.wait_for_selector("#page-title")
        assert page.locator("#progress-label").inner_text() == "Practice 3 of 4"
        while not page.locator("#done").count():
            label = page.locator("#progress-label").inner_text()
            page.click("#play")
            page.locator("#acr-4:enabled").check()
            page.click("#submit")
            page.wait_for_function(
                "l => document.getElementById('done') || (document.getElementById('page-title')"
                " && document.getElementById('progress-label').innerText !== l)", arg=label)
            seen.append(label)
        assert seen[-1] == f"Page {n_real} of {n_real}"  # one counter: rated pages only
        assert page.locator("#done").is_visible()
        assert not page.js_errors
        context.close()
    records = load_records(store, study_id=study.id)
    assert len(records) == n_train + n_real
    assert sorted({r.kind for r in records}) == ["gold", "rating", "training", "trap"]
    assert [r.score for r in records[:2]] == [5.0, 2.0]


def test_mushra_switches_mid_clip_loops_a_region_and_enforces_the_slider_rules(browser, mushra):
    study, store, server = mushra
    context = browser.new_context()
    page = open_page(context, server.base + "/", rate=1)
    start(page)
    page.evaluate(f"window.greenvoc.engine.rate = {FAST}")
    do_check(page, study)
    page.wait_for_selector("#page-title")
    page.evaluate("window.greenvoc.engine.rate = 1")
    assert page.locator(".bands").inner_text().split() == ["Bad", "Poor", "Fair", "Good",
                                                          "Excellent"]
    conds = page.eval_on_selector_all(".mushra-row button.cond",
                                      "bs => bs.map(b => b.dataset.stimulus)")
    assert len(conds) == 5
    submit = page.locator("#submit")
    # 1. switching mid-clip keeps the position, and the clip switched away from counts as
    # played although it never reached its end
    page.click("#ref")
    page.wait_for_timeout(500)
    before = page.evaluate("window.greenvoc.engine.position()")
    page.click(f"button.cond[data-stimulus='{conds[0]}']")
    after = page.evaluate("window.greenvoc.engine.position()")
    assert 0.3 < before <= after < before + 0.25
    assert page.evaluate("window.greenvoc.engine.active") == conds[0]
    # the playing state: the clip heard now is marked, and Play reads Pause
    playing = page.locator("button.cond.playing")
    assert playing.count() == 1 and playing.get_attribute("data-stimulus") == conds[0]
    assert playing.get_attribute("aria-pressed") == "true"
    assert "Pause" in page.locator("#play").inner_text()
    page.click(f"button.cond[data-stimulus='{conds[1]}']")
    assert page.locator("#ref.played").count() == 1
    assert page.locator(f"button.cond.played[data-stimulus='{conds[0]}']").count() == 1
    # 2. a loop region dragged on the waveform plays over and over
    box = page.locator(".timeline").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.25 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.40 * box["width"], y, steps=5)
    page.mouse.up()
    assert page.locator("#loop").is_checked() and page.locator(".region").is_visible()
    region = page.evaluate("window.greenvoc.engine.bounds()")
    assert region[0] == pytest.approx(0.5, abs=0.05) and region[1] == pytest.approx(
        0.8, abs=0.05)
    positions = []
    for _ in range(12):  # 1.2 s: four times round a 0.3 s region
        page.wait_for_timeout(100)
        positions.append(page.evaluate("window.greenvoc.engine.position()"))
    assert all(region[0] - 0.01 <= p <= region[1] + 0.01 for p in positions)
    assert page.evaluate("window.greenvoc.engine.playing")
    left = page.locator(".playhead").evaluate("e => parseFloat(e.style.left)")
    assert 20 <= left <= 45  # the playhead is drawn inside the region
    # 3. sliders start unset; Submit needs every clip played and every slider set
    sliders = page.locator("input[type=range]")
    assert all(sliders.nth(j).get_attribute("class") == "unset" for j in range(5))
    for stim in conds[2:]:
        page.click(f"button.cond[data-stimulus='{stim}']")
    for j in range(4):
        sliders.nth(j).fill(str(20 * j + 10))
    assert submit.is_disabled() and "rate E" in page.locator(".hint").inner_text()
    page.keyboard.press("Escape")
    sliders.nth(4).focus()
    page.keyboard.press("ArrowRight")  # the keyboard sets a slider too
    assert submit.is_enabled()
    page.click("#stop")
    page.click("#submit")
    # 4. the rated page: the Reference must be played too
    page.wait_for_function("() => document.getElementById('progress-label').innerText "
                           "=== 'Page 1 of 1' && document.getElementById('ref')")
    page.evaluate(f"window.greenvoc.engine.rate = {FAST}")
    for stim in page.eval_on_selector_all(".mushra-row button.cond",
                                          "bs => bs.map(b => b.dataset.stimulus)"):
        page.click(f"button.cond[data-stimulus='{stim}']")
    for j in range(5):
        page.locator("input[type=range]").nth(j).fill("90")
    assert submit.is_disabled() and "play the Reference" in page.locator(".hint").inner_text()
    page.click("#ref")
    page.click("#submit")
    page.wait_for_selector("#done")
    assert not page.js_errors
    context.close()
    records = load_records(store, study_id=study.id)
    assert len({r.rater for r in records}) == 1  # the only rater of the shared study who rated
    practice = sorted(r.score for r in records if r.kind == "training")
    assert practice == [10.0, 30.0, 50.0, 51.0, 70.0]  # what the sliders showed, none a default
    assert sorted(r.score for r in records if r.kind == "rating") == [90.0] * 5


def test_ab_with_no_preference_from_a_prolific_link_to_the_completion_redirect(
        browser, server_mod, tmp_path):
    study, store = make_study(tmp_path, "ab", n_utts=1, run_models=("clean", "noisy"),
                              ab_choices="with-tie", completion_url=COMPLETE)
    with server_mod.Server(study.path, store.url) as server:
        context = browser.new_context()
        arrived = []
        context.route("https://app.prolific.com/**", lambda route: (
            arrived.append(route.request.url),
            route.fulfill(status=200, content_type="text/html", body="<h1>Prolific</h1>")))
        page = open_page(context, server.base +
                         "/?PROLIFIC_PID=60aa11bb22cc33dd44ee55ff&STUDY_ID=st9&SESSION_ID=se9")
        assert "Prolific id" in page.locator("#app").inner_text()
        start(page)
        do_check(page, study)
        for answer in ("#ab-0", "#ab-1"):  # practice: A better; then the pair: no preference
            page.wait_for_selector("#page-title")
            assert page.locator("#ab-0").is_disabled()
            page.keyboard.press("A")  # the A/B keys switch between the versions
            page.wait_for_timeout(100)
            page.keyboard.press("B")
            page.locator(f"{answer}:enabled").check()
            page.click("#submit")
            if answer == "#ab-0":
                page.wait_for_function("() => document.getElementById('progress-label')"
                                       ".innerText === 'Page 1 of 1'")
        page.wait_for_url("https://app.prolific.com/**", timeout=15_000)
        assert arrived == [COMPLETE]
        context.close()
    rated = [r for r in load_records(store, study_id=study.id) if r.kind == "rating"]
    assert sorted(r.score for r in rated) == [0.5, 0.5]
    with store.session() as session:
        (row,) = session.scalars(select(ListenRaterRow).where(
            ListenRaterRow.study_id == study.id))
    assert row.participant_id == "prolific:60aa11bb22cc33dd44ee55ff" and row.stage == "done"


def test_the_headphone_test_failed_twice_ends_the_study_politely(browser, mushra):
    study, store, server = mushra
    pid = "5a5a5a5a5a5a5a5a5a5a5a5a"
    link = f"/?PROLIFIC_PID={pid}&STUDY_ID=st&SESSION_ID=se"
    context = browser.new_context()
    page = open_page(context, server.base + link)
    start(page)
    do_check(page, study, wrong=2)  # 4 of 6 right: one short
    page.wait_for_selector(".warning >> text=not passed")
    assert "Attempt 2 of 2" in page.locator("#app").inner_text()
    page.evaluate(f"window.greenvoc.engine.rate = {FAST}")
    do_check(page, study, wrong=3)
    page.wait_for_selector("#rejected")
    text = page.locator("#app").inner_text()
    assert "return your submission on Prolific" in text
    page.reload()  # the same browser: still the end of the study
    page.wait_for_selector("#rejected")
    other = browser.new_context()  # another browser, the same Prolific id: refused
    again = open_page(other, server.base + link)
    start_button = again.locator("#start")
    again.check("#consent")
    start_button.click()
    again.wait_for_selector("#stopped")
    assert "did not pass" in again.locator("#app").inner_text()
    other.close()
    context.close()
    with store.session() as session:
        (row,) = session.scalars(select(ListenRaterRow).where(
            ListenRaterRow.participant_id == f"prolific:{pid}"))
    assert row.stage == "rejected" and len(row.checks["attempts"]) == 2
    assert not [r for r in load_records(store, study_id=study.id) if r.rater == row.id]


def test_admin_logs_in_through_the_form_and_the_cookie_is_out_of_scripts_reach(browser, mushra):
    _, _, server = mushra
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.base + "/admin")
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert "Wrong admin token" in page.locator("main").inner_text()
    page.fill("#token", server.admin_token)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Study dashboard")
    page.wait_for_selector("text=Screened out at the check")  # the screening view
    assert page.url == server.base + "/admin"  # no token in the address
    assert "greenvoc_admin" not in page.evaluate("document.cookie")  # HttpOnly
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["greenvoc_admin"]["httpOnly"] and \
        cookies["greenvoc_admin"]["sameSite"] == "Strict"
    context.close()
