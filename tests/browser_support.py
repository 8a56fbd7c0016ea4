"""Fixtures for browser tests: the app served on a real port, and headless Chromium.

Import the fixtures into a test module (`from .browser_support import live_server, page`).
Without /usr/bin/chromium (or the playwright package) the tests are skipped with the
reason shown; with TRACKER_TEST_REQUIRE_BROWSER=1 (as in CI) they fail instead.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from tracker import create_app
from tracker.extensions import db

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
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("TRACKER_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright, shared by the session's tests."""
    if not CHROMIUM.exists():
        _unavailable(f"needs Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("needs the playwright package: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies) with generous timeouts for a slow machine."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
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
