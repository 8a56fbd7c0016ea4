"""In a real headless Chromium (ASVS 4.0.3 V2.1.8, V2.1.12): the password page's strength meter rates
what is typed with zxcvbn-ts, and the show/hide button reveals and masks the password again, with no
script error on the page."""
from __future__ import annotations

import pytest

from tests.support.browser import expect, log_in
from tests.support.factories import make_user
from tracker.core.extensions import db

pytestmark = pytest.mark.browser


def test_the_strength_meter_rates_and_the_toggle_reveals_the_new_password(live_server, page):
    make_user("admin", username="keeper")
    db.session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    check = expect()
    log_in(page, live_server, "keeper")
    page.goto(f"{live_server}/password")

    meter = page.locator('[data-password-meter-for="new"]')
    check(meter).to_be_visible()
    check(meter.locator("[data-password-meter-text]")).to_have_text("请输入密码")
    page.fill("#new", "123456")
    check(meter.locator("[data-password-meter-text]")).to_have_text("密码强度:很弱")
    page.fill("#new", "黄河铁桥 lanzhou bridge 1909 🌉 river")
    check(meter.locator("[data-password-meter-text]")).to_have_text("密码强度:强")

    toggle = page.locator('button[data-password-toggle][aria-controls="new"]')
    check(toggle).to_be_visible()
    check(page.locator("#new")).to_have_attribute("type", "password")
    toggle.click()
    check(page.locator("#new")).to_have_attribute("type", "text")
    check(toggle).to_have_attribute("aria-pressed", "true")
    check(toggle).to_have_text("隐藏")
    toggle.click()
    check(page.locator("#new")).to_have_attribute("type", "password")
    # The other password fields have their own button and no meter.
    check(page.locator('button[data-password-toggle][aria-controls="current"]')).to_be_visible()
    check(page.locator('[data-password-meter-for="current"]')).to_have_count(0)
    assert errors == []
