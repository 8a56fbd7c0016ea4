"""A user is told when their credentials change (ASVS 2.2.3, 2.5.5): a mail through the outbox and an
in-app notice when they change their password, an admin resets it, `tracker users set-password` sets
it, or someone else revokes all their API tokens. The mail says what, when, by whom and from where,
and what to do if it was not them; it never holds a password; it cannot be turned off."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.api import api_for
from tests.support.factories import PASSWORD
from tests.support.notify import count
from tests.support.web import client_for
from tracker.core.enums import ActionMail, DigestFrequency
from tracker.core.extensions import db
from tracker.notify.dispatcher import dispatch
from tracker.notify.models import Notice, Outbox, UserPref

NEW = "brand-new-pass-1"
ADMIN_SET = "handed-over-pass-7"
STAFF_ADDR = "staff@example.org"
IP = "10.1.2.3"


@pytest.fixture
def people(jobs_app, world):
    """The cast, the staff member with an address and the admin with a name."""
    world["staff"].email = STAFF_ADDR
    world["admin"].display_name = "王管理"
    db.session.commit()
    return world


def mails(kind: str) -> list[Outbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


def notices(user, kind: str) -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.kind == kind)))


def assert_no_secret(*parts: str) -> None:
    for part in parts:
        for secret in (PASSWORD, NEW, ADMIN_SET):
            assert secret not in part


def deliver(app, clock, smtp_server):
    """Send the outbox through the loopback SMTP server; return what it received for the staff member."""
    app.config["SMTP_URL"] = smtp_server.url
    result = dispatch(db.session, clock(), app.config)
    db.session.commit()
    assert result.failed == 0
    return smtp_server.to(STAFF_ADDR)


def test_changing_ones_own_password_mails_and_notifies(jobs_app, client, people, clock, smtp_server):
    staff = people["staff"]
    client_ = client_for(jobs_app, staff)
    response = client_.post("/password", data={"current": PASSWORD, "new": NEW, "confirm": NEW},
                            environ_base={"REMOTE_ADDR": IP})
    assert response.status_code == 302
    [mail] = mails("password_changed")
    assert (mail.to_addr, mail.user_id, mail.status) == (STAFF_ADDR, staff.id, "pending")
    assert mail.subject == "【账号安全】您的登录密码已修改"
    for part in (mail.body_text, mail.body_html):
        assert "2020-07-15 10:00" in part and "您本人" in part and f"来自地址 {IP}" in part
        assert "联系系统管理员" in part and "不能在“通知设置”中关闭" in part
    assert_no_secret(mail.subject, mail.body_text, mail.body_html)
    [notice] = notices(staff, "password_changed")
    assert notice.title == mail.subject and notice.link == "/password" and "您本人" in notice.body
    assert_no_secret(notice.title, notice.body)
    [received] = deliver(jobs_app, clock, smtp_server)
    assert received.subject == mail.subject and "联系系统管理员" in received.text()
    assert_no_secret(received.message.as_string(), received.text(), received.html())


def test_an_admin_reset_mails_and_notifies_the_user(jobs_app, people, clock, smtp_server):
    staff, admin = people["staff"], people["admin"]
    admin_client = client_for(jobs_app, admin)
    response = admin_client.post(f"/admin/users/{staff.id}/password",
                                 data={"password": ADMIN_SET, "confirm": ADMIN_SET, "admin_password": PASSWORD},
                                 environ_base={"REMOTE_ADDR": IP})
    assert response.status_code == 302
    [mail] = mails("password_changed")
    assert mail.to_addr == STAFF_ADDR and mail.subject == "【账号安全】您的登录密码已重置"
    assert "系统管理员王管理" in mail.body_text and f"来自地址 {IP}" in mail.body_text
    assert "首次登录后须立即修改" in mail.body_text and "联系系统管理员" in mail.body_text
    assert_no_secret(mail.subject, mail.body_text, mail.body_html)
    assert len(notices(staff, "password_changed")) == 1
    assert notices(admin, "password_changed") == []  # the admin is not told of their own reset
    [received] = deliver(jobs_app, clock, smtp_server)
    assert_no_secret(received.message.as_string(), received.text(), received.html())


def test_the_command_line_mails_and_notifies_the_user(jobs_app, people, clock, smtp_server):
    staff = people["staff"]
    result = jobs_app.test_cli_runner().invoke(args=["users", "set-password", "staff", "--password", NEW])
    assert result.exit_code == 0, result.output
    [mail] = mails("password_changed")
    assert mail.to_addr == STAFF_ADDR and "命令行" in mail.body_text and "来自地址" not in mail.body_text
    assert "首次登录后须立即修改" not in mail.body_text  # the command line does not flag it
    assert_no_secret(mail.subject, mail.body_text, mail.body_html)
    assert len(notices(staff, "password_changed")) == 1
    [received] = deliver(jobs_app, clock, smtp_server)
    assert "命令行" in received.text()


def test_each_change_is_told_once(jobs_app, people):
    staff = people["staff"]
    runner = jobs_app.test_cli_runner()
    for password in (NEW, ADMIN_SET):  # twice at the same moment: two mails, two notices
        assert runner.invoke(args=["users", "set-password", "staff", "--password", password]).exit_code == 0
    assert len(mails("password_changed")) == 2 and len(notices(staff, "password_changed")) == 2


def test_an_admin_revoking_all_tokens_tells_the_owner(jobs_app, client, people):
    staff, admin = people["staff"], people["admin"]
    api_for(client, staff), api_for(client, staff)
    admin_client = client_for(jobs_app, admin)
    response = admin_client.post(f"/admin/users/{staff.id}/tokens/revoke-all", environ_base={"REMOTE_ADDR": IP})
    assert response.status_code == 302
    [mail] = mails("tokens_revoked")
    assert mail.to_addr == STAFF_ADDR and mail.subject == "【账号安全】您的访问令牌已被撤销"
    assert "全部 2 个" in mail.body_text and "系统管理员王管理" in mail.body_text and IP in mail.body_text
    [notice] = notices(staff, "tokens_revoked")
    assert notice.link == "/account/tokens"
    # Again, with nothing left to revoke: nothing changed, nobody is told.
    admin_client.post(f"/admin/users/{staff.id}/tokens/revoke-all")
    assert len(mails("tokens_revoked")) == 1 and len(notices(staff, "tokens_revoked")) == 1


def test_revoking_ones_own_tokens_tells_nobody(jobs_app, client, people):
    staff = people["staff"]
    api_for(client, staff)
    own = client_for(jobs_app, staff)
    assert own.post("/account/tokens/revoke-all").status_code == 302
    assert count(Outbox) == 0 and count(Notice) == 0


def test_a_user_without_an_address_gets_the_notice_only(jobs_app, people):
    head = people["head"]
    assert head.email is None
    assert jobs_app.test_cli_runner().invoke(args=["users", "set-password", "head", "--password", NEW]).exit_code == 0
    assert count(Outbox) == 0
    assert len(notices(head, "password_changed")) == 1


def test_the_preferences_cannot_turn_security_mail_off(jobs_app, people):
    staff = people["staff"]
    db.session.add(UserPref(user_id=staff.id, digest=DigestFrequency.NONE, action_mail=ActionMail.DIGEST))
    db.session.commit()
    assert jobs_app.test_cli_runner().invoke(args=["users", "set-password", "staff", "--password", NEW]).exit_code == 0
    [mail] = mails("password_changed")
    assert mail.to_addr == STAFF_ADDR and mail.status == "pending"


def test_refused_changes_tell_nobody(jobs_app, people):
    staff, admin = people["staff"], people["admin"]
    own = client_for(jobs_app, staff)
    own.post("/password", data={"current": "wrong-pass-1", "new": NEW, "confirm": NEW})
    admin_client = client_for(jobs_app, admin)
    admin_client.post(f"/admin/users/{staff.id}/password",
                      data={"password": ADMIN_SET, "confirm": ADMIN_SET, "admin_password": "wrong-pass-1"})
    runner = jobs_app.test_cli_runner()
    assert runner.invoke(args=["users", "set-password", "staff", "--password", "short"]).exit_code != 0
    assert count(Outbox) == 0 and count(Notice) == 0
    db.session.expire_all()
    assert staff.check_password(PASSWORD) and not staff.must_change_password
