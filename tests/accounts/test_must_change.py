"""Initial passwords must be changed at first use (ASVS 2.3.1): a password an admin chose (a new user
on the page or through the API, a reset on the page) flags the user; signed in, they are led to the
password page and can do nothing else until they change it; the API gives them no token (403)."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.support.api import PREFIX, api_for, assert_refused
from tests.support.factories import PASSWORD, make_user
from tests.support.notify import count, snapshot
from tests.support.web import client_for, login
from tracker.accounts import services as accounts
from tracker.accounts.models import ApiToken, User
from tracker.core.extensions import db

INITIAL = "handed-over-pass-7"
NEW = "brand-new-pass-1"


def stored(username: str) -> User:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


@pytest.fixture
def newcomer(app, world):
    """A user an admin added on the page, with the password the admin chose."""
    admin_client = client_for(app, world["admin"])
    response = admin_client.post("/admin/users", data={"username": "newcomer", "password": INITIAL,
                                                      "role": "supervisor", "unit": "", "email": "",
                                                      "display_name": "新同事"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return stored("newcomer")


# ---- who is flagged ------------------------------------------------------------------------

def test_a_user_an_admin_adds_on_the_page_must_change_the_password(newcomer):
    assert newcomer.must_change_password is True


def test_a_user_an_admin_adds_through_the_api_must_change_the_password(client, world):
    api = api_for(client, world["admin"])
    response = api.post("/users", json={"username": "viaapi", "password": INITIAL, "role": "supervisor"})
    assert response.status_code == 201
    assert "must_change_password" not in response.get_json()  # the contract only grows; nothing new shown
    assert stored("viaapi").must_change_password is True


def test_the_command_line_and_the_factories_flag_nobody(app, world):
    result = app.test_cli_runner().invoke(args=["users", "create", "operator", "--role", "admin",
                                                "--password", INITIAL])
    assert result.exit_code == 0, result.output
    assert stored("operator").must_change_password is False
    assert make_user("leader").must_change_password is False
    assert not any(db.session.scalars(select(User.must_change_password)))


def test_an_admin_reset_flags_the_user_but_not_the_admin_themself(app, world):
    staff, admin = world["staff"], world["admin"]
    admin_client = client_for(app, admin)
    for user in (staff, admin):
        response = admin_client.post(f"/admin/users/{user.id}/password",
                                     data={"password": INITIAL, "confirm": INITIAL, "admin_password": PASSWORD})
        assert response.status_code == 302
    assert stored("staff").must_change_password is True
    assert stored("admin").must_change_password is False


def test_set_password_on_the_command_line_flags_only_when_asked(app, world):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "set-password", "staff", "--password", INITIAL]).exit_code == 0
    assert stored("staff").must_change_password is False
    assert runner.invoke(args=["users", "set-password", "staff", "--password", NEW, "--must-change"]).exit_code == 0
    assert stored("staff").must_change_password is True


def test_a_refused_creation_or_reset_flags_nothing(app, world):
    admin_client = client_for(app, world["admin"])
    admin_client.post(f"/admin/users/{world['staff'].id}/password",
                      data={"password": INITIAL, "confirm": INITIAL, "admin_password": "wrong-pass-1"})
    admin_client.post("/admin/users", data={"username": "weak", "password": "short", "role": "supervisor"})
    assert stored("staff").must_change_password is False and stored("staff").check_password(PASSWORD)
    assert db.session.scalar(select(User).where(User.username == "weak")) is None


# ---- the pages ---------------------------------------------------------------------------------

def test_signed_in_the_user_is_led_to_the_password_page(app, newcomer):
    client = app.test_client()
    assert login(client, "newcomer", INITIAL).status_code == 302
    for path in ("/", "/issues/", "/notices", "/account/tokens", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/password", path
    page = client.get("/password")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "须先修改为只有您自己知道的密码" in html and "取消" not in html
    for asset in ("/static/app.css", "/static/password.js"):  # what the password page loads
        assert client.get(asset).status_code == 200


def test_a_form_posted_elsewhere_changes_nothing(app, world, clock, caplog):
    staff = world["staff"]
    accounts.reset_password(db.session, world["admin"], staff, INITIAL, admin_password=PASSWORD)
    accounts.issue_token(db.session, staff, clock())  # one live token, which the refused post must leave
    db.session.commit()
    client = app.test_client()
    login(client, "staff", INITIAL)
    before = snapshot(ApiToken)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post("/account/tokens/revoke-all")
    assert response.status_code == 302 and response.headers["Location"] == "/password"
    assert snapshot(ApiToken) == before
    assert "event=must_change_password_refused user='staff' path='/account/tokens/revoke-all'" in caplog.text


def test_an_admin_who_must_change_cannot_add_a_user(app, world):
    admin = world["admin"]
    admin.must_change_password = True
    db.session.commit()
    client = client_for(app, admin)
    users = count(User)
    response = client.post("/admin/users", data={"username": "sneaky", "password": INITIAL, "role": "admin",
                                                 "unit": ""})
    assert response.status_code == 302 and response.headers["Location"] == "/password"
    assert count(User) == users


def test_changing_the_password_clears_the_flag_and_opens_the_site(app, newcomer):
    client = app.test_client()
    login(client, "newcomer", INITIAL)
    response = client.post("/password", data={"current": INITIAL, "new": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert stored("newcomer").must_change_password is False
    assert client.get("/").status_code == 200
    assert client.get("/account/tokens").status_code == 200


def test_a_wrong_current_password_keeps_the_flag(app, newcomer):
    client = app.test_client()
    login(client, "newcomer", INITIAL)
    client.post("/password", data={"current": "wrong-pass-1", "new": NEW, "confirm": NEW})
    assert stored("newcomer").must_change_password is True and stored("newcomer").check_password(INITIAL)
    assert client.get("/").headers["Location"] == "/password"


def test_signing_out_stays_open(app, newcomer):
    client = app.test_client()
    login(client, "newcomer", INITIAL)
    response = client.post("/logout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/password").status_code == 302  # signed out now


# ---- the API -----------------------------------------------------------------------------------

def test_the_api_refuses_a_token_until_the_password_is_changed(app, client, newcomer, caplog):
    tokens = count(ApiToken)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"{PREFIX}/auth/token", json={"username": "newcomer", "password": INITIAL})
    assert_refused(response, 403)
    assert response.get_json() == {"error": "须先在网页上修改初始密码。"}
    assert count(ApiToken) == tokens
    assert "event=token_refused user='newcomer' reason='must_change_password'" in caplog.text
    assert INITIAL not in caplog.text
    # A wrong password is still the plain 401: the 403 tells nothing to someone without the password.
    assert client.post(f"{PREFIX}/auth/token", json={"username": "newcomer", "password": NEW}).status_code == 401
    page = app.test_client()
    login(page, "newcomer", INITIAL)
    page.post("/password", data={"current": INITIAL, "new": NEW, "confirm": NEW})
    response = client.post(f"{PREFIX}/auth/token", json={"username": "newcomer", "password": NEW})
    assert response.status_code == 200 and count(ApiToken) == tokens + 1


def test_the_403_is_documented_on_create_token(client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    operation = spec["paths"]["/auth/token"]["post"]
    assert "403" in operation["responses"]
    assert "须先在网页上修改初始密码" in operation["description"]
