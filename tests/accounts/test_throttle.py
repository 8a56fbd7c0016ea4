"""Throttling of failed sign-ins (issue 9, F1): per account with a growing wait, per address only
at a far higher count, on the page and the API, in storage shared by every process (the database
here; Redis when configured). The injected clock moves the windows."""
from __future__ import annotations

import logging
import math
import os
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.api import PREFIX, rows
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login
from tracker import create_app
from tracker.accounts import signin
from tracker.accounts.models import ApiToken
from tracker.core import throttle
from tracker.core.extensions import db
from tracker.core.models import ThrottleCounter

OFFICE = "192.0.2.10"  # documentation addresses (RFC 5737): only WSGI environ values here
ELSEWHERE = "198.51.100.7"


def fail(client, username="sup", address=OFFICE):
    """One failed sign-in through the page."""
    return client.post("/login", data={"username": username, "password": "not-the-password"},
                       environ_base={"REMOTE_ADDR": address})


def page_login(client, username="sup", address=OFFICE):
    """A sign-in with the right password through the page."""
    return client.post("/login", data={"username": username, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": address})


def wait_of(response) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["Retry-After"])


@pytest.fixture
def sup(session):
    user = make_user("supervisor", username="sup")
    make_user("supervisor", username="colleague")
    session.commit()
    return user


# --- the page ---------------------------------------------------------------------------------

def test_five_failures_lock_the_account_even_for_the_right_password_until_the_minute_ends(client, sup, clock):
    for _ in range(5):
        response = fail(client)
        assert response.status_code == 200 and "用户名或密码不正确" in response.get_data(as_text=True)
    response = page_login(client)  # the right password, refused while throttled
    wait = wait_of(response)
    assert 1 <= wait <= 60
    html = response.get_data(as_text=True)
    assert "尝试次数过多,请 1 分钟后再试。" in html and 'name="password"' in html  # the form again
    assert client.get("/").status_code == 302  # not signed in

    clock.now += timedelta(seconds=wait)
    assert page_login(client).status_code == 302  # the wait is over


def test_the_wait_grows_with_repeated_failures(client, sup, clock):
    waits = []
    for _round in range(4):
        for _ in range(5):
            assert fail(client).status_code == 200
        response = fail(client)
        waits.append(wait_of(response))
        assert f"尝试次数过多,请 {math.ceil(waits[-1] / 60)} 分钟后再试。" in response.get_data(as_text=True)
        clock.now += timedelta(seconds=waits[-1])
    # 5 a minute, 10 a quarter hour, 20 an hour, each window from its first failure: after 10 failures
    # the rest of the quarter hour, after 20 the rest of the hour (the 4th round starts at minute 16).
    assert waits == [60, 14 * 60, 60, 44 * 60]
    # Throttled attempts are not counted (the hour's counter holds the 20 failures, not 24).
    assert db.session.scalar(select(func.max(ThrottleCounter.count))) == 20


def test_the_account_is_the_username_stripped_and_lower_cased(client, sup):
    for name in ("sup", "SUP", " Sup ", "sUp", "sup\t"):
        assert fail(client, name).status_code == 200
    assert wait_of(page_login(client, "Sup")) > 0


def test_one_attacked_account_does_not_lock_out_its_colleagues_or_their_address(client, sup):
    for _ in range(5):
        fail(client, "sup")
    assert page_login(client, "sup").status_code == 429
    other = client.application.test_client()
    assert page_login(other, "colleague").status_code == 302  # same address, another account
    assert page_login(client.application.test_client(), "sup").status_code == 429  # success reset nothing


def test_successful_sign_ins_are_not_counted(client, sup):
    for _ in range(30):
        assert login(client.application.test_client(), "sup").status_code == 302
    assert rows(ThrottleCounter) == 0


def test_an_address_is_throttled_only_at_a_far_higher_count(app, client, sup):
    assert app.config["LOGIN_ADDRESS_LIMITS"] == "300 per hour"
    # A whole office of 200 behind one NAT address, each mistyping once at 9:00: nobody is stopped.
    with app.test_request_context():
        for n in range(200):
            signin.count_failure(f"clerk{n}", OFFICE)
    assert page_login(client, "sup").status_code == 302


def test_an_address_trying_many_accounts_is_throttled(app, client, sup):
    app.config["LOGIN_ADDRESS_LIMITS"] = "8 per hour"  # lowered here only: 300 page sign-ins take too long
    for n in range(8):
        assert fail(client, f"guess{n}").status_code == 200  # no account reaches its own limit
    response = page_login(client, "sup")
    assert wait_of(response) > 60 * 59
    assert "请 60 分钟后再试" in response.get_data(as_text=True)
    assert page_login(app.test_client(), "sup", ELSEWHERE).status_code == 302  # other addresses are not


def test_the_sql_storage_is_the_default_and_shared_not_per_process(app, sup, client):
    limiter = throttle.limiter_of(app)
    assert isinstance(limiter.storage, throttle.SqlStorage)
    for _ in range(5):
        fail(client)
    # A second app (another worker) on the same database sees the same counters.
    worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "CLOCK": app.config["CLOCK"],
                         "UPLOAD_DIR": app.config["UPLOAD_DIR"]})
    with worker.app_context():
        assert page_login(worker.test_client()).status_code == 429
        db.session.remove()
        db.engine.dispose()


# --- the API ----------------------------------------------------------------------------------

def api_login(client, password, username="sup", address=OFFICE):
    return client.post(f"{PREFIX}/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_the_api_answers_429_with_retry_after_and_issues_no_token(client, sup, clock):
    for _ in range(5):
        assert api_login(client, "not-the-password").status_code == 401
    response = api_login(client, PASSWORD)
    wait = wait_of(response)
    assert response.get_json() == {"error": "尝试次数过多,请 1 分钟后再试。"}
    assert rows(ApiToken) == 0
    clock.now += timedelta(seconds=wait)
    assert api_login(client, PASSWORD).status_code == 200


def test_page_and_api_failures_count_together(client, sup):
    for _ in range(3):
        fail(client)
    for _ in range(2):
        api_login(client, "not-the-password")
    assert page_login(client).status_code == 429
    assert api_login(client, PASSWORD).status_code == 429


def test_the_openapi_document_lists_the_429(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    operation = document["paths"]["/auth/token"]["post"]
    assert operation["responses"]["429"] == {"$ref": "#/components/responses/TOO_MANY_REQUESTS"}
    assert "Retry-After" in document["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]


# --- the storage ------------------------------------------------------------------------------

def test_sql_storage_counts_atomically_and_starts_a_new_window_after_expiry(app, clock):
    storage = throttle.SqlStorage("trackerdb://")
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert storage.get_expiry("k") == pytest.approx(storage.now() + 60)
    clock.now += timedelta(seconds=30)
    assert storage.incr("k", 60, amount=2) == 5
    assert storage.get_expiry("k") == pytest.approx(storage.now() + 30)  # the window does not slide
    clock.now += timedelta(seconds=30)
    assert storage.get("k") == 0 and storage.get_expiry("k") == pytest.approx(storage.now())
    assert storage.incr("k", 60) == 1  # a new window
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def test_sql_storage_increments_are_atomic_across_concurrent_writers(app):
    storage = throttle.SqlStorage("trackerdb://")
    seen: list[int] = []

    def writer():
        with app.app_context():
            for _ in range(10):
                seen.append(storage.incr("shared", 3600))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Every increment saw its own count: none lost, none read twice (one UPSERT each).
    assert sorted(seen) == list(range(1, 41)) and storage.get("shared") == 40


def test_sql_storage_deletes_expired_rows_on_write(app, clock):
    storage = throttle.SqlStorage("trackerdb://")
    for n in range(5):
        storage.incr(f"old{n}", 60)
    storage.incr("long", 3600)
    clock.now += timedelta(minutes=2)
    storage.incr("new", 60)
    assert set(db.session.scalars(select(ThrottleCounter.key))) == {"long", "new"}
    assert storage.reset() == 2 and rows(ThrottleCounter) == 0


def test_the_storage_scheme_is_registered_for_flask_limiter():
    from limits.storage import storage_from_string

    assert isinstance(storage_from_string("trackerdb://"), throttle.SqlStorage)


REDIS_URL = os.environ.get("TRACKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def test_redis_storage_when_tracker_redis_url_is_set(database_url, sup, monkeypatch, tmp_path):
    if not _redis_reachable():
        pytest.skip(f"needs Redis at {REDIS_URL}")
    monkeypatch.setenv("TRACKER_REDIS_URL", REDIS_URL)
    # A key prefix of this run's own: other users of this Redis are left alone; keys expire by themselves.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": str(tmp_path),
                      "RATELIMIT_KEY_PREFIX": f"tracker-test-{uuid.uuid4().hex}"})
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert type(throttle.limiter_of(app).storage).__name__ == "RedisStorage"
    client = app.test_client()
    with app.app_context():
        for _ in range(5):
            assert fail(client).status_code == 200
        assert 1 <= wait_of(page_login(client)) <= 60
        assert page_login(client, "colleague").status_code == 302
        assert db.session.scalar(select(func.count()).select_from(ThrottleCounter)) == 0  # all in Redis
        db.session.remove()


# --- the security log -------------------------------------------------------------------------

def test_throttled_attempts_are_logged(client, sup, caplog):
    for _ in range(5):
        fail(client)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        page_login(client)
    [record] = [r for r in caplog.records if "login_throttled" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert f"username='sup' ip='{OFFICE}'" in record.getMessage()
