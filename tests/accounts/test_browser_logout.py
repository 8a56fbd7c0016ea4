"""Logging out in a real browser: with Clear-Site-Data the browser drops the site's cookies (a flashed
message with them), so the sign-in page itself says goodbye; nothing of the session is left."""
from __future__ import annotations

import pytest

from tests.support.browser import expect, log_in, log_out
from tests.support.factories import make_user
from tracker.core.extensions import db

pytestmark = pytest.mark.browser


def test_logout_in_a_browser_leaves_no_session(live_server, page):
    make_user("supervisor", username="sup")
    db.session.commit()
    log_in(page, live_server, "sup")
    log_out(page)
    assert page.url.endswith("/login?logged_out=1")
    expect()(page.locator("#logged-out")).to_have_text("您已退出登录。")
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    expect()(page.get_by_role("button", name="登录")).to_be_visible()
