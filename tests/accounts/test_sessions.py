"""Page sessions end when idle too long or too old (ASVS 3.3.2-3.3.4); logout clears the site's data.

The clock is the injected one: the tests move it, and the session's times follow it.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.support.api import api_for
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login
from tracker.accounts.models import User
from tracker.accounts.sessions import LAST_SEEN, SIGNED_IN_AT
from tracker.core.extensions import db


def signed_in(client) -> bool:
    """Whether the client's session opens the home page (rather than being sent to /login)."""
    return client.get("/").status_code == 200


@pytest.fixture
def sup(session):
    """A supervisor, committed."""
    user = make_user("supervisor", username="sup")
    session.commit()
    return user


def test_defaults_are_30_minutes_idle_and_12_hours_absolute(production_lifetimes):
    assert production_lifetimes["SESSION_IDLE_MINUTES"] == 30
    assert production_lifetimes["SESSION_MAX_HOURS"] == 12
    assert production_lifetimes["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert production_lifetimes["TOKEN_HOURS"] == 12


def test_the_session_cookie_is_permanent_and_dies_with_the_absolute_limit(client, sup, production_lifetimes):
    response = login(client, "sup")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Expires=" in cookie and "HttpOnly" in cookie
    assert "remember_token" not in str(response.headers)  # no "remember me" cookie
    with client.session_transaction() as stored:
        assert stored.permanent and stored[SIGNED_IN_AT] == stored[LAST_SEEN] == "2020-07-15T02:00:00"


def test_an_idle_session_ends_with_a_message_and_next(client, sup, clock, production_lifetimes, caplog):
    login(client, "sup")
    clock.now += timedelta(minutes=29)
    assert signed_in(client)  # still within 30 minutes; the visit moves the last-seen time on
    clock.now += timedelta(minutes=29)
    assert signed_in(client)
    clock.now += timedelta(minutes=30)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.get("/issues/?state=open")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/issues/?state%3Dopen"
    assert "登录已超时,请重新登录。" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert not signed_in(client)
    assert f"event=session_expired user_id='{sup.id}' reason='idle'" in caplog.text
    # Signing in again starts a new session, and `next` leads back.
    again = client.post("/login?next=/issues/", data={"username": "sup", "password": PASSWORD})
    assert again.headers["Location"] == "/issues/" and signed_in(client)


def test_an_active_session_ends_at_the_absolute_limit(client, sup, clock, production_lifetimes, caplog):
    login(client, "sup")
    for _ in range(12 * 3 - 1):  # a request every 20 minutes for 11 h 40 min
        clock.now += timedelta(minutes=20)
        assert signed_in(client)
    clock.now += timedelta(minutes=20)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        assert not signed_in(client)
    assert "reason='absolute'" in caplog.text


def test_a_form_post_after_the_timeout_changes_nothing(client, sup, clock, production_lifetimes):
    login(client, "sup")
    clock.now += timedelta(hours=1)
    response = client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                                 "confirm": "brand-new-pass-1"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    db.session.expire_all()
    assert db.session.get(User, sup.id).check_password(PASSWORD)


def test_a_session_without_its_times_is_ended(client, sup, production_lifetimes):
    login(client, "sup")
    with client.session_transaction() as stored:  # a cookie signed before the times were kept
        del stored[SIGNED_IN_AT]
        del stored[LAST_SEEN]
    assert not signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(client, sup, clock, production_lifetimes):
    login(client, "sup")
    clock.now += timedelta(seconds=30)
    response = client.get("/")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers  # nothing to write
    clock.now += timedelta(seconds=40)
    response = client.get("/")
    assert "session=" in response.headers["Set-Cookie"]
    with client.session_transaction() as stored:
        assert stored[LAST_SEEN] == "2020-07-15T02:01:10"
        assert stored[SIGNED_IN_AT] == "2020-07-15T02:00:00"


def test_the_api_is_not_touched_by_the_page_timeouts(client, sup, clock, production_lifetimes):
    api = api_for(client, sup)
    login(client, "sup")
    clock.now += timedelta(hours=2)  # the page session is long idle; the token lives 12 hours
    assert api.get("/units").status_code == 200


# ---- logout --------------------------------------------------------------------------------

def test_logout_clears_site_data_and_is_logged(client, sup, caplog):
    login(client, "sup")
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login?logged_out=1"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert "event=logout user='sup'" in caplog.text
    assert not signed_in(client)
    assert 'id="logged-out"' in client.get("/login?logged_out=1").get_data(as_text=True)


def test_a_refused_logout_clears_nothing(client, sup, app):
    login(client, "sup")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/logout")
    assert response.status_code == 400 and "Clear-Site-Data" not in response.headers
    app.config["WTF_CSRF_ENABLED"] = False
    assert signed_in(client)
