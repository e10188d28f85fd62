"""The report as a new user opens it (Debian's chromium driven by Playwright, from file://,
network off): no request, the decision within the first 900 px, a leaderboard that sorts and
filters, hover values on the chart, no sideways scroll at 1366 px nor at 390 px."""

from __future__ import annotations

import pytest

from greenvoc.analysis.report import render_report
from greenvoc.testing.browser import chromium_browser

from .conftest import RUN_INFO, zoo_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return render_report(RUN_INFO, zoo_rows(), out, n_resamples=50, floors=(3.1,),
                         budgets_j_per_s=(5.0,))


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


def open_offline(browser, report, width: int, height: int = 900):
    """A page on the report with the network off; returns (page, the URLs it requested)."""
    context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requested.append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    page.goto(report.html.as_uri())
    page.wait_for_selector("#chart-quality-cost .scatterlayer .point")
    return page, requested


def test_loads_offline_with_the_decision_on_the_first_screen(browser, report):
    page, requested = open_offline(browser, report, 1366)
    assert requested == [report.html.as_uri()]  # the page itself, nothing else
    box = page.locator("#decision-table").bounding_box()
    assert box["y"] + box["height"] <= 900
    first = page.locator("#decision-table tr").nth(1).inner_text()
    assert "vocos/fp32" in first and "your floor" in first
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    board = page.locator("#leaderboard").evaluate(
        "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
    assert board[0] <= board[1], "the leaderboard scrolls sideways at 1366 px"
    page.context.close()


def test_usable_on_a_phone(browser, report):
    page, _ = open_offline(browser, report, 390, 844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("meta[name=viewport]").count() == 1
    page.context.close()


def _column(page, header: str) -> list[str]:
    index = page.locator("#leaderboard th").all_inner_texts().index(header)
    return page.locator(f"#leaderboard tbody tr:not([hidden]) td:nth-child({index + 1})"
                        ).evaluate_all("cells => cells.map(c => c.getAttribute('data-v'))")


def test_leaderboard_sorts_by_clicking_a_header_and_filters_by_family(browser, report):
    page, _ = open_offline(browser, report, 1366)
    page.click("#leaderboard th:text-is('params')")
    values = [float(v) for v in _column(page, "params")]
    assert values == sorted(values) and len(values) == 7
    page.click("#leaderboard th:text-is('params')")
    assert [float(v) for v in _column(page, "params")] == sorted(values, reverse=True)
    page.select_option("select[data-filter=family]", "hifigan")
    assert sorted(_column(page, "model")) == ["hifigan_v1", "hifigan_v1", "hifigan_v3"]
    assert page.locator("#leaderboard-count").inner_text() == "3 of 7 models shown"
    page.select_option("select[data-filter=weights]", "no")
    assert _column(page, "model") == []
    page.select_option("select[data-filter=family]", "")
    assert _column(page, "model") == ["wavenet"]
    page.context.close()


def test_hovering_a_point_shows_its_values(browser, report):
    page, _ = open_offline(browser, report, 1366)
    vocos = next(m.point for m in report.analysis.models if m.point.model == "vocos")
    points = page.locator("#chart-quality-cost .scatterlayer .point")
    shown = ""
    for i in range(points.count()):
        points.nth(i).hover(force=True)
        page.wait_for_timeout(100)
        shown = page.locator("#chart-quality-cost .hoverlayer").text_content()  # SVG
        if "vocos/fp32" in shown:
            break
    assert "vocos/fp32" in shown, shown
    assert f"dnsmos_ovrl: {vocos.get('dnsmos_ovrl'):.3g}" in shown
    assert f"{vocos.get('energy_j_per_audio_s'):.3g} J/s" in shown and "n = 8" in shown
    page.context.close()
