"""Shared fixtures: the app on SQLite or PostgreSQL, a client, an injected clock, a login helper,
and for browser tests the app served on a real port (`live_server`) and headless Chromium
(`browser`, `page`).

Browser fixtures live here, defined once: a module that imported them itself would get its
own session-scoped `browser`, and a second Playwright instance in one process fails. Without
Chromium (or the playwright package) browser tests are skipped with the reason shown; with
TRACKER_TEST_REQUIRE_BROWSER=1 (as in CI) they fail instead. Helpers for browser tests
(log_in, click_and_wait, expect ...) are plain functions in tests/support/browser.py.

Below them, the fixtures that tests of several domains share:

- `world`: the API tests' cast (accounts, units, rounds, issues). Modules that need another
  cast define their own `world` (or a folder's conftest.py does), which takes precedence.
- `jobs_app`, `smtp_server`, `smtp_down`: mail settings and a loopback SMTP server for the
  day's jobs (escalation) and the mail (notify).
- `fast_passwords`, `fresh_login_per_request`: for page tests that sign many people in (issues,
  notify). Not autouse: a module asks for them with `pytest.mark.usefixtures`.
- `population`: a growing population of issues with history, for query-count tests.

Test modules never import this file or each other: they use fixtures by name, and take plain
helpers (factories, API and page helpers, ...) from the package tests/support.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import text
from werkzeug.serving import make_server

from tests.support.factories import PASSWORD, make_issue, make_round, make_unit, make_user
from tests.support.jobs import BASE_URL, MAIL_FROM, SmtpServer
from tests.support.queries import fill_issue
from tests.support.web import forget_cached_user, login
from tracker import create_app
from tracker.accounts.models import User
from tracker.core.extensions import db

TEST_DATABASE_URL = os.environ.get("TRACKER_TEST_DATABASE_URL")
CHROMIUM = Path(os.environ.get("TRACKER_TEST_CHROMIUM", "/usr/bin/chromium"))
# Flags for a sandboxed machine without network: no sandbox as root, no GPU, and no
# background calls home that the closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_TIMEOUT_MS = 15_000
# Tests move the clock by days while a person stays signed in, or keeps one API token: the
# session and token lifetimes are set beyond any test's span here. Their own tests (tests/accounts/
# test_sessions.py, test_tokens.py) put the production defaults back (`production_lifetimes`).
LONG_LIFETIMES = {"SESSION_IDLE_MINUTES": 10 * 365 * 24 * 60, "SESSION_MAX_HOURS": 10 * 365 * 24,
                  "TOKEN_HOURS": 10 * 365 * 24}


class Clock:
    """A clock the tests move by hand; the app reads it through config CLOCK."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, value: str) -> None:
        """Set the time from an ISO string (naive UTC)."""
        self.now = datetime.fromisoformat(value)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database the tests run on: TRACKER_TEST_DATABASE_URL or a SQLite file."""
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                      "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads"))})
    with app.app_context():
        db.drop_all()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    """The injected clock, at 2020-07-15 02:00 UTC (10:00 in Beijing) unless moved."""
    return Clock(datetime(2020, 7, 15, 2, 0, 0))


@pytest.fixture
def app(_schema, database_url, clock, tmp_path):
    """The app bound to an empty test database; rows are removed after each test."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CLOCK": clock,
        **LONG_LIFETIMES,
    })
    # The test's app context outlives each request, so Flask-Login's cached user in `g`
    # would carry over between requests and clients: load it from each request's cookie, before
    # any of the app's own hooks looks at it (the second factor's enrolment rule does).
    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def session(app):
    """The app's database session."""
    return db.session


@pytest.fixture
def login_as(client):
    """Sign the test client in as a user (object or username)."""
    def _login(user, password: str = PASSWORD):
        name = user if isinstance(user, str) else user.username
        response = login(client, name, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _login


# --- browser tests -------------------------------------------------------------

def _browser_unavailable(reason: str) -> None:
    if os.environ.get("TRACKER_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright, shared by the session's tests."""
    if not CHROMIUM.exists():
        _browser_unavailable(f"needs Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("needs the playwright package: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies) with generous timeouts for a slow machine."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve an app on 127.0.0.1 (a free port) in a thread; yield its base URL.

    The served app shares the test app's database, upload folder and clock, but
    keeps CSRF protection on, as in production. Rows the test writes must be
    committed for the server to see them.
    """
    served = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "live-server-test",
        "WTF_CSRF_ENABLED": True,
        "UPLOAD_DIR": app.config["UPLOAD_DIR"],
        "CLOCK": app.config["CLOCK"],
        **LONG_LIFETIMES,
    })
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        with served.app_context():
            db.engine.dispose()


# --- shared by the tests of several domains -------------------------------------

@pytest.fixture
def world(session):
    """Two units, a cooperating one, their users, the office and an approver, and one issue."""
    lead = make_unit("LEAD", "牵头局")
    coop = make_unit("COOP", "配合局")
    other = make_unit("OTHER", "无关局")
    users = {
        "staff": make_user("unit_staff", lead, username="staff"),
        "head": make_user("unit_head", lead, username="head"),
        "coop_head": make_user("unit_head", coop, username="coop_head"),
        "coop_staff": make_user("unit_staff", coop, username="coop_staff"),
        "other_staff": make_user("unit_staff", other, username="other_staff"),
        "other_head": make_user("unit_head", other, username="other_head"),
        "supervisor": make_user("supervisor", username="super"),
        "approver": make_user("approver", username="approver"),
        "leader": make_user("leader", username="leader"),
        "admin": make_user("admin", username="admin"),
    }
    round_ = make_round("第一轮中央环保督察")
    issue = make_issue(lead_unit=lead, round=round_, cooperating=(coop,), code="Z-001",
                       deadline=date(2020, 6, 30), progress_percent=40)
    session.commit()
    return {"lead": lead, "coop": coop, "other": other, "round": round_, "issue": issue, **users}


@pytest.fixture
def smtp_server():
    """A running SMTP server on a free loopback port."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """An SMTP server not yet started: its port refuses connections until the test starts it."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def jobs_app(app):
    """The test app with mail settings: absolute links, a sender, and no SMTP server."""
    app.config.update(BASE_URL=BASE_URL, MAIL_FROM=MAIL_FROM, SMTP_URL=None, MAIL_MAX_AGE_HOURS=48)
    return app


_HASHES: dict[str, str] = {}
_CHECKS: dict[tuple[str, str], bool] = {}


@pytest.fixture
def fast_passwords(monkeypatch):
    """Hash and check each test password once per run: these tests sign many people in, and scrypt is
    slow on purpose (the real check still runs once for every distinct hash and password)."""
    real = User.set_password

    def set_password(self, password: str) -> None:
        if password not in _HASHES:
            real(self, password)
            _HASHES[password] = self.password_hash
        self.password_hash = _HASHES[password]

    checked: dict[tuple[str, str], bool] = _CHECKS
    real_check = User.check_password

    def check_password(self, password: str) -> bool:
        key = (self.password_hash, password)
        if key not in checked:
            checked[key] = real_check(self, password)
        return checked[key]

    monkeypatch.setattr(User, "set_password", set_password)
    monkeypatch.setattr(User, "check_password", check_password)


@pytest.fixture
def fresh_login_per_request(app):
    """Forget the signed-in user between requests.

    The `app` fixture keeps one app context open for the whole test, so Flask's `g`
    (where Flask-Login caches the current user) would outlive a request; these tests
    switch between people's clients, as separate requests in production would. (The `app` fixture
    now does the same first thing in every request; this stays for the modules that ask for it.)
    """
    def _forget_cached_user():
        g.pop("_login_user", None)

    # First, before the app's own hooks load the user: popping it after them would load it twice.
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)


@pytest.fixture
def population(session):
    """Build a population of `n` issues led by or cooperated on by one unit, with history."""
    def build(n: int):
        mine = make_unit()
        others = [make_unit() for _ in range(4)]
        round_ = make_round()
        people = [make_user("unit_staff", mine)] + [make_user("unit_staff", u) for u in others]
        head = make_user("unit_head", mine)
        supervisor = make_user("supervisor")
        issues = []
        for k in range(n):
            lead = mine if k % 2 == 0 else others[k % 4]
            coop = (others[(k + 1) % 4], mine) if lead is not mine else (others[(k + 1) % 4], others[(k + 2) % 4])
            issue = make_issue(lead, round_, coop, progress_percent=k % 100)
            if issues and k % 5 == 0:
                issue.merged_into_id = issues[0].id
            fill_issue(issue, people, others, 3, datetime(2020, 6, 1))
            issues.append(issue)
        session.commit()
        return dict(issues=issues, people=people, head=head, supervisor=supervisor, units=[mine, *others])
    return build
