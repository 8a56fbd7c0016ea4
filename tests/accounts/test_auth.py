"""Sign-in, sign-out, password change and CSRF protection."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.support.factories import PASSWORD, make_user
from tests.support.web import csrf_token, forget_cached_user, login
from tracker import create_app
from tracker.accounts.models import User
from tracker.core.extensions import db
from tracker.units.models import Unit


def fresh(user: User) -> User:
    """The user as stored now."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def signed_in(client) -> bool:
    """Whether the client's session opens the home page (rather than being sent to /login)."""
    return client.get("/").status_code == 200


# ---- login ---------------------------------------------------------------------------------

def test_login_ok(client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    response = login(client, "sup")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in(client)
    assert fresh(user).session_version == 1


def test_wrong_password_refused_and_logged(client, session, caplog):
    make_user("supervisor", username="sup")
    session.commit()
    caplog.set_level(logging.WARNING, logger="tracker.auth")
    response = login(client, "sup", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert "refused login for 'sup'" in caplog.text
    assert not signed_in(client)
    # An unknown user gets the same answer: no hint which usernames exist.
    assert "用户名或密码不正确" in login(client, "nobody").get_data(as_text=True)


def test_inactive_user_refused(client, session, caplog):
    make_user("leader", username="gone", active=False)
    session.commit()
    caplog.set_level(logging.WARNING, logger="tracker.auth")
    response = login(client, "gone")
    assert response.status_code == 200 and "用户名或密码不正确" in response.get_data(as_text=True)
    assert "refused login for 'gone'" in caplog.text
    assert not signed_in(client)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "http:/evil.example",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_next_open_redirect_refused(client, session, target):
    make_user("leader", username="lead")
    session.commit()
    response = client.post("/login", query_string={"next": target},
                           data={"username": "lead", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_with_a_control_character_is_refused_before_signing_in(client, session):
    # Control characters in a query string answer 400 before any view (tracker.core.bounds).
    make_user("leader", username="lead")
    session.commit()
    response = client.post("/login", query_string={"next": "/\t/evil.example"},
                           data={"username": "lead", "password": PASSWORD})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")
    assert not signed_in(client)


def test_next_local_path_followed(client, session):
    make_user("leader", username="lead")
    session.commit()
    response = client.post("/login?next=/issues/?state=open", data={"username": "lead", "password": PASSWORD})
    assert response.headers["Location"] == "/issues/?state=open"


def test_login_required_redirects_with_next(client):
    response = client.get("/admin/rounds")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


# ---- logout --------------------------------------------------------------------------------

def test_logout_is_post_only(client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    login(client, "sup")
    response = client.get("/logout")
    assert response.status_code == 405
    assert signed_in(client) and fresh(user).session_version == 1


def test_logout_ends_the_session_for_a_copied_cookie(client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    login(client, "sup")
    assert signed_in(client)
    copied = client.get_cookie("session").value
    response = client.post("/logout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert fresh(user).session_version == 2
    assert not signed_in(client)
    # Replaying the cookie taken before logout opens nothing.
    client.set_cookie("session", copied)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---- change password -----------------------------------------------------------------------

def test_change_password_wrong_current_refused(client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    login(client, "sup")
    response = client.post("/password", data={"current": "not-mine-1", "new": "brand-new-pass-1",
                                              "confirm": "brand-new-pass-1"})
    assert response.status_code == 200 and "当前密码不正确" in response.get_data(as_text=True)
    user = fresh(user)
    assert user.check_password(PASSWORD) and user.session_version == 1


def test_change_password_too_short_refused(client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    login(client, "sup")
    response = client.post("/password", data={"current": PASSWORD, "new": "short", "confirm": "short"})
    assert response.status_code == 200 and "新密码须为 12-128 个字符" in response.get_data(as_text=True)
    response = client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1", "confirm": "other-1234"})
    assert "两次输入的新密码不一致" in response.get_data(as_text=True)
    user = fresh(user)
    assert user.check_password(PASSWORD) and user.session_version == 1


def test_change_password_ends_other_sessions(app, client, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    other = app.test_client()
    login(client, "sup")
    login(other, "sup")
    assert signed_in(other)
    response = client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                              "confirm": "brand-new-pass-1"})
    assert response.status_code == 302
    assert "密码已修改" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert signed_in(client)  # this session goes on
    assert not signed_in(other)  # the other device is signed out
    assert fresh(user).check_password("brand-new-pass-1")
    assert login(app.test_client(), "sup").status_code == 200  # the old password no longer works
    assert login(app.test_client(), "sup", "brand-new-pass-1").status_code == 302


# ---- CSRF ----------------------------------------------------------------------------------

@pytest.fixture
def csrf_client(app, database_url, clock, tmp_path):
    """A client of an app with CSRF protection on, over the same test database.

    Depends on `app` so that the rows are removed after the test as usual.
    """
    protected = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": True,
        "UPLOAD_DIR": str(tmp_path / "uploads-csrf"),
        "CLOCK": clock,
    })
    protected.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    with protected.app_context():
        yield protected.test_client()
        db.session.remove()
        db.engine.dispose()


def test_post_without_csrf_token_refused(csrf_client, session):
    admin = make_user("admin", username="root")
    session.commit()
    # Even the login form needs its token.
    response = csrf_client.post("/login", data={"username": "root", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期或表单校验失败" in response.get_data(as_text=True)

    token = csrf_token(csrf_client.get("/login").get_data(as_text=True))
    response = login(csrf_client, "root", csrf_token=token)  # and the second step (an admin) its own
    assert response.status_code == 302 and response.headers["Location"] == "/"

    response = csrf_client.post("/admin/units", data={"code": "EPB", "name": "市生态环境局"})
    assert response.status_code == 400
    response = csrf_client.post("/logout")
    assert response.status_code == 400
    response = csrf_client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                                   "confirm": "brand-new-pass-1"})
    assert response.status_code == 400
    assert csrf_client.get("/").status_code == 200  # still signed in: the logout did not happen

    db.session.expire_all()
    assert db.session.scalar(select(Unit).where(Unit.code == "EPB")) is None
    stored = db.session.get(User, admin.id)
    assert stored.session_version == 1 and stored.check_password(PASSWORD)

    # With the token from the page, the same form goes through.
    token = csrf_token(csrf_client.get("/admin/units").get_data(as_text=True))
    response = csrf_client.post("/admin/units", data={"code": "EPB", "name": "市生态环境局", "csrf_token": token})
    assert response.status_code == 302
