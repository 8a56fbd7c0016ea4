"""Pages of issue 3: settings, mail log, notices and preferences, the 挂牌督办 flag, leaders' board.

Each page per role (admins only where so; others 403 and nothing changed), every
POST refused or accepted as it should, GET pages change nothing.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Optional

import pytest
from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.notify import prefs
from tracker.escalation.settings import DEFAULTS, get_settings
from tracker.issues.models import Escalation, ReportLateness
from tracker.core.models import JobSetting
from tracker.notify.models import Notice, Outbox
from tracker.escalation.models import UnitEscalation

from tests.support.web import csrf_token
from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.web import client_for

NOW = datetime(2020, 7, 15, 2, 0, 0)
NON_ADMINS = ["unit_staff", "unit_head", "supervisor", "approver", "leader"]


# --- helpers -------------------------------------------------------------------------------

def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def snapshot(model) -> list[tuple]:
    """Every row of a table as plain tuples (to compare before and after)."""
    db.session.expire_all()
    columns = [c.key for c in model.__table__.columns]
    return [tuple(getattr(row, c) for c in columns) for row in db.session.scalars(select(model).order_by(*model.__table__.primary_key.columns))]


def make_mail(status: str = "pending", to: str = "head@example.org", subject: str = "【逾期通知】T0001 测试问题",
              kind: str = "overdue", attempts: int = 0, error: Optional[str] = None, ref: Optional[str] = None,
              created: datetime = NOW, text: str = "正文:请尽快整改。") -> Outbox:
    mail = Outbox(kind=kind, to_addr=to, ref=ref or f"ref-{count(Outbox)}-{subject}", to_name="张三", subject=subject,
                  body_text=text, body_html=f"<p>{text}</p>", status=status, attempts=attempts, created_at=created,
                  next_attempt_at=created, give_up_at=created + timedelta(hours=48), last_error=error,
                  sent_at=created + timedelta(minutes=1) if status == "sent" else None)
    db.session.add(mail)
    db.session.flush()
    return mail


def make_notice(user, title: str = "【逾期通知】T0001 测试问题", link: Optional[str] = "/issues/", read: bool = False,
                kind: str = "overdue", created: datetime = NOW) -> Notice:
    notice = Notice(user_id=user.id, kind=kind, ref=f"n-{count(Notice)}-{title}", title=title, body="请尽快整改。",
                    link=link, created_at=created, read_at=NOW if read else None)
    db.session.add(notice)
    db.session.flush()
    return notice


def escalate(issue, kind: str, offset: int, fired_on: date = date(2020, 7, 10)) -> Escalation:
    row = Escalation(issue_id=issue.id, key=f"{kind}{offset:+d}", kind=kind, fired_on=fired_on)
    db.session.add(row)
    db.session.flush()
    return row


# --- the settings page ---------------------------------------------------------------------

def settings_form(**changes) -> dict:
    """The settings form as the page posts it, with the default ladder and values, then `changes`."""
    data = {}
    for n, level in enumerate(DEFAULTS.ladder):
        data[f"ladder-{n}-offset"] = str(level.offset)
        data[f"ladder-{n}-kind"] = level.kind
        data[f"ladder-{n}-roles"] = list(level.roles)
    n = len(DEFAULTS.ladder)
    data.update({f"ladder-{n}-offset": "", f"ladder-{n}-kind": ""})  # the blank row under the table
    data.update(day_mode=DEFAULTS.day_mode, report_due_day=str(DEFAULTS.report_due_day),
                report_reminder_day=str(DEFAULTS.report_reminder_day),
                unit_yellow_limit=str(DEFAULTS.unit_yellow_limit), digest_time=DEFAULTS.digest_time)
    data.update(changes)
    return data


def test_settings_page_shows_the_current_settings(admin, client, login_as):
    login_as(admin)
    html = client.get("/admin/settings").get_data(as_text=True)
    assert "提醒与督办设置" in html and 'href="/"' in html
    assert html.count('class="ladder-row"') == len(DEFAULTS.ladder) + 2  # two blank rows to add levels
    assert 'name="ladder-0-offset" value="-7"' in html
    assert 'value="supervision_order" selected' in html
    assert 'name="digest_time" value="08:30"' in html
    assert 'href="/admin/settings"' in html  # the admin's menu links here
    assert count(JobSetting) == 0  # reading changes nothing


def test_admin_saves_the_settings_and_the_jobs_read_them(admin, client, login_as):
    login_as(admin)
    data = settings_form(**{
        "ladder-1-offset": "", "ladder-1-kind": "",  # delete the "1 day before" reminder
        "ladder-5-offset": "45", "ladder-5-kind": "interview", "ladder-5-roles": ["leader"],  # add a level
        "day_mode": "working", "report_due_day": "20", "report_reminder_day": "16",
        "unit_yellow_limit": "3", "digest_time": "9:05",
    })
    response = client.post("/admin/settings", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/settings")
    saved = get_settings(db.session)
    assert [(lv.offset, lv.kind, lv.roles) for lv in saved.ladder] == [
        (-7, "due_soon", ("unit_staff", "unit_head")), (1, "overdue", ("unit_head", "supervisor")),
        (15, "supervision_order", ("unit_head", "supervisor")), (30, "interview", ("supervisor", "leader")),
        (45, "interview", ("leader",))]
    assert (saved.day_mode, saved.report_due_day, saved.report_reminder_day, saved.unit_yellow_limit,
            saved.digest_time) == ("working", 20, 16, 3, "09:05")
    html = client.get("/admin/settings").get_data(as_text=True)
    assert "已保存提醒与督办设置" in html
    assert 'name="ladder-4-offset" value="45"' in html and 'id="day_mode-working" name="day_mode" value="working" checked' in html


@pytest.mark.parametrize("changes, message", [
    ({"ladder-0-offset": "abc"}, "第 1 级的天数必须是"),
    ({"ladder-0-offset": "3"}, "临期提醒必须在整改时限当天或之前"),
    ({"ladder-2-kind": "bogus"}, "第 3 级的类型无效"),
    ({"ladder-2-roles": ["unit_head", "mayor"]}, "通知对象「mayor」无效"),
    ({"ladder-2-roles": []}, "至少要选择一个通知对象"),
    ({"ladder-3-offset": "40"}, "督办阶梯顺序不对"),
    ({"day_mode": "lunar"}, "天数计算方式只能是自然日或工作日"),
    ({"report_due_day": "31"}, "进展报送截止日必须在 1 到 28 之间"),
    ({"report_reminder_day": "19"}, "报送提醒日必须早于进展报送截止日"),
    ({"unit_yellow_limit": "两次"}, "单位月度黄灯次数上限必须是整数"),
    ({"digest_time": "25:00"}, "摘要邮件发送时间格式应为 HH:MM"),
])
def test_malformed_settings_are_refused_with_the_message_and_nothing_saved(admin, client, login_as, session,
                                                                           changes, message, caplog):
    session.add(JobSetting(key="report_due_day", value="19", updated_at=NOW))
    session.commit()
    before = snapshot(JobSetting)
    login_as(admin)
    caplog.set_level(logging.WARNING)
    # A valid change to another setting travels with the bad one: it must not be saved either.
    data = settings_form(**{"unit_yellow_limit": "5", "report_due_day": "19", **changes})
    response = client.post("/admin/settings", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[-500:]
    assert message in html
    assert "refused POST /admin/settings" in caplog.text
    assert snapshot(JobSetting) == before
    assert get_settings(db.session).unit_yellow_limit == DEFAULTS.unit_yellow_limit
    assert 'name="ladder-0-kind"' in html  # the form comes back with what was typed


@pytest.mark.parametrize("role", NON_ADMINS)
def test_settings_refused_to_non_admins(role, client, login_as, session):
    user = make_user(role)
    session.commit()
    login_as(user)
    assert client.get("/admin/settings").status_code == 403
    response = client.post("/admin/settings", data=settings_form(digest_time="10:00"))
    assert response.status_code == 403
    assert "只有系统管理员可以修改提醒与督办设置" in response.get_data(as_text=True)
    assert count(JobSetting) == 0
    assert 'href="/admin/settings"' not in client.get("/").get_data(as_text=True)


def test_settings_post_needs_the_csrf_token(admin, app, client, login_as):
    login_as(admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/admin/settings", data=settings_form(digest_time="10:00")).status_code == 400
        assert count(JobSetting) == 0
        token = csrf_token(client.get("/admin/settings").get_data(as_text=True))
        response = client.post("/admin/settings", data=settings_form(digest_time="10:00", csrf_token=token))
        assert response.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert get_settings(db.session).digest_time == "10:00"


# --- the mail log --------------------------------------------------------------------------

def test_mail_log_lists_the_outbox_with_counts_and_says_mail_stays_without_smtp(admin, app, client, login_as):
    app.config["SMTP_URL"] = None
    make_mail("pending", to="a@example.org", subject="待发的提醒")
    make_mail("sent", to="b@example.org", subject="已发的摘要", kind="digest", attempts=1)
    make_mail("failed", to="c@example.org", subject="失败的督办", kind="supervision_order", attempts=7,
              error="SMTP 登录被拒绝(535)")
    db.session.commit()
    before = snapshot(Outbox)
    login_as(admin)
    html = client.get("/admin/mail").get_data(as_text=True)
    for text in ("待发的提醒", "已发的摘要", "失败的督办", "a@example.org", "每日摘要", "挂牌督办",
                 "SMTP 登录被拒绝(535)", 'href="/"'):
        assert text in html, text
    assert html.count('class="mail-row"') == 3
    assert 'id="count-failed">1<' in html and 'id="count-sent">1<' in html and 'id="count-pending">1<' in html
    assert 'id="no-smtp"' in html and "所有邮件都保留在发件箱中" in html
    assert 'id="last-error"' in html
    assert "重发全部发送失败的邮件(1)" in html

    failed = client.get("/admin/mail?status=failed").get_data(as_text=True)
    assert failed.count('class="mail-row"') == 1 and "失败的督办" in failed and "待发的提醒" not in failed
    bad = client.get("/admin/mail?status=lost").get_data(as_text=True)
    assert "邮件状态「lost」无效" in bad and bad.count('class="mail-row"') == 3
    assert snapshot(Outbox) == before  # reading the log changes nothing


def test_mail_log_pages_and_reports_a_wrong_smtp_url(admin, app, client, login_as):
    app.config["SMTP_URL"] = "ftp://mail.example.org"
    for k in range(55):
        make_mail("pending", to=f"u{k}@example.org", subject=f"邮件{k:02d}")
    db.session.commit()
    login_as(admin)
    first = client.get("/admin/mail").get_data(as_text=True)
    assert first.count('class="mail-row"') == 50 and "邮件54" in first and "邮件04" not in first
    assert "第 1 / 2 页" in first
    assert 'id="smtp-error"' in first and "smtp://" in first
    second = client.get("/admin/mail?page=2").get_data(as_text=True)
    assert second.count('class="mail-row"') == 5 and "邮件00" in second


def test_mail_log_shows_the_configured_server_without_its_password(admin, app, client, login_as):
    app.config["SMTP_URL"] = "smtp://robot:s3cret@mail.example.org:587?starttls=true"
    login_as(admin)
    html = client.get("/admin/mail").get_data(as_text=True)
    assert "mail.example.org:587" in html and "s3cret" not in html and 'id="no-smtp"' not in html


def test_mail_detail_shows_the_text(admin, client, login_as, session):
    issue = make_issue()
    mail = make_mail("failed", text="您单位牵头的问题已逾期 3 天。\n请于三日内报送。", error="连接被拒绝")
    mail.issue_id = issue.id
    session.commit()
    login_as(admin)
    html = client.get(f"/admin/mail/{mail.id}").get_data(as_text=True)
    assert "您单位牵头的问题已逾期 3 天。\n请于三日内报送。" in html
    assert "连接被拒绝" in html and f'href="/issues/{issue.id}"' in html and 'href="/admin/mail"' in html
    assert 'id="retry-form"' in html
    assert client.get("/admin/mail/99999").status_code == 404


def test_retry_one_failed_mail_and_all_failed(admin, app, client, login_as, clock):
    app.config["SMTP_URL"] = None
    one = make_mail("failed", to="a@example.org", attempts=5, error="超时")
    two = make_mail("failed", to="b@example.org", attempts=5, error="超时")
    three = make_mail("failed", to="c@example.org", attempts=5, error="超时")
    sent = make_mail("sent", to="d@example.org")
    db.session.commit()
    login_as(admin)
    clock.set("2020-07-20T03:00:00")

    before = snapshot(Outbox)
    assert client.get(f"/admin/mail/{one.id}/retry").status_code == 405  # GET changes nothing
    assert client.get("/admin/mail/retry-failed").status_code == 405
    assert snapshot(Outbox) == before

    response = client.post(f"/admin/mail/{one.id}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/mail/{one.id}")
    row = fresh(Outbox, one.id)
    assert row.status == "pending" and row.next_attempt_at == clock.now
    assert row.give_up_at == clock.now + timedelta(hours=48)
    assert fresh(Outbox, two.id).status == "failed"
    assert "已将发给 a@example.org 的邮件重新排队" in client.get(f"/admin/mail/{one.id}").get_data(as_text=True)

    refused = client.post(f"/admin/mail/{sent.id}/retry", follow_redirects=True)
    assert "该邮件已发送,无需重发" in refused.get_data(as_text=True)
    assert fresh(Outbox, sent.id).status == "sent"
    assert client.post("/admin/mail/99999/retry").status_code == 404

    response = client.post("/admin/mail/retry-failed", follow_redirects=True)
    assert "已将 2 封发送失败的邮件重新排队" in response.get_data(as_text=True)
    assert {fresh(Outbox, m.id).status for m in (two, three)} == {"pending"}
    assert "没有发送失败的邮件" in client.post("/admin/mail/retry-failed", follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("role", NON_ADMINS)
def test_mail_log_refused_to_non_admins(role, client, login_as, session):
    user = make_user(role)
    mail = make_mail("failed", error="超时")
    session.commit()
    before = snapshot(Outbox)
    login_as(user)
    for method, url in (("get", "/admin/mail"), ("get", f"/admin/mail/{mail.id}"),
                        ("post", f"/admin/mail/{mail.id}/retry"), ("post", "/admin/mail/retry-failed")):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
        assert "只有系统管理员可以查看邮件日志和重发邮件" in response.get_data(as_text=True)
    assert snapshot(Outbox) == before
    assert 'href="/admin/mail"' not in client.get("/").get_data(as_text=True)


# --- notices -------------------------------------------------------------------------------

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


# --- 挂牌督办 on the list and the issue page -------------------------------------------------

def test_list_shows_the_supervised_badge_and_filters_on_it(app, client, login_as, session):
    unit = make_unit()
    head = make_user("unit_head", unit)
    supervisor = make_user("supervisor")
    ordered = make_issue(lead_unit=unit, title="挂牌的问题", deadline=date(2020, 6, 1))
    interviewed = make_issue(lead_unit=unit, title="约谈的问题", deadline=date(2020, 5, 1))
    closed = make_issue(lead_unit=unit, title="已销号的问题", state="closed", deadline=date(2020, 5, 1))
    plain = make_issue(lead_unit=unit, title="普通的问题")
    overdue_only = make_issue(lead_unit=unit, title="只逾期的问题", deadline=date(2020, 7, 1))
    elsewhere = make_issue(title="别的单位挂牌的问题", deadline=date(2020, 6, 1))
    escalate(ordered, "supervision_order", 15)
    escalate(interviewed, "supervision_order", 15)
    escalate(interviewed, "interview", 30)
    escalate(closed, "supervision_order", 15)
    escalate(overdue_only, "overdue", 1)
    escalate(elsewhere, "supervision_order", 15)
    session.commit()

    login_as(head)
    html = client.get("/issues/").get_data(as_text=True)
    assert html.count("supervised-badge") == 2
    assert 'id="f-supervised"' in html
    only = client.get("/issues/?supervised=1").get_data(as_text=True)
    assert "共 2 个问题" in only and "挂牌的问题" in only and "约谈的问题" in only
    for title in ("已销号的问题", "普通的问题", "只逾期的问题", "别的单位挂牌的问题"):
        assert title not in only, title
    assert 'value="1" checked' in only
    assert "仅挂牌督办「yes」无效" in client.get("/issues/?supervised=yes").get_data(as_text=True)

    as_supervisor = client_for(app, supervisor)  # a second person: a client of their own
    assert "共 3 个问题" in as_supervisor.get("/issues/?supervised=1").get_data(as_text=True)
    assert plain.id  # listed without a badge above


def test_issue_page_shows_escalations_late_periods_and_the_flag(client, login_as, session):
    unit = make_unit()
    staff = make_user("unit_staff", unit)
    issue = make_issue(lead_unit=unit, deadline=date(2020, 6, 1))
    escalate(issue, "due_soon", -7, date(2020, 5, 25))
    escalate(issue, "overdue", 1, date(2020, 6, 2))
    escalate(issue, "supervision_order", 15, date(2020, 6, 16))
    session.add(Escalation(issue_id=issue.id, key="report_late:2020-06", kind="report_late", period="2020-06",
                           fired_on=date(2020, 6, 19)))
    report = make_report(issue, period="2020-06")
    session.add(ReportLateness(issue_id=issue.id, period="2020-06", report_id=report.id, due_on=date(2020, 6, 18),
                               filed_at=datetime(2020, 6, 22, 2)))
    quiet = make_issue(lead_unit=unit)
    session.commit()

    login_as(staff)
    html = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'id="issue-supervised"' in html
    assert html.count('class="escalation"') == 4
    for text in ("临期提醒", "整改时限前 7 天", "逾期通知", "逾期 1 天", "挂牌督办", "逾期 15 天", "未按时报送",
                 "2020-06 月度进展", "2020-05-25"):
        assert text in html, text
    assert 'id="late-periods">未按时报送的进展期次:2020-06' in html
    assert html.count("late-report") == 1

    quiet_html = client.get(f"/issues/{quiet.id}").get_data(as_text=True)
    assert "尚未发出提醒或督办" in quiet_html and 'id="issue-supervised"' not in quiet_html

    issue.state = "closed"
    session.commit()
    assert 'id="issue-supervised"' not in client.get(f"/issues/{issue.id}").get_data(as_text=True)


# --- the leaders' board on the home page ---------------------------------------------------

@pytest.mark.parametrize("role", ["leader", "supervisor"])
def test_home_lists_interview_items_and_unit_orders_for_leaders(role, client, login_as, session):
    user = make_user(role)
    unit = make_unit(name="市住建局")
    interviewed = make_issue(lead_unit=unit, title="约谈的问题", deadline=date(2020, 5, 1))
    ordered = make_issue(lead_unit=unit, title="只挂牌的问题", deadline=date(2020, 6, 1))
    closed = make_issue(lead_unit=unit, title="已销号约谈的问题", state="closed")
    escalate(interviewed, "interview", 30, date(2020, 5, 31))
    escalate(ordered, "supervision_order", 15)
    escalate(closed, "interview", 30)
    session.add(UnitEscalation(unit_id=unit.id, period="2020-07", kind="unit_supervision", count=3,
                               fired_on=date(2020, 7, 10)))
    session.commit()
    login_as(user)
    html = client.get("/").get_data(as_text=True)
    assert 'id="escalation-board"' in html
    assert html.count('class="interview-item"') == 1 and "约谈的问题" in html and "已销号约谈的问题" not in html
    assert "约谈/通报" in html and "2020-05-31" in html
    assert html.count('class="unit-order"') == 1 and "市住建局" in html and "2020-07" in html
    assert f'href="/issues/?unit={unit.code}&amp;light=yellow"' in html
    assert "supervised=1" in html


@pytest.mark.parametrize("role", ["unit_staff", "unit_head", "approver", "admin"])
def test_home_has_no_board_for_other_roles(role, client, login_as, session):
    user = make_user(role)
    issue = make_issue(lead_unit=user.unit) if user.unit else make_issue()
    escalate(issue, "interview", 30)
    session.commit()
    login_as(user)
    assert 'id="escalation-board"' not in client.get("/").get_data(as_text=True)


def test_board_items_stay_within_the_leaders_scope(client, login_as, session):
    leader = make_user("leader")
    session.commit()
    login_as(leader)
    empty = client.get("/").get_data(as_text=True)
    assert "暂无需要约谈或通报的问题" in empty and "暂无对单位的督办" in empty


# --- with the real jobs ----------------------------------------------------------------------

def test_the_pages_show_what_a_real_run_of_the_jobs_did(app, client, login_as, session, clock):
    from tracker.escalation.runner import run_day

    app.config.update(SMTP_URL=None, BASE_URL="https://tracker.example.org", MAIL_FROM="tracker@example.org")
    unit = make_unit(email="office@example.org")
    head = make_user("unit_head", unit, email="head@example.org")
    leader = make_user("leader", email="leader@example.org")
    admin_user = make_user("admin")
    make_user("supervisor", email="sup@example.org")
    issue = make_issue(lead_unit=unit, title="被约谈的问题", deadline=date(2020, 6, 1))
    session.commit()
    clock.set("2020-07-15T00:30:00")
    run_day(db.session, date(2020, 7, 15), app.config, now=clock())
    db.session.commit()

    login_as(head)
    html = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'id="issue-supervised"' in html and "约谈/通报" in html
    assert 'id="unread-badge"' in client.get("/").get_data(as_text=True)
    assert "被约谈的问题" in client.get("/issues/?supervised=1").get_data(as_text=True)

    home = client_for(app, leader).get("/").get_data(as_text=True)
    assert home.count('class="interview-item"') == 1 and "被约谈的问题" in home

    as_admin = client_for(app, admin_user)
    log_page = as_admin.get("/admin/mail").get_data(as_text=True)
    assert "head@example.org" in log_page and 'id="no-smtp"' in log_page
    assert count(Outbox, Outbox.status == "pending") > 0
    first = db.session.scalars(select(Outbox).order_by(Outbox.id)).first()
    assert first.subject in as_admin.get(f"/admin/mail/{first.id}").get_data(as_text=True)
