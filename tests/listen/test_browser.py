"""A rater completes an ACR session in a real browser (Debian's chromium driven by Playwright):
consent, instructions, the headphone check, training, then every clip played and rated; the
tab is closed half-way and the session continues; the ratings land in the database."""

from __future__ import annotations

import os

import pytest

from greenvoc.listen.storage import load_records
from greenvoc.testing.system import require_program
from tests.listen.fixtures import load_benchmark, make_study

pytestmark = pytest.mark.slow
#: Clips play at this speed (the media element's default rate, set from the test, not the app)
#: so that the session takes seconds; the app still waits for each clip's `ended` event.
PLAYBACK_RATE = 8


def _fresh_page(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.evaluate(f"document.getElementById('player').defaultPlaybackRate = {PLAYBACK_RATE}")
    return page


def _rate_current_page(page, score: int) -> str:
    title = page.locator("#page-title").inner_text()
    page.click("button[data-stimulus]")  # play; the scale unlocks when the clip has ended
    page.locator(f"#acr-{score}:enabled").check(timeout=15_000)
    page.click("#submit")
    page.wait_for_function(
        "t => !document.getElementById('page-title') || "
        "document.getElementById('page-title').innerText !== t", arg=title, timeout=15_000)
    return title


def test_a_rater_completes_an_acr_session_by_clicking(tmp_path):
    chromium = require_program("chromium")  # Debian's, driven by Playwright (no download)
    sync_api = pytest.importorskip("playwright.sync_api")
    study, store = make_study(tmp_path, "acr", per_rater=2, n_utts=2)
    server_mod = load_benchmark()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with server_mod.Server(study.path, store.url) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        context = browser.new_context()
        page = _fresh_page(context, server.base + "/")
        page.check("#consent")
        page.click("#start")
        page.click("#continue")
        page.click(f"button[data-stimulus='{study.check.id}']")
        page.locator("#beeps:enabled").fill(str(study.check_beeps), timeout=15_000)
        page.check("#headphones")
        page.check("#quiet")
        page.click("#check-submit")
        page.wait_for_selector("#page-title")
        titles = [_rate_current_page(page, 5) for _ in range(3)]
        page.close()  # the rater closes the tab ...
        page = _fresh_page(context, server.base + "/")  # ... and comes back
        page.wait_for_selector("#page-title")
        assert page.locator("#page-title").inner_text() not in titles
        while page.locator("#page-title").count():
            titles.append(_rate_current_page(page, 4))
        assert page.locator("#done").is_visible()
        browser.close()
    records = load_records(store, study_id=study.id)
    assert len(records) == len(titles) == 4 + 2 + 2
    assert sorted({r.kind for r in records}) == ["gold", "rating", "training", "trap"]
    assert len({r.rater for r in records}) == 1
