"""An admin confirms with their own password before resetting another's password, changing a role or
(de)activating a user (ASVS 4.3.3); those changes end the user's sessions and API tokens, the admin
revokes anyone's tokens from the user's page, and each step is a security event without secrets."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.support.api import api_for, assert_refused
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login
from tracker.accounts.models import ApiToken, User
from tracker.core.extensions import db

WRONG = "not-my-password-9"


def state(user_id: int) -> tuple:
    """What a refused change must leave alone: hash, role, activity, session version."""
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return user.password_hash, user.role, user.active, user.session_version


def live_tokens(user_id: int) -> int:
    """How many unrevoked tokens the user has, as stored now."""
    db.session.expire_all()
    return len(db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user_id,
                                                            ApiToken.revoked_at.is_(None))).all())


@pytest.fixture
def target(app, client, session):
    """A supervisor with an API token and a page session elsewhere; returns (user, api, page client)."""
    user = make_user("supervisor", username="sup")
    session.commit()
    api = api_for(client, user)
    other = app.test_client()
    assert login(other, "sup").status_code == 302
    return user, api, other


@pytest.mark.parametrize("admin_password", ["", WRONG])
def test_a_password_reset_needs_the_admins_password(admin, client, login_as, target, caplog, admin_password):
    user, api, other = target
    login_as(admin)
    before = state(user.id)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/password", data={
            "password": "brand-new-pass-1", "confirm": "brand-new-pass-1", "admin_password": admin_password})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert ("您的当前密码不正确" if admin_password else "请输入您的当前密码") in text
    assert state(user.id) == before and live_tokens(user.id) == 1
    assert api.get("/units").status_code == 200 and other.get("/").status_code == 200
    if admin_password:
        assert "event=reauth_failed user='root' doing='reset_password'" in caplog.text
        assert WRONG not in caplog.text


def test_a_confirmed_reset_ends_sessions_and_tokens_and_is_logged(admin, client, login_as, target, caplog):
    user, api, other = target
    login_as(admin)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/password", data={
            "password": "brand-new-pass-1", "confirm": "brand-new-pass-1", "admin_password": PASSWORD})
    assert response.status_code == 302
    assert live_tokens(user.id) == 0
    assert_refused(api.get("/units"), 401)
    assert "/login" in other.get("/").headers["Location"]
    assert "event=password_reset by='root' user='sup'" in caplog.text
    assert "event=tokens_revoked_all user='sup' reason='password_reset' by='root' count=1" in caplog.text
    assert PASSWORD not in caplog.text and "brand-new-pass-1" not in caplog.text


@pytest.mark.parametrize("data", [
    {"role": "leader", "active": "y"},  # a role change
    {"role": "supervisor"},  # deactivation ("active" unchecked)
])
def test_role_changes_and_deactivation_need_the_admins_password(admin, client, login_as, target, caplog, data):
    user, api, other = target
    login_as(admin)
    before = state(user.id)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/edit", data={**data, "admin_password": WRONG})
    assert response.status_code == 422 and "您的当前密码不正确" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}/edit", data=data)
    assert response.status_code == 422 and "您的当前密码不正确" in response.get_data(as_text=True)
    assert state(user.id) == before and live_tokens(user.id) == 1
    assert api.get("/units").status_code == 200 and other.get("/").status_code == 200
    assert "event=reauth_failed user='root' doing='update_user'" in caplog.text and WRONG not in caplog.text


def test_other_details_change_without_the_password(admin, client, login_as, target):
    user, _api, _other = target
    login_as(admin)
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "role": "supervisor", "active": "y", "display_name": "王五", "email": "w@example.cn"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "王五"


def test_a_confirmed_role_change_is_logged(admin, client, login_as, target, caplog):
    user, api, _other = target
    login_as(admin)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/edit", data={
            "role": "leader", "active": "y", "admin_password": PASSWORD})
    assert response.status_code == 302 and state(user.id)[1] == "leader"
    assert "event=role_changed by='root' user='sup' old='supervisor' new='leader'" in caplog.text
    assert api.get("/units").status_code == 200  # a role change keeps the token


def test_a_confirmed_deactivation_revokes_tokens_and_is_logged(admin, client, login_as, target, caplog):
    user, api, other = target
    login_as(admin)
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/edit", data={
            "role": "supervisor", "admin_password": PASSWORD})
    assert response.status_code == 302 and state(user.id)[2] is False
    assert live_tokens(user.id) == 0 and "/login" in other.get("/").headers["Location"]
    assert_refused(api.get("/units"), 401)
    assert "event=user_deactivated by='root' user='sup'" in caplog.text
    assert "reason='deactivated'" in caplog.text and PASSWORD not in caplog.text


# ---- the admin and a user's tokens -----------------------------------------------------------

def test_the_admin_lists_and_revokes_a_users_tokens(admin, client, login_as, target, caplog):
    user, api, _other = target
    second = api_for(client, user)
    login_as(admin)
    page = client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    ids = sorted(db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id)))
    assert all(f'id="token-{token_id}"' in page for token_id in ids) and api.token not in page
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"/admin/users/{user.id}/tokens/{ids[0]}/revoke")
    assert response.status_code == 302
    assert f"event=token_revoked user='sup' token_id={ids[0]} by='root'" in caplog.text
    assert_refused(api.get("/units"), 401)
    assert second.get("/units").status_code == 200
    # A token id under another user's page is not found.
    client.post(f"/admin/users/{admin.id}/tokens/{ids[1]}/revoke")
    assert second.get("/units").status_code == 200
    client.post(f"/admin/users/{user.id}/tokens/revoke-all")
    assert_refused(second.get("/units"), 401)
    assert 'id="no-user-tokens"' in client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)


@pytest.mark.parametrize("role", ["supervisor", "leader", "unit_head"])
def test_non_admins_cannot_revoke_anothers_tokens(client, login_as, target, role):
    user, api, _other = target
    someone = make_user(role)
    db.session.commit()
    login_as(someone)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert client.post(f"/admin/users/{user.id}/tokens/{token_id}/revoke").status_code == 403
    assert client.post(f"/admin/users/{user.id}/tokens/revoke-all").status_code == 403
    assert live_tokens(user.id) == 1 and api.get("/units").status_code == 200
