"""Escalations in the pages: the 挂牌督办 badge and filter, the issue page, the leaders' board, a real run."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.notify import count, escalate
from tests.support.web import client_for
from tracker.core.extensions import db
from tracker.escalation.models import UnitEscalation
from tracker.issues.models import Escalation, ReportLateness
from tracker.notify.models import Outbox

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
