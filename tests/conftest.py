"""Shared fixtures: the app on SQLite or PostgreSQL, a client, an injected clock, a login helper,
and for browser tests the app served on a real port (`live_server`) and headless Chromium
(`browser`, `page`).

Browser fixtures live here, defined once: a module that imported them itself would get its
own session-scoped `browser`, and a second Playwright instance in one process fails. Without
Chromium (or the playwright package) browser tests are skipped with the reason shown; with
TRACKER_TEST_REQUIRE_BROWSER=1 (as in CI) they fail instead. Helpers for browser tests
(log_in, click_and_wait, expect ...) are plain functions in tests/browser_support.py.
"""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from flask import g
from sqlalchemy import event, text
from werkzeug.serving import make_server

from tracker import create_app
from tracker.core.extensions import db

from .factories import PASSWORD

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
    })
    # The test's app context outlives each request, so Flask-Login's cached user in `g`
    # would carry over between requests and clients: load it from each request's cookie.
    app.before_request(forget_cached_user)
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


def forget_cached_user() -> None:
    """Drop Flask-Login's per-context cached user (returns None: a before_request hook)."""
    g.pop("_login_user", None)


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def session(app):
    """The app's database session."""
    return db.session


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the login form; return the response."""
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


@pytest.fixture
def login_as(client):
    """Sign the test client in as a user (object or username)."""
    def _login(user, password: str = PASSWORD):
        name = user if isinstance(user, str) else user.username
        response = login(client, name, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _login


@contextmanager
def count_queries():
    """Count the SQL statements sent to the database inside the block (a list of their texts)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def csrf_token(html: str) -> str:
    """Pull the CSRF token out of a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf token in page"
    return match.group(1)


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
