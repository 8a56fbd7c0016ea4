"""Mail: SMTP URL parsing, header-safe messages, the outbox's unique keys, the dispatcher, notices."""
from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_user
from tests.support.jobs import SmtpServer, count, outbox
from tracker.core.addresses import normalize_address
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.notify import notices as notice_svc
from tracker.notify.dispatcher import CLAIM_TIMEOUT, claim, dispatch
from tracker.notify.message import build_message, clean_header
from tracker.notify.models import Notice, Outbox
from tracker.notify.outbox import (
    Mail,
    NoticeDraft,
    list_mail,
    mail_config,
    queue,
    retry_failed,
    retry_mail,
    status_counts,
)
from tracker.notify.render import MailContent, MailGroup, MailItem, render
from tracker.notify.smtpurl import MailConfigError, parse_smtp_url

TEST_DATABASE_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "")


# --- SMTP URL ----------------------------------------------------------------

def test_smtp_url_with_starttls_and_a_quoted_password():
    s = parse_smtp_url("smtp://robot%40city.gov.cn:p%40ss%3Aword@mail.city.gov.cn:587?starttls=true")
    assert (s.host, s.port, s.ssl, s.starttls) == ("mail.city.gov.cn", 587, False, True)
    assert (s.username, s.password) == ("robot@city.gov.cn", "p@ss:word")
    assert "p@ss" not in s.describe() and "p@ss" not in repr(s)


def test_smtps_and_default_ports():
    assert parse_smtp_url("smtps://u:p@mail.example.org").port == 465
    assert parse_smtp_url("smtps://u:p@mail.example.org").ssl
    assert parse_smtp_url("smtp://localhost").port == 25
    assert parse_smtp_url("smtp://localhost:2525?timeout=5").timeout == 5


@pytest.mark.parametrize("url, words", [
    ("", "未配置"),
    ("http://mail.example.org", "smtp://"),
    ("smtp://", "主机名"),
    ("smtp://user:secret@host:notaport", "端口"),
    ("smtp://host?starttls=maybe", "starttls"),
    ("smtp://host?tls=true", "未知参数"),
    ("smtps://host?starttls=true", "smtps://"),
    ("smtp://host?timeout=abc", "timeout"),
    ("smtp://:secret@host", "用户名"),
])
def test_a_wrong_smtp_url_is_refused_without_showing_the_password(url, words):
    with pytest.raises(MailConfigError) as err:
        parse_smtp_url(url)
    assert words in str(err.value)
    assert "secret" not in str(err.value)


# --- messages ----------------------------------------------------------------

def test_clean_header_removes_every_line_break():
    assert clean_header("a\r\nBcc: x@y.z\u2028b\x00c") == "a Bcc: x@y.z b c"
    assert len(clean_header("长" * 500)) == 200


def test_built_message_has_no_injected_header_and_two_parts():
    msg = build_message(mail_from="督察整改办 <tracker@example.org>", to_addr="a@example.org",
                        to_name="张三\r\nBcc: evil@example.net", subject="标题\r\nBcc: evil@example.net",
                        text="正文", html="<p>正文</p>", message_id="<1@example.org>")
    raw = msg.as_bytes()
    assert b"\nBcc:" not in raw and b"\r\nBcc:" not in raw
    assert msg["Bcc"] is None
    assert str(msg["Subject"]) == "标题 Bcc: evil@example.net"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize("addr", ["a@b", "a b@example.org", "a@example.org\r\nBcc: x@y.z", "<a@example.org>",
                                  "a,b@example.org", '"a"@example.org', ""])
def test_unsafe_addresses_are_not_used(addr):
    assert normalize_address(addr) is None
    with pytest.raises(ValueError):
        build_message(mail_from="t@example.org", to_addr=addr, to_name="", subject="s", text="t", html="h",
                      message_id="<1@example.org>")


def test_rendering_escapes_titles_in_html():
    content = MailContent(subject="s", heading="<b>标题</b>", groups=[MailGroup(items=[
        MailItem(code="X-1", title="a & <script>", link="https://t.example.org/issues/1")])])
    text, html = render(content)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "a & <script>" in text and "https://t.example.org/issues/1" in text


# --- the outbox --------------------------------------------------------------

def _mail(to="a@example.org", ref="issue:1:overdue+1", kind="overdue", user=None) -> Mail:
    return Mail(kind=kind, ref=ref, to_addr=to, subject="【逾期通知】X-1 标题", text="正文", html="<p>正文</p>",
                to_name="张三", user_id=user.id if user else None)


def test_the_same_mail_is_queued_once(jobs_app, clock):
    user = make_user("unit_head")
    cfg = mail_config(jobs_app.config)
    notice = NoticeDraft(user_id=user.id, kind="overdue", ref="issue:1:overdue+1", title="t")
    assert queue(db.session, [_mail(user=user), _mail(to="A@EXAMPLE.ORG", user=user)], [notice, notice],
                 clock(), cfg) == (1, 1)
    db.session.commit()
    assert queue(db.session, [_mail(user=user)], [notice], clock(), cfg) == (0, 0)
    assert queue(db.session, [_mail(to="b@example.org")], [], clock(), cfg) == (1, 0)
    assert queue(db.session, [_mail(to="not an address")], [], clock(), cfg) == (0, 0)
    db.session.commit()
    assert count(Outbox) == 2 and count(Notice) == 1
    row = outbox()[0]
    assert (row.status, row.attempts, row.to_addr) == ("pending", 0, "a@example.org")
    assert row.give_up_at == clock() + timedelta(hours=48)


def _queue(app, clock, n=1, **config):
    cfg = mail_config({**app.config, **config})
    queue(db.session, [_mail(to=f"u{i}@example.org") for i in range(n)], [], clock(), cfg)
    db.session.commit()


# --- the dispatcher ----------------------------------------------------------

def test_dispatch_sends_marks_sent_and_never_twice(jobs_app, clock, smtp_server):
    jobs_app.config["SMTP_URL"] = smtp_server.url
    _queue(jobs_app, clock, 3)

    result = dispatch(db.session, clock(), jobs_app.config)

    assert (result.sent, result.retrying, result.failed) == (3, 0, 0)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["u0@example.org", "u1@example.org",
                                                                  "u2@example.org"]
    msg = smtp_server.messages[0].message
    assert str(msg["Subject"]) == "【逾期通知】X-1 标题"
    assert msg["Message-ID"].startswith("<outbox-") and msg["From"].addresses[0].addr_spec == "tracker@example.org"
    assert {(r.status, r.attempts) for r in outbox()} == {("sent", 1)}
    assert dispatch(db.session, clock() + timedelta(days=1), jobs_app.config).sent == 0
    assert len(smtp_server.messages) == 3


def test_without_smtp_url_nothing_is_touched(jobs_app, clock):
    _queue(jobs_app, clock)
    result = dispatch(db.session, clock(), jobs_app.config)
    assert not result.configured
    assert [(r.status, r.attempts, r.claim_token) for r in outbox()] == [("pending", 0, None)]


def test_a_wrong_smtp_url_is_recorded_on_the_rows(jobs_app, clock, caplog):
    jobs_app.config["SMTP_URL"] = "smtp://user:secret@mail.example.org:99999"
    _queue(jobs_app, clock, 2)

    result = dispatch(db.session, clock(), jobs_app.config)

    assert result.sent == 0 and result.retrying == 2
    rows = outbox()
    assert all(r.status == "pending" and r.attempts == 1 and "端口" in r.last_error for r in rows)
    assert all(r.next_attempt_at == clock() + timedelta(minutes=1) for r in rows)
    assert "secret" not in caplog.text
    assert any("端口" in rec.getMessage() for rec in caplog.records)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_recorded_and_does_not_crash(jobs_app, clock):
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(auth_required=True, auth_require_tls=False,
                        authenticator=lambda *args: AuthResult(success=False, handled=False)).start()
    try:
        jobs_app.config["SMTP_URL"] = f"smtp://robot:wrong@127.0.0.1:{server.port}?timeout=5"
        _queue(jobs_app, clock)
        result = dispatch(db.session, clock(), jobs_app.config)
    finally:
        server.stop()
    assert result.sent == 0
    row = outbox()[0]
    assert row.status == "pending" and "拒绝登录" in row.last_error
    assert server.messages == []


def test_backoff_grows_and_after_the_maximum_age_the_mail_fails(jobs_app, clock, smtp_down):
    jobs_app.config.update(SMTP_URL=smtp_down.url, MAIL_MAX_AGE_HOURS=1)
    _queue(jobs_app, clock)
    start = clock()
    waits = []
    for _ in range(4):
        dispatch(db.session, clock(), jobs_app.config)
        row = outbox()[0]
        waits.append(row.next_attempt_at - clock())
        clock.now = row.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]

    clock.now = start + timedelta(hours=2)
    result = dispatch(db.session, clock(), jobs_app.config)
    row = outbox()[0]
    assert result.failed == 1 and row.status == "failed" and row.attempts == 5
    assert "无法连接" in row.last_error
    # Failed mail stays failed, until an admin puts it back.
    assert dispatch(db.session, clock() + timedelta(days=1), jobs_app.config).sent == 0

    admin = make_user("admin")
    with pytest.raises(Refusal) as err:
        retry_mail(db.session, make_user("supervisor"), row.id, clock(), mail_config(jobs_app.config))
    assert err.value.kind == "forbidden"
    retry_mail(db.session, admin, row.id, clock(), mail_config(jobs_app.config))
    db.session.commit()
    smtp_down.start()
    assert dispatch(db.session, clock(), jobs_app.config).sent == 1
    assert len(smtp_down.messages) == 1
    with pytest.raises(Refusal) as err:
        retry_mail(db.session, admin, row.id, clock(), mail_config(jobs_app.config))
    assert err.value.message == "该邮件已发送,无需重发。"


def test_a_recipient_refused_for_good_fails_at_once(jobs_app, clock):
    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 no such user"

    from aiosmtpd.controller import Controller

    from tests.support.jobs import free_port

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        jobs_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        _queue(jobs_app, clock, 2)
        result = dispatch(db.session, clock(), jobs_app.config)
    finally:
        controller.stop()
    assert result.failed == 2
    assert all(r.status == "failed" and "550" in r.last_error for r in outbox())


def test_two_claims_never_share_a_row(jobs_app, clock):
    jobs_app.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    _queue(jobs_app, clock, 10)
    first = {r.id for r in claim(db.session, clock(), 6)}
    second = {r.id for r in claim(db.session, clock(), 6)}
    assert len(first) == 6 and len(second) == 4 and not first & second
    assert claim(db.session, clock(), 6) == []
    # A dispatcher that died: its claims are taken over after the claim timeout.
    later = clock() + CLAIM_TIMEOUT + timedelta(seconds=1)
    assert len(claim(db.session, later, 20)) == 10


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                    reason="needs PostgreSQL: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://…")
def test_concurrent_claims_on_postgres_skip_locked_rows(jobs_app, clock):
    _queue(jobs_app, clock, 40)
    barrier = threading.Barrier(4, timeout=30)
    got: list[set[int]] = [set() for _ in range(4)]

    def worker(i: int) -> None:
        with jobs_app.app_context():
            try:
                barrier.wait()
                while True:
                    rows = claim(db.session, clock(), 3)
                    if not rows:
                        break
                    got[i].update(r.id for r in rows)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    all_ids = [i for ids in got for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 40


# --- the mail log and notices ------------------------------------------------

def test_mail_log_is_for_admins(jobs_app, clock):
    _queue(jobs_app, clock, 3)
    admin = make_user("admin")
    rows, total = list_mail(db.session, admin, status="pending", per_page=2)
    assert total == 3 and len(rows) == 2
    assert status_counts(db.session, admin)["pending"] == 3
    for call in (lambda u: list_mail(db.session, u), lambda u: status_counts(db.session, u),
                 lambda u: retry_failed(db.session, u, clock(), mail_config(jobs_app.config))):
        with pytest.raises(Refusal) as err:
            call(make_user("unit_staff"))
        assert err.value.kind == "forbidden"
    with pytest.raises(Refusal):
        list_mail(db.session, admin, status="bogus")


def test_notices_count_list_and_mark_read(jobs_app, clock):
    user, other = make_user("unit_staff"), make_user("unit_staff")
    cfg = mail_config(jobs_app.config)
    queue(db.session, [], [NoticeDraft(user.id, "overdue", f"issue:{i}", f"通知{i}", link=f"/issues/{i}")
                           for i in range(3)], clock(), cfg)
    db.session.commit()
    assert notice_svc.unread_count(db.session, user) == 3
    rows, total = notice_svc.list_notices(db.session, user, per_page=2)
    assert total == 3 and len(rows) == 2
    notice_svc.mark_read(db.session, user, rows[0].id, clock())
    assert notice_svc.unread_count(db.session, user) == 2
    with pytest.raises(Refusal) as err:
        notice_svc.mark_read(db.session, other, rows[1].id, clock())
    assert err.value.kind == "not_found"
    assert db.session.scalar(select(Notice.read_at).where(Notice.id == rows[1].id)) is None
    assert notice_svc.mark_all_read(db.session, user, clock()) == 2
    assert notice_svc.unread_count(db.session, user) == 0
