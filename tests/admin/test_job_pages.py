"""The admin's pages of the day's jobs: the reminder and escalation settings, and the mail log with retries.

Each page per role (admins only; others 403 and nothing changed), every POST refused or
accepted as it should, GET pages change nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.support.factories import make_issue, make_user
from tests.support.notify import NON_ADMINS, NOW, count, fresh, make_mail, snapshot
from tests.support.web import csrf_token
from tracker.core.extensions import db
from tracker.core.models import JobSetting
from tracker.escalation.settings import DEFAULTS, get_settings
from tracker.notify.models import Outbox

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
    assert 'name="ladder-4-offset" value="45"' in html
    assert 'id="day_mode-working" name="day_mode" value="working" checked' in html


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
