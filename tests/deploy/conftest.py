"""The production recipe running: nginx (the project's site file) in front of gunicorn with ONE sync
worker, on a SQLite database made with the app's schema and one user. Without nginx the tests are
skipped with the reason shown; with TRACKER_TEST_REQUIRE_NGINX=1 (as in CI) they fail instead."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.deploy import Stack, nginx_available
from tests.support.factories import make_user
from tracker import create_app
from tracker.core.extensions import db

SECRET = "nginx-test-secret"


@pytest.fixture(scope="module")
def stack():
    """nginx on loopback HTTP and HTTPS ports, gunicorn (1 worker) on a unix socket behind it."""
    reason = nginx_available()
    if reason:
        if os.environ.get("TRACKER_TEST_REQUIRE_NGINX") == "1":
            pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_NGINX=1)")
        pytest.skip(reason)
    # A short folder name: a unix socket's path must stay under 108 bytes.
    prefix = Path(tempfile.mkdtemp(prefix="trk-nginx-"))
    database_url = f"sqlite:///{prefix / 'tracker.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET,
                      "UPLOAD_DIR": str(prefix / "uploads")})
    with app.app_context():
        db.create_all()
        make_user("admin", username="admin")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    running = Stack(prefix, {
        "TRACKER_DATABASE_URL": database_url,
        "TRACKER_SECRET_KEY": SECRET,
        "TRACKER_UPLOAD_DIR": str(prefix / "uploads"),
        "TRACKER_PROXY_COUNT": "1",
        "TRACKER_BASE_URL": "https://tracker.example.org",
    })
    try:
        yield running.start()
    finally:
        running.stop()
        shutil.rmtree(prefix, ignore_errors=True)
