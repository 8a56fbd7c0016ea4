"""What every response says about itself (ASVS 4.0.3 V14.4, V14.5, V14.3, V3.4, V4.3.2, V7.4): security
headers on pages, API answers, files and errors; the session cookie's flags; no CORS; unknown methods
refused and logged; no directory listings; a generic page for an unexpected error."""
from __future__ import annotations

import logging

import pytest

from tests.support.api import token_for
from tests.support.factories import make_user
from tests.support.web import login

CSP_MUSTS = ("default-src 'self'", "frame-ancestors 'none'")


@pytest.fixture
def responses(client, session, app):
    """One response of each kind the app gives: a page, a redirect, an error page, a static file,
    an API answer, an API error and a download."""
    make_user("supervisor", username="sup")
    session.commit()
    out = {
        "login page": client.get("/login"),
        "redirect to login": client.get("/"),
        "404 page": client.get("/no/such/page"),
        "static file": client.get("/static/app.css"),
        "api 401": client.get("/api/v1/issues"),
        "openapi document": client.get("/api/v1/openapi.json"),
    }
    token = token_for(client, "sup")
    out["api answer"] = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}"})
    out["api export"] = client.get("/api/v1/issues/export.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert login(client, "sup").status_code == 302
    out["signed-in page"] = client.get("/issues/")
    for name, response in out.items():
        response.close()
        assert response.status_code < 500, name
    return out


def test_every_response_has_the_security_headers(responses):
    for name, response in responses.items():
        headers = response.headers
        # V14.4.4, V14.4.6, V14.4.7
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), name
        assert headers.get("X-Frame-Options") == "DENY", name
        # V14.4.3: a CSP that allows no script from elsewhere, no inline script and no framing.
        csp = headers.get("Content-Security-Policy", "")
        assert all(part in csp for part in CSP_MUSTS), (name, csp)
        assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-eval'" not in csp and "*" not in csp, (name, csp)


def test_every_response_names_its_content_type_and_text_its_charset(responses):
    for name, response in responses.items():
        # V14.4.1
        content_type = response.headers.get("Content-Type", "")
        assert content_type, name
        if content_type.startswith("text/"):
            assert "charset=utf-8" in content_type.lower(), (name, content_type)


def test_api_answers_are_attachments_so_a_browser_never_renders_them(responses):
    # V14.4.2: every API answer carries a Content-Disposition: attachment (JSON ones as api.json).
    for name in ("api 401", "api answer", "openapi document", "api export"):
        disposition = responses[name].headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment;"), (name, disposition)
    assert responses["api answer"].headers["Content-Disposition"] == 'attachment; filename="api.json"'
    assert responses["api answer"].get_json()["items"] == []


def test_no_response_names_the_server_software_or_its_version(responses):
    # V14.3.3: the app adds no Server or X-Powered-By header (gunicorn's own says only "gunicorn").
    import gunicorn

    for name, response in responses.items():
        assert "X-Powered-By" not in response.headers, name
        assert "Server" not in response.headers, name
    assert gunicorn.SERVER == "gunicorn"


def test_the_session_cookie_is_httponly_and_samesite(client, session):
    make_user("supervisor", username="sup")
    session.commit()
    response = login(client, "sup")
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    # V3.4.2, V3.4.3 (the Secure flag and the __Host- prefix: see SECURITY.md)
    assert "httponly" in flags
    assert "samesite=lax" in flags or "samesite=strict" in flags
    assert "path=/" in flags


def test_the_session_cookie_is_signed_with_hmac_sha256(client, app, session):
    # V6.2.5, V3.2.4: the cookie's signature is HMAC-SHA-256 (Flask's default would be SHA-1).
    import hashlib

    from flask.sessions import TaggedJSONSerializer
    from itsdangerous import BadSignature, URLSafeTimedSerializer

    make_user("supervisor", username="sup")
    session.commit()
    assert login(client, "sup").status_code == 302
    value = client.get_cookie("session").value

    def reader(digest):
        return URLSafeTimedSerializer(app.secret_key, salt="cookie-session", serializer=TaggedJSONSerializer(),
                                      signer_kwargs={"key_derivation": "hmac", "digest_method": digest})

    assert "_user_id" in reader(hashlib.sha256).loads(value)
    with pytest.raises(BadSignature):
        reader(hashlib.sha1).loads(value)


def test_api_tokens_are_never_read_from_the_url(client, session):
    # V13.1.3, V3.1.1: a token in the query string opens nothing (only the Authorization header does).
    make_user("supervisor", username="sup")
    session.commit()
    token = token_for(client, "sup")
    for name in ("token", "access_token", "api_key", "auth"):
        assert client.get(f"/api/v1/issues?{name}={token}").status_code == 401, name


def test_signing_in_issues_a_new_session_cookie_and_the_old_one_stays_signed_out(client, app, session):
    # V3.2.1: a cookie planted before sign-in is not the one that is signed in.
    make_user("supervisor", username="sup")
    session.commit()
    client.get("/login")
    before = client.get_cookie("session")
    assert login(client, "sup").status_code == 302
    after = client.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)
    planted = app.test_client()
    if before is not None:
        planted.set_cookie("session", before.value)
    assert planted.get("/").status_code == 302
    # A cookie whose signature is altered is worth nothing (V3.5.3: signed, tamper-evident tokens).
    forged = app.test_client()
    forged.set_cookie("session", after.value[:-2] + ("AA" if not after.value.endswith("AA") else "BB"))
    assert forged.get("/").status_code == 302


def test_no_cross_origin_access_is_granted(client, session):
    # V14.5.3: no Access-Control-Allow-Origin for any origin, "null" included; V14.5.2: Origin changes nothing.
    make_user("supervisor", username="sup")
    session.commit()
    token = token_for(client, "sup")
    for origin in ("https://evil.example", "null"):
        for method in ("GET", "OPTIONS"):
            response = client.open("/api/v1/issues", method=method, headers={
                "Origin": origin, "Authorization": f"Bearer {token}", "Access-Control-Request-Method": "GET"})
            assert not any(h.lower().startswith("access-control-") for h in response.headers.keys()), origin
    assert client.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}",
                                                 "Origin": "https://evil.example"}).status_code == 200


def test_methods_the_app_does_not_use_are_refused_and_logged(client, caplog):
    # V14.5.1
    caplog.set_level(logging.WARNING, logger="tracker")
    for method in ("TRACE", "PUT", "DELETE", "PROPFIND"):
        response = client.open("/login", method=method)
        assert response.status_code == 405, method
        assert f"refused {method} /login: 405" in caplog.text
    assert client.open("/api/v1/auth/token", method="TRACE").status_code == 405


@pytest.mark.parametrize("path", ["/static/", "/static/vendor/", "/.git/config", "/.git/HEAD", "/static/.DS_Store",
                                  "/instance/secret_key", "/static/../instance/secret_key", "/uploads/"])
def test_no_directory_listing_and_no_file_outside_static(client, path):
    # V4.3.2, V12.4.1, V12.5.1: only the files of static/ are served, and no listing of any folder.
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"Index of" not in response.data and b"secret" not in response.data.lower()


def test_an_unexpected_error_shows_a_generic_page_and_no_details(app, client, caplog):
    # V7.4.1, V7.4.3, V14.3.2: debug is off; the last-resort handler answers 500 with a plain message.
    assert not app.debug
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode():
        raise RuntimeError("secret detail /srv/tracker/db.py line 42")

    app.add_url_rule("/__explode", "explode", explode)
    app.add_url_rule("/api/v1/__explode", "api_explode", explode)
    caplog.set_level(logging.ERROR)
    page = client.get("/__explode")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "服务器出错了" in text and "secret detail" not in text and "Traceback" not in text
    api = client.get("/api/v1/__explode")
    assert api.status_code == 500
    assert api.get_json() == {"error": "服务器出错了,请稍后再试;如果反复出现,请联系系统管理员。"}
    # The details go to the log instead, for the administrator.
    assert "secret detail" in caplog.text
