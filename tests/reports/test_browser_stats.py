"""The statistics page in a real headless Chromium: ECharts draws every chart, with no errors.

The charts come from static/charts.js reading the page's JSON block (CSP allows no inline
script), so a broken script, a CSP refusal or a missing vendored file shows here as a
console error or as an empty chart container.
"""
from __future__ import annotations

import pytest

from tests.support.browser import DEMO_PASSWORD, expect, load_demo_data, log_in

pytestmark = pytest.mark.browser

# The statistics page's original charts; others may join them inside #charts.
CHARTS = ("chart-states", "chart-overdue")


def test_the_statistics_page_draws_its_charts_without_errors(app, live_server, page):
    base = live_server
    load_demo_data()
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    # Listeners first: errors while the page loads count too.
    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    check = expect()

    log_in(page, base, "duban", DEMO_PASSWORD)
    page.goto(f"{base}/stats")
    page.wait_for_load_state("load")  # the scripts at the end of the body have run

    # charts.js unhides the section once ECharts is there, then draws into each container.
    check(page.locator("#charts")).to_be_visible()
    containers = page.locator('#charts [id^="chart-"]')
    ids = [containers.nth(i).get_attribute("id") for i in range(containers.count())]
    assert set(CHARTS) <= set(ids)
    for chart_id in ids:
        drawn = page.locator(f"#{chart_id}").locator("canvas, svg")
        check(drawn.first).to_be_visible()
    assert errors == []
