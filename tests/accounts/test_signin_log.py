"""Sign-in: one password-hash check whoever is asked for (issue 9, F8), and the security log's
sign-in events (F13) on the page and the API, never with the password in them."""
from __future__ import annotations

import logging

import pytest

from tests.support.api import PREFIX
from tests.support.factories import PASSWORD, make_user
from tracker.accounts import models
from tracker.accounts import services as accounts

SECRET = "very-secret-attempt-42"


@pytest.fixture
def hash_checks(monkeypatch):
    """Count the calls of Werkzeug's check_password_hash made through the User model."""
    calls = []
    real = models.check_password_hash

    def counted(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counted)
    return calls


@pytest.fixture
def people(session):
    make_user("supervisor", username="sup")
    make_user("leader", username="gone", active=False)
    session.commit()


@pytest.mark.parametrize("username, password, reason", [
    ("nobody", PASSWORD, "unknown"),
    ("gone", PASSWORD, "inactive"),
    ("sup", "wrong-password", "bad_password"),
    ("sup", PASSWORD, None),
])
def test_every_attempt_costs_exactly_one_scrypt_check(session, people, hash_checks, username, password, reason):
    found = accounts.check_credentials(session, username, password)
    assert found.reason == reason and (found.user is None) == (reason is not None)
    assert len(hash_checks) == 1 and hash_checks[0].startswith("scrypt:")


def test_the_dummy_hash_is_made_once(session, people, hash_checks):
    accounts.check_credentials(session, "nobody", "x")
    accounts.check_credentials(session, "nobody2", "y")
    assert hash_checks[0] == hash_checks[1]


def events(caplog, name):
    return [r for r in caplog.records if r.name == "tracker.security" and r.getMessage().startswith(f"event={name} ")]


def test_page_sign_ins_are_logged(client, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.post("/login", data={"username": "sup", "password": PASSWORD})
    [ok] = events(caplog, "login")
    assert ok.levelno == logging.INFO and ok.getMessage() == "event=login user='sup' ip='127.0.0.1' via='page'"


@pytest.mark.parametrize("username, password, reason", [
    ("nobody", SECRET, "unknown"),
    ("gone", PASSWORD, "inactive"),
    ("sup", SECRET, "bad_password"),
])
def test_failed_sign_ins_are_logged_with_the_reason(client, people, caplog, username, password, reason):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.post("/login", data={"username": username, "password": password})
    client.post(f"{PREFIX}/auth/token", json={"username": username, "password": password})
    failed = events(caplog, "login_failed")
    assert [r.levelno for r in failed] == [logging.WARNING] * 2
    for record, via in zip(failed, ("page", "api"), strict=True):
        assert record.getMessage() == (f"event=login_failed username='{username}' ip='127.0.0.1' "
                                       f"via='{via}' reason='{reason}'")


def test_api_sign_in_logs_login_and_token_issued(client, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    response = client.post(f"{PREFIX}/auth/token", json={"username": "sup", "password": PASSWORD})
    assert response.status_code == 200
    [ok] = events(caplog, "login")
    [granted] = events(caplog, "token_issued")
    assert ok.getMessage() == "event=login user='sup' ip='127.0.0.1' via='api'"
    assert granted.getMessage().startswith("event=token_issued user='sup' token_id=")
    assert granted.getMessage().endswith("ip='127.0.0.1'")
    assert response.get_json()["token"] not in caplog.text


def test_no_password_reaches_any_log_record(client, people, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(6):  # failures, then throttled
        client.post("/login", data={"username": "sup", "password": SECRET})
        client.post(f"{PREFIX}/auth/token", json={"username": "nobody", "password": SECRET})
    client.post("/login", data={"username": "sup", "password": PASSWORD})
    assert events(caplog, "login_throttled") and events(caplog, "login_failed")
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert SECRET not in text and PASSWORD not in text
