"""API tokens expire, record their last use, and their owners list and revoke them (ASVS 3.5.2, 3.3.x);
a password change, an admin's reset and `tracker users set-password` revoke them all."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.api import PREFIX, Api, api_for, assert_refused, token_for
from tests.support.factories import PASSWORD
from tests.support.web import login
from tracker.accounts.models import ApiToken, User
from tracker.core.extensions import db


def stored(token_id: int) -> ApiToken:
    """The token's row as stored now."""
    db.session.expire_all()
    return db.session.get(ApiToken, token_id)


def live_ids(user: User) -> set[int]:
    """The ids of the user's unrevoked tokens, as stored now."""
    db.session.expire_all()
    return set(db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                            ApiToken.revoked_at.is_(None))))


# ---- expiry and last use -------------------------------------------------------------------

def test_the_token_answer_says_when_it_expires(client, world, production_lifetimes, caplog):
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post(f"{PREFIX}/auth/token", json={"username": "staff", "password": PASSWORD},
                               headers={"User-Agent": "巡查脚本/1.0"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"token", "expires_at"} and body["expires_at"] == "2020-07-15T14:00:00Z"
    row = db.session.scalars(select(ApiToken)).one()
    assert (row.expires_at, row.last_used_at, row.label) == (datetime(2020, 7, 15, 14), datetime(2020, 7, 15, 2),
                                                             "巡查脚本/1.0")
    assert f"event=token_issued user='staff' token_id={row.id}" in caplog.text
    assert body["token"] not in caplog.text and row.token_hash not in caplog.text and PASSWORD not in caplog.text


def test_an_expired_token_answers_401_like_a_revoked_one(client, world, clock, production_lifetimes):
    api = api_for(client, world["staff"])
    clock.now += timedelta(hours=11, minutes=59)
    assert api.get("/units").status_code == 200
    clock.now += timedelta(minutes=1)
    assert_refused(api.get("/units"), 401, "已过期")
    assert_refused(api.get("/auth/tokens"), 401)


def test_last_use_is_recorded_at_most_once_a_minute(client, world, clock):
    api = api_for(client, world["staff"])
    token_id = db.session.scalar(select(ApiToken.id))
    assert api.get("/units").status_code == 200
    assert stored(token_id).last_used_at == datetime(2020, 7, 15, 2, 0)
    clock.now += timedelta(seconds=50)
    assert api.get("/units").status_code == 200
    assert stored(token_id).last_used_at == datetime(2020, 7, 15, 2, 0)
    clock.now += timedelta(seconds=20)
    assert api.get("/units").status_code == 200  # a GET: the loader itself commits the last use
    assert stored(token_id).last_used_at == datetime(2020, 7, 15, 2, 1, 10)


# ---- listing and revoking through the API ---------------------------------------------------

def test_owners_list_their_live_tokens_without_the_tokens(client, world, clock, production_lifetimes):
    staff = world["staff"]
    old = token_for(client, staff)
    clock.now += timedelta(hours=13)
    first, second = token_for(client, staff), token_for(client, staff)
    api_for(client, world["head"])  # someone else's
    api = Api(client, second)
    body = api.get("/auth/tokens").get_json()
    assert [set(item) for item in body["items"]] == [
        {"id", "created_at", "expires_at", "last_used_at", "label", "current"}] * 2  # the expired one is gone
    assert [item["current"] for item in body["items"]] == [True, False]
    assert body["items"][0]["created_at"] == "2020-07-15T15:00:00Z"
    assert body["items"][0]["last_used_at"] == "2020-07-15T15:00:00Z"
    text = api.get("/auth/tokens").get_data(as_text=True)
    stored_hashes = db.session.scalars(select(ApiToken.token_hash)).all()
    assert not any(secret in text for secret in (old, first, second, *stored_hashes))


def test_owners_revoke_one_token_but_not_anothers(client, world, caplog):
    staff, head = world["staff"], world["head"]
    api = api_for(client, staff)
    other = Api(client, token_for(client, staff))
    theirs = api_for(client, head)
    ids = {item["id"]: item["current"] for item in other.get("/auth/tokens").get_json()["items"]}
    mine = next(token_id for token_id, current in ids.items() if not current)
    head_ids = live_ids(head)
    for token_id in head_ids:  # someone else's token: not found, and still alive
        assert_refused(api.delete(f"/auth/tokens/{token_id}"), 404)
    assert_refused(api.delete("/auth/tokens/999999"), 404)
    assert live_ids(head) == head_ids and theirs.get("/units").status_code == 200
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        assert other.delete(f"/auth/tokens/{mine}").status_code == 204
    assert f"event=token_revoked user='staff' token_id={mine} by='staff'" in caplog.text
    assert_refused(api.get("/units"), 401)
    assert other.get("/units").status_code == 200
    assert_refused(other.delete(f"/auth/tokens/{mine}"), 404)  # already revoked


def test_owners_revoke_all_their_tokens(client, world, caplog):
    api = api_for(client, world["staff"])
    other = Api(client, token_for(client, world["staff"]))
    theirs = api_for(client, world["head"])
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        assert api.delete("/auth/tokens").status_code == 204
    assert "event=tokens_revoked_all user='staff' reason='owner' by='staff' count=2" in caplog.text
    assert_refused(api.get("/units"), 401)
    assert_refused(other.get("/units"), 401)
    assert theirs.get("/units").status_code == 200


# ---- everything revoked with the password ----------------------------------------------------

def test_changing_ones_password_revokes_every_token(client, world, caplog):
    api = api_for(client, world["staff"])
    login(client, "staff")
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        response = client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                                  "confirm": "brand-new-pass-1"})
    assert response.status_code == 302
    assert_refused(api.get("/units"), 401)
    assert "event=password_changed user='staff'" in caplog.text
    assert "reason='password_changed'" in caplog.text
    assert PASSWORD not in caplog.text and "brand-new-pass-1" not in caplog.text


def test_a_wrong_current_password_revokes_nothing(client, world, caplog):
    api = api_for(client, world["staff"])
    login(client, "staff")
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        client.post("/password", data={"current": "wrong-pass-1", "new": "brand-new-pass-1",
                                          "confirm": "brand-new-pass-1"})
    assert api.get("/units").status_code == 200
    assert "event=reauth_failed user='staff'" in caplog.text and "wrong-pass-1" not in caplog.text


def test_set_password_command(app, client, world, caplog):
    staff = world["staff"]
    api = api_for(client, staff)
    login(client, "staff")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["users", "set-password", "staff", "--password", "short"])
    assert refused.exit_code != 0 and "密码" in refused.output
    assert api.get("/units").status_code == 200
    assert runner.invoke(args=["users", "set-password", "nobody", "--password", "brand-new-pass-1"]).exit_code != 0
    with caplog.at_level(logging.INFO, logger="tracker.security"):
        result = runner.invoke(args=["users", "set-password", "staff"], input="brand-new-pass-1\nbrand-new-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "brand-new-pass-1" not in result.output  # the prompt hides what is typed
    db.session.expire_all()
    assert db.session.get(User, staff.id).check_password("brand-new-pass-1")
    assert_refused(api.get("/units"), 401)
    assert client.get("/").status_code == 302  # the page session has ended too
    assert "event=password_reset by='command line' user='staff'" in caplog.text
    assert "reason='password_reset'" in caplog.text and "brand-new-pass-1" not in caplog.text


# ---- the page of one's own tokens -----------------------------------------------------------

def test_the_tokens_page_lists_and_revokes(client, world):
    staff = world["staff"]
    api = api_for(client, staff)
    other = Api(client, token_for(client, staff))
    api_for(client, world["head"])
    login(client, "staff")
    page = client.get("/account/tokens").get_data(as_text=True)
    mine = sorted(live_ids(staff))
    assert all(f'id="token-{token_id}"' in page for token_id in mine)
    assert page.count('id="token-') == 2 and api.token not in page
    theirs = next(iter(live_ids(world["head"])))
    response = client.post(f"/account/tokens/{theirs}/revoke")
    # Someone else's token is "not found" (404, as for notices), and stays live.
    assert response.status_code == 404 and theirs in live_ids(world["head"])
    client.post(f"/account/tokens/{mine[0]}/revoke")
    assert live_ids(staff) == {mine[1]}
    assert_refused(api.get("/units"), 401)  # the older token, `api`'s, is gone
    response = client.post("/account/tokens/revoke-all", follow_redirects=True)
    assert "已撤销全部 1 个访问令牌" in response.get_data(as_text=True)
    assert live_ids(staff) == set() and other.get("/units").status_code == 401
    assert 'id="no-tokens"' in client.get("/account/tokens").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/account/tokens/1/revoke", "/account/tokens/revoke-all"])
def test_the_tokens_page_needs_a_post_with_csrf(app, client, world, path):
    api = api_for(client, world["staff"])
    login(client, "staff")
    assert client.get(path).status_code == 405
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client.post(path.replace("/1/", f"/{next(iter(live_ids(world['staff'])))}/"))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert api.get("/units").status_code == 200 and len(live_ids(world["staff"])) == 1
