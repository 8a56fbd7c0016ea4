"""The pages of issue 3 (and the pages they extend) issue a fixed number of SQL statements."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.queries import statements_for
from tests.support.web import client_for
from tracker.core.extensions import db
from tracker.escalation.models import UnitEscalation
from tracker.issues.models import Escalation, ReportLateness
from tracker.notify.models import Notice, Outbox

pytestmark = pytest.mark.usefixtures("fast_passwords", "fresh_login_per_request")  # tests/conftest.py

NOW = datetime(2020, 7, 15, 2, 0, 0)


def escalate_all(issues, day: date = date(2020, 7, 1)) -> None:
    """Put every issue under a supervision order and some under interview, with late reports."""
    for k, issue in enumerate(issues):
        db.session.add(Escalation(issue_id=issue.id, key="supervision_order+15", kind="supervision_order",
                                  fired_on=day))
        db.session.add(Escalation(issue_id=issue.id, key="overdue+1", kind="overdue", fired_on=day))
        if k % 2 == 0:
            db.session.add(Escalation(issue_id=issue.id, key="interview+30", kind="interview", fired_on=day))


@pytest.mark.parametrize("who", ["supervisor", "head"])
@pytest.mark.parametrize("query", ["", "?supervised=1", "?supervised=1&state=open&sort=-days_overdue"])
def test_issue_list_with_flags_and_filter_stays_constant(app, population, session, who, query):
    counts = []
    for n in (3, 30):
        world = population(n)
        escalate_all(world["issues"])
        session.commit()
        client = client_for(app, world[who])
        html = client.get("/issues/" + query).get_data(as_text=True)
        assert "supervised-badge" in html
        counts.append(len(statements_for(client, "/issues/" + query)))
    assert counts[0] == counts[1], counts
    # The list's 6 (挂牌督办 is a column of its query), its rounds' approval chains, the unread badge.
    assert counts[0] <= 8, counts


@pytest.mark.parametrize("who", ["supervisor", "staff"])
def test_issue_page_with_escalations_stays_constant(app, population, session, who):
    counts = []
    for n in (1, 12):
        world = population(2)
        issue = world["issues"][0]
        for k in range(n):
            period = f"2019-{k + 1:02d}"
            db.session.add(Escalation(issue_id=issue.id, key=f"report_late:{period}", kind="report_late",
                                      period=period, fired_on=date(2019, k + 1, 19)))
            report = make_report(issue, period=period)
            db.session.add(ReportLateness(issue_id=issue.id, period=period, report_id=report.id,
                                          due_on=date(2019, k + 1, 18), filed_at=datetime(2019, k + 1, 20)))
        escalate_all([issue])
        session.commit()
        user = {"supervisor": world["supervisor"], "staff": world["people"][0]}[who]
        client = client_for(app, user)
        html = client.get(f"/issues/{issue.id}").get_data(as_text=True)
        assert html.count('class="escalation"') == n + 3
        counts.append(len(statements_for(client, f"/issues/{issue.id}")))
    assert counts[0] == counts[1], counts
    # The page's own (12 for a supervisor who may merge it), the unread badge, the escalation record, the
    # approval chain's signatures, and the extension requests (the section a deciding supervisor sees).
    assert counts[0] <= 15, counts


@pytest.mark.parametrize("role", ["leader", "supervisor"])
def test_leader_home_board_stays_constant(app, session, role):
    user = make_user(role)
    session.commit()
    counts = []
    for n in (2, 20):
        units = [make_unit() for _ in range(3)]
        issues = [make_issue(lead_unit=units[k % 3], deadline=date(2020, 5, 1)) for k in range(n)]
        escalate_all(issues)
        for k, unit in enumerate(units):
            db.session.add(UnitEscalation(unit_id=unit.id, period=f"2020-0{k + 1}", kind="unit_supervision",
                                          count=2 + k, fired_on=date(2020, k + 1, 10)))
        session.commit()
        client = client_for(app, user)
        html = client.get("/").get_data(as_text=True)
        assert 'class="interview-item"' in html and 'class="unit-order"' in html
        counts.append(len(statements_for(client, "/")))
    assert counts[0] == counts[1], counts


def test_notices_and_mail_log_stay_constant(app, session):
    admin = make_user("admin")
    session.commit()
    counts = []
    for n in (2, 30):
        for k in range(n):
            db.session.add(Notice(user_id=admin.id, kind="overdue", ref=f"{n}-{k}", title=f"通知{k}",
                                  link="/issues/", created_at=NOW - timedelta(minutes=k)))
            db.session.add(Outbox(kind="overdue", to_addr=f"u{n}-{k}@example.org", ref=f"{n}-{k}", subject="主题",
                                  body_text="正文", body_html="<p>正文</p>",
                                  status=("pending", "failed", "sent")[k % 3], attempts=1,
                                  created_at=NOW, next_attempt_at=NOW, give_up_at=NOW,
                                  last_error="超时" if k % 3 == 1 else None))
        session.commit()
        client = client_for(app, admin)
        counts.append((len(statements_for(client, "/notices/")), len(statements_for(client, "/admin/mail"))))
    assert counts[0] == counts[1], counts
