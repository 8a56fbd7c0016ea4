"""HTTP hardening: the body limit (F5), secure cookies and HSTS (F6), no caching of private answers
(F10), and trusting X-Forwarded-* only from a configured proxy (the nginx recipe)."""
from __future__ import annotations

import io

import pytest
from flask import request

from tests.support.api import api_for, snapshot
from tests.support.factories import make_user
from tests.support.web import login
from tracker import create_app
from tracker.config import flag, load_config

HUGE = 2 * 1024**3  # a declared 2 GB body
HSTS = "max-age=31536000; includeSubDomains"


class CountingStream(io.RawIOBase):
    """A request body that never ends, counting what the server reads of it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # the test client measures the stream; the declared length is set below instead

    def tell(self) -> int:
        return 0

    def readinto(self, buffer) -> int:
        self.read_bytes += len(buffer)
        if self.read_bytes > 64 * 1024 * 1024:
            raise AssertionError("the server kept reading a body over the limit")
        buffer[:] = b"a" * len(buffer)
        return len(buffer)


def app_with(database_url, tmp_path, **config):
    """Another app on the test database, with `config` on top."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                       "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": str(tmp_path / "uploads"), **config})


# --- F5: the body limit -----------------------------------------------------------

def test_max_content_length_is_the_upload_limit_plus_the_envelope_unless_given(app, database_url, tmp_path):
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    assert app_with(database_url, tmp_path, MAX_CONTENT_LENGTH=4096).config["MAX_CONTENT_LENGTH"] == 4096
    assert app_with(database_url, tmp_path, MAX_UPLOAD_BYTES=1024).config["MAX_CONTENT_LENGTH"] == 1024 + 1024**2


def test_a_page_post_over_the_limit_is_413_without_reading_the_body(client, caplog):
    caplog.set_level("INFO", logger="tracker.security")
    body = CountingStream()
    response = client.post("/login", input_stream=body, environ_overrides={"CONTENT_LENGTH": str(HUGE)},
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "上传的文件太大" in response.get_data(as_text=True)
    assert body.read_bytes == 0
    assert f"event=request_too_large method='POST' path='/login' declared={HUGE}" in caplog.text


def test_an_api_post_over_the_limit_is_json_413_without_reading_the_body(client, world, caplog):
    caplog.set_level("INFO", logger="tracker.security")
    api = api_for(client, world["staff"])
    body = CountingStream()
    response = api.post(f"/issues/{world['issue'].id}/attachments", input_stream=body,
                        environ_overrides={"CONTENT_LENGTH": str(HUGE)},
                        content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413
    assert "太大" in response.get_json()["error"]
    assert body.read_bytes == 0
    assert snapshot(world["issue"].id)["attachments"] == 0
    assert f"event=request_too_large method='POST' path='/api/v1/issues/{world['issue'].id}/attachments'" \
        in caplog.text


# --- F6: secure cookies and HSTS -----------------------------------------------------

@pytest.mark.parametrize(("base_url", "setting", "secure"), [
    ("http://127.0.0.1:5000", None, False),
    ("https://tracker.example.org", None, True),
    ("HTTPS://tracker.example.org", None, True),
    ("https://tracker.example.org", "0", False),
    ("http://127.0.0.1:5000", "1", True),
    ("http://127.0.0.1:5000", "", False),
])
def test_secure_cookies_follow_the_base_url_unless_set(monkeypatch, tmp_path, base_url, setting, secure):
    monkeypatch.setenv("TRACKER_BASE_URL", base_url)
    if setting is None:
        monkeypatch.delenv("TRACKER_SECURE_COOKIES", raising=False)
    else:
        monkeypatch.setenv("TRACKER_SECURE_COOKIES", setting)
    config = load_config(str(tmp_path))
    assert config["SECURE_COOKIES"] is secure
    assert config["SESSION_COOKIE_SECURE"] is secure and config["REMEMBER_COOKIE_SECURE"] is secure


def test_a_secure_cookies_setting_that_is_not_a_flag_is_refused():
    assert flag(" On ", False) is True and flag("no", True) is False
    with pytest.raises(ValueError, match="expected 0 or 1"):
        flag("maybe", False)


def test_with_secure_cookies_sign_in_sets_a_secure_host_cookie_and_hsts(app, database_url, tmp_path):
    make_user("supervisor", username="boss")
    app.extensions["sqlalchemy"].session.commit()
    secure = app_with(database_url, tmp_path, SECURE_COOKIES=True)
    assert secure.config["SESSION_COOKIE_SECURE"] and secure.config["REMEMBER_COOKIE_SECURE"]
    client = secure.test_client()
    response = client.post("/login", data={"username": "boss", "password": "password123"},
                           base_url="https://localhost")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert client.get("/", base_url="https://localhost").status_code == 200
    assert client.get("/static/app.css").headers["Strict-Transport-Security"] == HSTS


def test_without_secure_cookies_there_is_no_hsts_and_the_cookie_is_plain(client, world):
    response = login(client, "staff")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Secure" not in cookie
    assert "Strict-Transport-Security" not in response.headers


# --- F10: no caching of private answers -------------------------------------------------

def assert_not_stored(response) -> None:
    assert "no-store" in response.headers["Cache-Control"], response.headers
    assert response.headers["Pragma"] == "no-cache"


def test_pages_for_a_signed_in_user_are_never_stored(client, world, login_as):
    login_as(world["staff"])
    assert_not_stored(client.get("/"))
    assert_not_stored(client.get(f"/issues/{world['issue'].id}"))
    # The page after signing in, and a refused page, too.
    assert_not_stored(client.get("/admin/users"))


def test_an_xlsx_download_is_never_stored(client, world, login_as):
    login_as(world["supervisor"])
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert_not_stored(response)


def test_every_api_answer_is_never_stored(client, world):
    api = api_for(client, world["staff"])
    assert_not_stored(api.get("/issues"))
    assert_not_stored(api.get(f"/issues/{world['issue'].id}"))
    assert_not_stored(client.get("/api/v1/issues"))  # 401 without a token
    assert_not_stored(client.post("/api/v1/auth/token", json={"username": "staff", "password": "password123"}))


def test_static_files_may_be_cached_even_for_a_signed_in_user(client, world, login_as):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in (response.headers.get("Cache-Control") or "") and "Pragma" not in response.headers
    login_as(world["staff"])
    response = client.get("/static/app.css")
    assert "no-store" not in (response.headers.get("Cache-Control") or "") and "Pragma" not in response.headers


# --- the proxy: X-Forwarded-* trusted only from TRACKER_PROXY_COUNT proxies ---------------

def whoami_app(database_url, tmp_path, **config):
    """An app with a page that tells the address and scheme it saw."""
    app = app_with(database_url, tmp_path, **config)
    app.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme} {request.host}")
    return app


FORWARDED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "tracker.example.org"}


def test_forwarded_headers_are_ignored_without_a_proxy(app, database_url, tmp_path):
    assert app.config["PROXY_COUNT"] == 0
    client = whoami_app(database_url, tmp_path).test_client()
    seen = client.get("/_whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert seen.get_data(as_text=True) == "203.0.113.5 http localhost"


def test_forwarded_headers_from_one_proxy_are_trusted_once(database_url, tmp_path):
    client = whoami_app(database_url, tmp_path, PROXY_COUNT=1).test_client()
    seen = client.get("/_whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen.get_data(as_text=True) == "198.51.100.7 https tracker.example.org"
    # A client's own X-Forwarded-For before the proxy's is not believed: only the last hop counts.
    forged = {**FORWARDED, "X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
    seen = client.get("/_whoami", headers=forged, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen.get_data(as_text=True).split()[0] == "198.51.100.7"
