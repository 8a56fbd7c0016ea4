"""The notice pages: unread badge, list, mark read (no open redirect), CSRF, sign-in, and digest preferences."""
from __future__ import annotations

from datetime import timedelta

from tests.support.factories import make_issue, make_user
from tests.support.notify import NOW, count, fresh, make_notice
from tests.support.web import csrf_token
from tracker.core.extensions import db
from tracker.notify import prefs
from tracker.notify.models import Notice


def test_unread_badge_on_every_page_and_the_list(client, login_as, session):
    user = make_user("unit_staff")
    other = make_user("unit_staff")
    issue = make_issue(lead_unit=user.unit)
    make_notice(user, "【临期提醒】第一条", link=f"/issues/{issue.id}", created=NOW - timedelta(hours=2))
    make_notice(user, "【逾期通知】第二条", created=NOW - timedelta(hours=1))
    make_notice(user, "【每日摘要】已读的", read=True, kind="digest", created=NOW - timedelta(hours=3))
    make_notice(other, "【逾期通知】别人的")
    session.commit()
    login_as(user)
    for url in ("/", "/issues/", f"/issues/{issue.id}", "/notices/", "/notices/preferences"):
        html = client.get(url).get_data(as_text=True)
        assert 'id="unread-badge">2<' in html, url
    html = client.get("/notices/").get_data(as_text=True)
    assert "第一条" in html and "第二条" in html and "已读的" in html and "别人的" not in html
    assert html.count("notice-unread") == 2 and html.count("notice-read") == 1
    assert html.index("第二条") < html.index("第一条")  # newest first
    assert 'href="/"' in html
    unread = client.get("/notices/?unread=1").get_data(as_text=True)
    assert "已读的" not in unread and unread.count("notice-unread") == 2
    assert count(Notice, Notice.read_at.is_(None)) == 3  # reading changes nothing


def test_mark_read_goes_to_the_link_and_mark_all_read(client, login_as, session, clock):
    user = make_user("unit_head")
    other = make_user("unit_head")
    issue = make_issue(lead_unit=user.unit)
    linked = make_notice(user, "有链接", link=f"/issues/{issue.id}")
    plain = make_notice(user, "无链接", link=None)
    evil = make_notice(user, "外部链接", link="//evil.example.org/x")
    third = make_notice(user, "第三条")
    theirs = make_notice(other, "别人的")
    session.commit()
    login_as(user)
    clock.set("2020-07-16T01:00:00")

    assert client.get(f"/notices/{linked.id}/read").status_code == 405
    assert fresh(Notice, linked.id).read_at is None

    response = client.post(f"/notices/{linked.id}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/issues/{issue.id}")
    assert fresh(Notice, linked.id).read_at == clock.now
    response = client.post(f"/notices/{plain.id}/read")
    assert response.headers["Location"].endswith("/notices/")
    response = client.post(f"/notices/{evil.id}/read")
    assert response.headers["Location"].endswith("/notices/")  # never an open redirect
    response = client.post(f"/notices/{third.id}/read", data={"stay": "1"})
    assert response.headers["Location"].endswith("/notices/") and fresh(Notice, third.id).read_at == clock.now

    # Someone else's notice: not found, and it stays unread.
    response = client.post(f"/notices/{theirs.id}/read")
    assert response.status_code == 404
    assert fresh(Notice, theirs.id).read_at is None
    assert client.post("/notices/99999/read").status_code == 404

    make_notice(user, "新的一条")
    make_notice(user, "新的两条")
    session.commit()
    response = client.post("/notices/read-all", follow_redirects=True)
    assert "已将 2 条通知标为已读" in response.get_data(as_text=True)
    assert count(Notice, Notice.user_id == user.id, Notice.read_at.is_(None)) == 0
    assert fresh(Notice, theirs.id).read_at is None
    assert 'id="unread-badge"' not in client.get("/").get_data(as_text=True)


def test_notice_posts_need_the_csrf_token(app, client, login_as, session):
    user = make_user("unit_staff")
    notice = make_notice(user)
    session.commit()
    login_as(user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/notices/{notice.id}/read").status_code == 400
        assert client.post("/notices/read-all").status_code == 400
        assert client.post("/notices/preferences", data={"digest": "none"}).status_code == 400
        assert fresh(Notice, notice.id).read_at is None
        token = csrf_token(client.get("/notices/").get_data(as_text=True))
        assert client.post(f"/notices/{notice.id}/read", data={"csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert fresh(Notice, notice.id).read_at is not None
    assert prefs.get_digest_pref(db.session, fresh(type(user), user.id)) == "daily"


def test_notices_need_a_sign_in(client, session):
    assert client.get("/notices/").status_code == 302
    assert client.post("/notices/read-all").status_code == 302


def test_preferences_are_saved_and_used(client, login_as, session):
    user = make_user("unit_staff", email="me@example.org")
    session.commit()
    login_as(user)
    html = client.get("/notices/preferences").get_data(as_text=True)
    assert 'id="digest-daily" name="digest" value="daily" checked' in html
    assert "督办通知不能关闭" in html and "me@example.org" in html and 'href="/notices/"' in html

    response = client.post("/notices/preferences", data={"digest": "weekly"})
    assert response.status_code == 302
    assert prefs.get_digest_pref(db.session, fresh(type(user), user.id)) == "weekly"
    html = client.get("/notices/preferences").get_data(as_text=True)
    assert "已保存:摘要邮件每周一" in html and 'value="weekly" checked' in html

    client.post("/notices/preferences", data={"digest": "none"})
    assert prefs.get_digest_pref(db.session, fresh(type(user), user.id)) == "none"

    response = client.post("/notices/preferences", data={"digest": "hourly"})
    assert response.status_code == 422
    assert "摘要邮件频率只能是每天、每周一或不接收" in response.get_data(as_text=True)
    assert prefs.get_digest_pref(db.session, fresh(type(user), user.id)) == "none"
