"""Users see where they are signed in and end any or all of those sessions, with their password
again (ASVS 3.3.4). Each sign-in is a row of user_sessions; the user loader refuses a cookie whose
row was ended, in the same one query that loads the user."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import PASSWORD, make_user
from tests.support.web import login
from tracker.accounts.models import User, UserSession
from tracker.core.extensions import db


@pytest.fixture
def sup(session):
    """A supervisor, committed."""
    user = make_user("supervisor", username="sup")
    session.commit()
    return user


def browser(app, username="sup", agent="Firefox/140", password=PASSWORD):
    """A client signed in as `username`, with its own User-Agent."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert login(client, username, password).status_code == 302
    return client


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def rows(user_id: int) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                                   .order_by(UserSession.id)).all())


def test_each_sign_in_is_listed_with_this_browser_marked(app, sup):
    office, phone = browser(app, agent="Firefox/140"), browser(app, agent="Mobile Safari")
    page = phone.get("/account/sessions").get_data(as_text=True)
    listed = re.findall(r'<tr id="session-(\d+)">', page)
    assert sorted(int(i) for i in listed) == [row.id for row in rows(sup.id)]
    assert "Firefox/140" in page and "Mobile Safari" in page and page.count('id="this-session"') == 1
    # The mark sits in the phone's own row.
    phone_row = page.split(f'<tr id="session-{rows(sup.id)[1].id}">')[1].split("</tr>")[0]
    assert 'id="this-session"' in phone_row
    assert [row.sid_hash for row in rows(sup.id)] and all(len(row.sid_hash) == 64 for row in rows(sup.id))
    assert signed_in(office) and signed_in(phone)


def test_ending_another_session_needs_the_password_and_signs_that_browser_out(app, sup, caplog):
    office, phone = browser(app), browser(app)
    other = rows(sup.id)[0]
    wrong = phone.post(f"/account/sessions/{other.id}/end", data={"password": "not-my-password-9"})
    assert wrong.status_code == 422 and "您的当前密码不正确" in wrong.get_data(as_text=True)
    assert rows(sup.id)[0].ended_at is None and signed_in(office)

    caplog.set_level(logging.INFO, logger="tracker.security")
    done = phone.post(f"/account/sessions/{other.id}/end", data={"password": PASSWORD})
    assert done.status_code == 302
    assert rows(sup.id)[0].ended_at is not None
    assert not signed_in(office) and signed_in(phone)
    assert f"event=sessions_ended user='sup' count=1 session_id={other.id}" in caplog.text
    assert PASSWORD not in caplog.text


def test_ending_every_other_session_keeps_this_one(app, sup):
    first, second, here = browser(app), browser(app), browser(app)
    response = here.post("/account/sessions/end-others", data={"password": PASSWORD}, follow_redirects=True)
    assert "已结束其他 2 处登录" in response.get_data(as_text=True)
    assert [row.ended_at is None for row in rows(sup.id)] == [False, False, True]
    assert not signed_in(first) and not signed_in(second) and signed_in(here)
    assert 'id="only-this-session"' in here.get("/account/sessions").get_data(as_text=True)


def test_someone_elses_session_is_not_found_and_stays(app, sup, session):
    make_user("leader", username="lead")
    session.commit()
    theirs, mine = browser(app, "lead"), browser(app, "sup")
    lead_row = rows(db.session.scalar(select(User.id).where(User.username == "lead")))[0]
    response = mine.post(f"/account/sessions/{lead_row.id}/end", data={"password": PASSWORD})
    assert response.status_code == 404
    assert db.session.get(UserSession, lead_row.id).ended_at is None and signed_in(theirs)
    # No stale message waits on the next page.
    assert "该登录不存在" not in mine.get("/account/sessions").get_data(as_text=True)


def test_sessions_ended_by_logout_or_a_new_password_are_not_listed(app, sup, clock):
    old, here = browser(app), browser(app)
    assert len(re.findall(r'<tr id="session-', here.get("/account/sessions").get_data(as_text=True))) == 2
    # A password change ends every other session (the session version moves on): only this one is listed.
    response = here.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                            "confirm": "brand-new-pass-1"})
    assert response.status_code == 302 and not signed_in(old)
    page = here.get("/account/sessions").get_data(as_text=True)
    assert len(re.findall(r'<tr id="session-', page)) == 1 and 'id="this-session"' in page
    # Sessions older than the absolute limit are not listed either.
    clock.now += timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    later = browser(app, agent="Later/1", password="brand-new-pass-1")
    page = later.get("/account/sessions").get_data(as_text=True)
    assert len(re.findall(r'<tr id="session-', page)) == 1 and "Later/1" in page


def test_a_cookie_without_a_session_id_is_signed_out(app, sup):
    client = browser(app)
    with client.session_transaction() as stored:
        stored.pop("_sid")
    assert not signed_in(client)
