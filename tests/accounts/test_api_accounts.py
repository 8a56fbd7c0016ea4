"""The JSON API's tokens (issued, refused, revoked, checked) and user creation; refusals change nothing."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.support.api import PREFIX, Api, api_for, assert_refused, rows, token_for
from tests.support.factories import PASSWORD
from tracker.accounts.models import ApiToken, User
from tracker.core.extensions import db
from tracker.rounds.models import Round

# --- tokens ------------------------------------------------------------------

def test_token_is_issued_for_good_credentials_and_stored_hashed(client, world):
    response = client.post(f"{PREFIX}/auth/token", json={"username": "staff", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_json()["token"]
    assert len(token) >= 32
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored and token not in stored


@pytest.mark.parametrize("body", [
    {"username": "staff", "password": "wrong-password"},
    {"username": "nobody", "password": PASSWORD},
    # Given, but nothing left once control characters are cleaned away: it names nobody (401, not 400).
    {"username": "\u0015", "password": PASSWORD},
    {"username": "\u202e\x00", "password": PASSWORD},
])
def test_wrong_credentials_get_401_and_no_token(client, world, body):
    assert_refused(client.post(f"{PREFIX}/auth/token", json=body), 401, "用户名或密码不正确")
    assert rows(ApiToken) == 0


def test_inactive_user_gets_no_token(client, world):
    world["staff"].active = False
    db.session.commit()
    assert_refused(client.post(f"{PREFIX}/auth/token", json={"username": "staff", "password": PASSWORD}), 401)
    assert rows(ApiToken) == 0


@pytest.mark.parametrize("kwargs, fragment", [
    ({"data": "{not json", "content_type": "application/json"}, "不是合法的 JSON"),
    ({"data": "", "content_type": "application/json"}, "请求体为空"),
    ({"json": ["staff", PASSWORD]}, "必须是 JSON 对象"),
    ({"json": {"username": "staff", "password": 12345678}}, "字段 password 应为字符串"),
    ({"json": {"username": "staff"}}, "请提供 username 和 password"),
])
def test_malformed_token_requests_get_400(client, world, kwargs, fragment):
    assert_refused(client.post(f"{PREFIX}/auth/token", **kwargs), 400, fragment)
    assert rows(ApiToken) == 0


def test_calls_without_token_get_401_and_are_logged(client, world, caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.api"):
        response = client.get(f"{PREFIX}/issues")
    assert_refused(response, 401, "缺少访问令牌")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert any(r.name == "tracker.api" and r.levelno == logging.WARNING and "401" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("header, fragment", [
    ("Bearer not-a-real-token", "无效"),
    ("Basic c3RhZmY6cGFzc3dvcmQxMjM=", "格式不正确"),
    ("Bearer", "格式不正确"),
])
def test_bad_tokens_get_401(client, world, header, fragment):
    assert_refused(client.get(f"{PREFIX}/units", headers={"Authorization": header}), 401, fragment)


def test_session_cookie_does_not_authenticate_the_api(client, world, login_as):
    login_as(world["supervisor"])
    assert client.get("/").status_code == 200  # the browser session works for pages
    assert_refused(client.get(f"{PREFIX}/issues"), 401)
    before = rows(Round)
    assert_refused(client.post(f"{PREFIX}/rounds", json={"name": "轮次", "level": "central", "kind": "regular"}),
                   401)
    assert rows(Round) == before


def test_revoked_token_gets_401(client, world):
    api = api_for(client, world["staff"])
    assert api.get("/units").status_code == 200
    response = api.delete("/auth/token")
    assert response.status_code == 204
    assert_refused(api.get("/units"), 401, "已被撤销")
    assert_refused(api.delete("/auth/token"), 401)
    # Another token of the same user still works: only the presented one was revoked.
    other = Api(client, token_for(client, world["staff"]))
    assert other.get("/units").status_code == 200


def test_token_of_deactivated_user_stops_working(client, world):
    api = api_for(client, world["staff"])
    world["staff"].active = False
    db.session.commit()
    assert_refused(api.get("/units"), 401)


def test_unknown_api_path_answers_json_404(client, world):
    api = api_for(client, world["staff"])
    assert_refused(api.get("/nothing-here"), 404)


# --- users ---------------------------------------------------------------------

def test_admin_creates_user_without_exposing_the_hash(client, world):
    admin = api_for(client, world["admin"])
    response = admin.post("/users", json={"username": "clerk2", "password": "s3cret-pass-phrase", "role": "unit_staff",
                                          "unit_code": "LEAD", "email": "c@example.cn", "display_name": "张三"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "clerk2" and body["unit_code"] == "LEAD" and body["role"] == "unit_staff"
    assert body["display_name"] == "张三" and body["active"] is True
    text = response.get_data(as_text=True)
    assert "password" not in text and "scrypt" not in text and "s3cret" not in text
    # The new user must first replace the password the admin chose (ASVS 2.3.1): no token until then.
    refused = client.post("/api/v1/auth/token", json={"username": "clerk2", "password": "s3cret-pass-phrase"})
    assert refused.status_code == 403 and refused.get_json() == {"error": "须先在网页上修改初始密码。"}


@pytest.mark.parametrize("who, body, status, fragment", [
    ("supervisor", {"username": "u2", "password": "password123", "role": "leader"}, 403, "无权"),
    ("admin", {"username": "staff", "password": "password123", "role": "leader"}, 409, "已存在"),
    ("admin", {"username": "u2", "password": "password123", "role": "unit_staff"}, 422, "所属单位"),
    ("admin", {"username": "u2", "password": "short", "role": "leader"}, 422, "密码"),
    ("admin", {"username": "u2", "password": "password123", "role": "king"}, 422, "角色"),
    ("admin", {"username": "u2", "password": "password123", "role": ["leader"]}, 400, "字段 role"),
])
def test_user_creation_refusals_change_nothing(client, world, who, body, status, fragment):
    api = api_for(client, world[who])
    before = rows(User)
    assert_refused(api.post("/users", json=body), status, fragment)
    assert rows(User) == before
