"""The day's jobs end to end with a real SMTP server (aiosmtpd on loopback).

Digests and escalation mails arrive with the right recipients, subjects and issue
codes; one digest per recipient and day; a second run of the day sends nothing; a
unit sees none of another unit's issues; with the server down the mail waits and
arrives once when it is back.
"""
from __future__ import annotations

from datetime import date, timedelta

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.jobs import BASE_URL, count, outbox, run
from tracker.core.extensions import db
from tracker.issues.models import Escalation, Event
from tracker.notify.dispatcher import dispatch
from tracker.notify.models import Notice, Outbox

DAY = date(2020, 7, 13)  # a Monday, before the report reminder day


def world():
    """Two units, their people, the office and a leader, and five issues on 2020-07-13."""
    a = make_unit(code="ZJ", name="市住建局", email="zj-office@example.org")
    b = make_unit(code="SL", name="市水利局")
    people = {
        "staff_a": make_user("unit_staff", unit=a, email="staff-a@example.org"),
        "head_a": make_user("unit_head", unit=a, email="head-a@example.org"),
        "staff_b": make_user("unit_staff", unit=b, email="staff-b@example.org"),
        "head_b": make_user("unit_head", unit=b, email="head-b@example.org"),
        "sup1": make_user("supervisor", email="sup1@example.org"),
        "sup2": make_user("supervisor", email="sup2@example.org"),
        "leader": make_user("leader", email="leader@example.org"),
    }
    issues = {
        "a_over": make_issue(lead_unit=a, code="ZJ-01", title="城区黑臭水体整治", deadline=date(2020, 7, 3),
                             progress_percent=60),
        "b_soon": make_issue(lead_unit=b, code="SL-01", title="河道采砂整治", deadline=date(2020, 7, 16),
                             progress_percent=90),
        "b_secret": make_issue(lead_unit=b, code="SL-02", title="水利局内部问题", deadline=date(2020, 12, 31),
                               progress_percent=0),
        "shared": make_issue(lead_unit=b, code="SL-03", title="饮用水源地保护", cooperating=(a,),
                             deadline=date(2020, 7, 10), progress_percent=70),
        "green": make_issue(lead_unit=a, code="ZJ-02", title="建筑工地扬尘", deadline=date(2021, 6, 30),
                            progress_percent=80),
    }
    for key, issue in issues.items():
        if key != "a_over":
            make_report(issue, period="2020-06")
    db.session.commit()
    return a, b, people, issues


def digests(server, addr):
    return [m for m in server.to(addr) if m.subject.startswith("【督办摘要】")]


def test_digests_and_escalations_arrive_once_with_the_right_content(jobs_app, clock, smtp_server):
    jobs_app.config["SMTP_URL"] = smtp_server.url
    _, _, people, issues = world()

    report = run(jobs_app, clock, DAY)

    assert report.dispatch.sent == report.new_mails > 0
    assert report.dispatch.failed == report.dispatch.retrying == 0
    # Unit A's digest: its own overdue issue, the one it cooperates on, the missing June report.
    for addr in ("staff-a@example.org", "head-a@example.org", "zj-office@example.org"):
        got = digests(smtp_server, addr)
        assert len(got) == 1, addr
        mail = got[0]
        assert mail.subject.startswith("【督办摘要】市住建局 2020-07-13")
        assert "tracker@example.org" == mail.mail_from
        text, html = mail.text(), mail.html()
        for body in (text, html):
            assert "ZJ-01" in body and "SL-03" in body
            assert "SL-01" not in body and "SL-02" not in body and "水利局内部问题" not in body
            assert "ZJ-02" not in body  # green: nothing to say about it
            assert f"{BASE_URL}/issues/{issues['a_over'].id}" in body
        assert "未按时报送 2020-06" in text
    # Unit B's digest: overdue, lagging and due soon; nothing of unit A's own issues.
    for addr in ("staff-b@example.org", "head-b@example.org"):
        got = digests(smtp_server, addr)
        assert len(got) == 1
        text = got[0].text()
        assert all(code in text for code in ("SL-01", "SL-02", "SL-03"))
        assert "ZJ-01" not in text and "ZJ-02" not in text
    # Each supervisor: one digest listing everything, grouped by unit, A first (longest overdue).
    for addr in ("sup1@example.org", "sup2@example.org"):
        got = digests(smtp_server, addr)
        assert len(got) == 1
        assert got[0].subject.startswith("【督办摘要】全部责任单位")
        text = got[0].text()
        assert all(code in text for code in ("ZJ-01", "SL-01", "SL-02", "SL-03"))
        assert text.index("市住建局") < text.index("市水利局")
    assert digests(smtp_server, "leader@example.org") == []
    # Escalations of the day: overdue notices to the head, the unit's address and the office;
    # the due-soon reminder to unit B's staff and head.
    overdue = [m for m in smtp_server.messages if m.subject.startswith("【逾期通知】ZJ-01")]
    assert sorted(r for m in overdue for r in m.rcpt_tos) == sorted(
        ["head-a@example.org", "zj-office@example.org", "sup1@example.org", "sup2@example.org"])
    soon = [m for m in smtp_server.messages if m.subject.startswith("【临期提醒】SL-01")]
    assert sorted(r for m in soon for r in m.rcpt_tos) == ["head-b@example.org", "staff-b@example.org"]
    # Every message went to one recipient, and every recipient got each mail once.
    keys = [(m.rcpt_tos[0], m.subject) for m in smtp_server.messages]
    assert all(len(m.rcpt_tos) == 1 for m in smtp_server.messages)
    assert len(keys) == len(set(keys))
    # Each mail to a user is also a notice for that user.
    assert count(Notice, Notice.user_id == people["staff_a"].id) == 1
    assert count(Notice, Notice.user_id == people["sup1"].id) == len(smtp_server.to("sup1@example.org"))
    assert count(Outbox, Outbox.status == "sent") == len(smtp_server.messages)

    # The same day again: nothing new is queued, sent, or written on a timeline.
    before = (len(smtp_server.messages), count(Outbox), count(Event), count(Escalation), count(Notice))
    again = run(jobs_app, clock, DAY)
    assert again.new_mails == 0 and again.dispatch.sent == 0
    assert (len(smtp_server.messages), count(Outbox), count(Event), count(Escalation), count(Notice)) == before


def test_mail_waits_while_the_server_is_down_and_arrives_once(jobs_app, clock, smtp_down):
    jobs_app.config["SMTP_URL"] = smtp_down.url
    world()

    report = run(jobs_app, clock, DAY)

    queued = report.new_mails
    assert queued > 0 and report.dispatch.sent == 0
    assert report.dispatch.errors and "无法连接邮件服务器" in report.dispatch.errors[0]
    rows = outbox()
    assert {r.status for r in rows} == {"pending"}
    assert any(r.attempts == 1 and r.last_error and r.next_attempt_at > clock() for r in rows)

    smtp_down.start()
    # Still inside the backoff: nothing is due yet.
    assert dispatch(db.session, clock(), jobs_app.config).sent == 0
    assert smtp_down.messages == []

    clock.now += timedelta(minutes=5)
    result = dispatch(db.session, clock(), jobs_app.config)
    assert result.sent == queued
    assert len(smtp_down.messages) == queued
    keys = [(m.rcpt_tos[0], m.subject) for m in smtp_down.messages]
    assert len(keys) == len(set(keys))
    assert {r.status for r in outbox()} == {"sent"}

    clock.now += timedelta(hours=1)
    assert dispatch(db.session, clock(), jobs_app.config).sent == 0
    assert len(smtp_down.messages) == queued


def test_no_smtp_url_keeps_the_mail_in_the_outbox(jobs_app, clock):
    world()

    report = run(jobs_app, clock, DAY)

    assert report.new_mails > 0
    assert report.dispatch is not None and not report.dispatch.configured
    assert {(r.status, r.attempts, r.last_error) for r in outbox()} == {("pending", 0, None)}


def test_no_cr_or_lf_from_names_or_titles_reaches_a_header(jobs_app, clock, smtp_server):
    jobs_app.config["SMTP_URL"] = smtp_server.url
    unit = make_unit(code="EV", name="恶意单位\r\nBcc: evil@example.net", email="ev@example.org")
    make_user("unit_head", unit=unit, email="head-ev@example.org",
              display_name="张三\r\nCc: evil@example.net")
    make_issue(lead_unit=unit, code="EV-01", title="标题\r\nBcc: evil@example.net\r\n\r\n正文注入",
               deadline=DAY - timedelta(days=2))
    db.session.commit()

    run(jobs_app, clock, DAY)

    assert smtp_server.messages
    for mail in smtp_server.messages:
        assert "evil@example.net" not in " ".join(mail.rcpt_tos)
        assert mail.message["Bcc"] is None and mail.message["Cc"] is None
        for name, value in mail.message.items():
            assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    overdue = next(m for m in smtp_server.messages if m.subject.startswith("【逾期通知】EV-01"))
    assert overdue.subject == "【逾期通知】EV-01 标题 Bcc: evil@example.net 正文注入"
    # The title still shows in the body, escaped in the HTML.
    assert "正文注入" in overdue.text()


def test_two_schedulers_at_once_send_each_mail_once(jobs_app, clock, smtp_server):
    """Two scheduler processes (a deploy overlap) fire the daily and the minute job together."""
    import threading
    from datetime import datetime

    from tracker.escalation.scheduler import daily_job, minute_job

    jobs_app.config["SMTP_URL"] = smtp_server.url
    world()
    db.session.remove()  # the schedulers open their own sessions
    clock.now = datetime(2020, 7, 13, 0, 30)  # 08:30 in Beijing
    barrier = threading.Barrier(2)

    def scheduler_tick():
        barrier.wait()
        daily_job(jobs_app)
        minute_job(jobs_app)

    threads = [threading.Thread(target=scheduler_tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sent = outbox(Outbox.status == "sent")
    assert sent and len(smtp_server.messages) == len(sent) == len(outbox())
    per_recipient_subject = [(r, m.subject) for m in smtp_server.messages for r in m.rcpt_tos]
    assert len(per_recipient_subject) == len(set(per_recipient_subject))
    assert count(Escalation) == count(Event, Event.action.in_(("due_soon", "overdue", "supervision_order",
                                                               "interview")))
