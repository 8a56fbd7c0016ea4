"""Helpers for browser tests: sign in and out, press a form's button, Playwright's expect, load the demo.

Plain functions, imported by test modules (`from tests.support.browser import log_in, expect`).
The fixtures (`browser`, `page`, `live_server`) are in tests/conftest.py, defined once for
every module: never import them here or in a test module.
"""
from __future__ import annotations

from sqlalchemy import select

from tests.support.factories import PASSWORD, totp_code
from tracker.accounts.models import User
from tracker.core.extensions import db

TIMEOUT_MS = 15_000
# Every demo login shares this password (tracker/demo_data/users.json).
DEMO_PASSWORD = "demo1234"


def expect():
    """Playwright's expect, imported late so that collection works without playwright."""
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=TIMEOUT_MS)
    return _expect


def click_and_wait(page, form_selector: str, button: str) -> None:
    """Press a form's button and wait for the page the POST leads to."""
    with page.expect_navigation():
        page.locator(form_selector).get_by_role("button", name=button).click()


def log_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    if "/login/verify" in page.url:
        # A user with a second factor (every admin): the code at the injected clock's time.
        user = db.session.scalar(select(User).where(User.username == username))
        user.totp_last_step = None  # as tests.support.web.answer_second_step
        db.session.commit()
        page.fill('input[name="code"]', totp_code(user.totp_secret))
        with page.expect_navigation():
            page.get_by_role("button", name="验证").click()
    expect()(page.get_by_role("button", name="退出")).to_be_visible()


def log_out(page) -> None:
    """Sign out with the navbar's POST button."""
    with page.expect_navigation():
        page.get_by_role("button", name="退出").click()
    expect()(page.get_by_role("button", name="登录")).to_be_visible()


def load_demo_data() -> None:
    """Load the demo (tracker demo) into the test database and commit, for the served app to see.

    The test schema is made by create_all, so the migrations are skipped; the demo's
    deadlines follow the injected clock.
    """
    from tracker.demo import load_demo

    load_demo(echo=lambda _line: None, upgrade=False)
