"""On the demo, after a day's run, every page says the same number for the same figure, and every count
opens a list holding exactly its issues: overdue, lagging, due soon, late report, under supervision
order, closed on time, extended, and the ladder's escalated rungs."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from tracker.accounts.models import User
from tracker.core import clock as app_clock
from tracker.core.extensions import db
from tracker.escalation.queries import late_period
from tracker.escalation.runner import run_day
from tracker.escalation.settings import get_settings
from tracker.issues.models import Issue, ReportLateness
from tracker.issues.queries import IssueFilters, search_issues
from tracker.notify.models import Outbox
from tracker.reports import dashboard, monthly, scorecard, stats

PASSWORD = "demo1234"  # the demo accounts' password (tracker/demo_data/users.json)


@pytest.fixture
def demo(app, clock):
    """The demo as of the test clock's day, after that day's run (escalations, late marks, digests)."""
    from tracker.demo import load_demo

    load_demo(echo=lambda _line: None, upgrade=False)
    app.config.update(BASE_URL="https://tracker.example.org")
    today = app_clock.today()
    run_day(db.session, today, app.config, now=clock(), dispatch_mail=False)
    db.session.commit()
    supervisor = db.session.scalar(select(User).where(User.role == "supervisor").order_by(User.id))
    return supervisor, today


def listed(user, today, **filters) -> int:
    """How many issues the list holds for these filters (the list's own count query)."""
    from dataclasses import fields

    own = {f.name for f in fields(IssueFilters)}
    flags = tuple(name for name, value in filters.items() if name not in own)
    rest = {name: value for name, value in filters.items() if name in own}
    _rows, total = search_issues(db.session, user, today, current_app.config, IssueFilters(flags=flags, **rest),
                                 per_page=1)
    return total


def signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code in (200, 302)
    return client


def test_every_page_says_the_same_number_for_each_figure(app, demo):
    user, today = demo
    config = current_app.config
    home = dashboard.todo(db.session, user, today, config)
    rounds = stats.round_stats(db.session, user, today, config)
    units = stats.unit_stats(db.session, user, today, config)
    card = scorecard.scorecard(db.session, user, today, config)
    this_month = monthly.monthly_report(db.session, user, monthly.month_start(today), today, config)
    period = late_period(today, get_settings(db.session))
    due_month = monthly.monthly_report(db.session, user, monthly.parse_month(period, today), today, config)
    api = signed_in(app, user)  # the same figures as the API tells them (bearer token below)
    token = app.test_client().post("/api/v1/auth/token", json={"username": user.username,
                                                                "password": PASSWORD}).get_json()["token"]
    body = app.test_client().get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).get_json()
    # The digest this supervisor gets: their jurisdiction's (the whole city's, in the demo).
    digest = db.session.scalars(select(Outbox).where(Outbox.kind == "digest", Outbox.user_id == user.id)).first()
    assert api is not None and digest is not None

    def digest_says(label: str) -> int:
        found = re.search(rf"{re.escape(label)} (\d+) 项", digest.subject)
        return int(found.group(1)) if found else 0

    # 逾期: home, list, statistics by round and by unit, this month's report (as of today), scorecard, API, digest.
    overdue = home.counts["overdue"]
    assert overdue > 0
    assert overdue == listed(user, today, overdue=True) == sum(r.totals.overdue for r in rounds)
    assert overdue == sum(u.overdue for u in units) == this_month.total.overdue
    assert overdue == sum(line.figures.overdue for line in card.units) == sum(u["overdue"] for u in body["units"])
    assert overdue == digest_says("逾期")

    # 进度滞后 and 临期: home and list; the digest lists lagging issues that are not overdue apart.
    assert home.counts["lagging"] > 0 and home.counts["lagging"] == listed(user, today, lagging=True)
    assert home.counts["due_soon"] == listed(user, today, due_soon=True)
    assert digest_says("进度滞后(未逾期)") == listed(user, today, lagging=True, overdue=False)

    # 未按时报送: the marks, on statistics, scorecard and API; per period in the monthly report, the list
    # and (still missing) the digest.
    marks = db.session.scalar(select(func.count()).select_from(ReportLateness)) or 0
    assert marks > 0
    assert marks == sum(u.late_reports for u in units) == sum(line.figures.late_reports for line in card.units)
    assert marks == sum(u["late_reports"] for u in body["units"])
    busiest = db.session.execute(select(ReportLateness.period).group_by(ReportLateness.period)
                                 .order_by(func.count().desc(), ReportLateness.period.desc()).limit(1)).scalar_one()
    busy_month = monthly.monthly_report(db.session, user, monthly.parse_month(busiest, today), today, config)
    in_period = sum(u.late + u.missing for u in busy_month.reporting)
    assert in_period > 0 and in_period == listed(user, today, late_period=busiest)
    for checked in (due_month, this_month):
        assert sum(u.late + u.missing for u in checked.reporting) == listed(user, today, late_period=checked.month)
    assert digest_says("未按时报送") == sum(u.missing for u in due_month.reporting)

    # 挂牌督办: statistics by round and by unit, scorecard, this month's report, list, API.
    supervised = sum(r.supervised for r in rounds)
    assert supervised > 0
    assert supervised == sum(u.supervision_orders for u in units) == listed(user, today, supervised=True)
    assert supervised == sum(line.figures.supervision_orders for line in card.units) == this_month.total.supervised
    assert supervised == sum(u["supervised"] for u in body["units"])

    # 按期销号 and 已延期: statistics, scorecard, list, API.
    on_time = sum(u.closed_on_time for u in units)
    assert on_time > 0
    assert on_time == sum(line.figures.closed_on_time for line in card.units) == \
        listed(user, today, closed_on_time=True)
    assert on_time == sum(u["closed_on_time"] for u in body["units"])
    extended = sum(u.extended for u in units)
    assert extended > 0
    assert extended == listed(user, today, extended=True) == sum(u["extended"] for u in body["units"])

    # The ladder's escalated rungs on the home page: each count is its list.
    assert home.rungs and any(rung.count for rung in home.rungs)
    for rung in home.rungs:
        assert rung.count == listed(user, today, overdue=True, deadline_to=rung.deadline_to), rung.label


def test_every_count_on_the_home_and_statistics_pages_opens_exactly_its_issues(app, demo):
    """Each linked number on the supervisor's home page and statistics page equals the size of the list
    it opens (the list's own '共 N 个问题')."""
    user, _today = demo
    app.config["PER_PAGE"] = 1000  # each list on one page, to add up the marks it shows
    client = signed_in(app, user)
    for page in ("/", "/stats/"):
        html = client.get(page).get_data(as_text=True)
        links = re.findall(r'<a class="text-reset" href="(/issues/\?[^"]+)">(\d+)</a>', html)
        links += re.findall(r'<a href="(/issues/\?[^"]+)">(\d+)</a>', html)
        assert len(links) > 10, page
        for href, number in links:
            listed_html = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
            if "late_report=1" in href:
                # 未按时报送 counts (issue, period) marks: the list shows each issue's marks.
                marks = sum(int(n) for n in re.findall(r'data-late="(\d+)"', listed_html))
                assert str(marks) == number, (page, href, number)
                continue
            total = re.search(r"共 (\d+) 个问题", listed_html)
            assert total and total.group(1) == number, (page, href, number)


def test_a_unit_head_sees_its_returned_issue_count_as_its_list(app, demo, session):
    """Return one of the demo's submitted issues: its lead unit's head sees it atop the home page, and
    the count opens exactly the unit's returned issues."""
    from tracker.issues import services as issue_service

    user, today = demo
    issue = session.scalars(select(Issue).where(Issue.state == "submitted", Issue.merged_into_id.is_(None))
                            .order_by(Issue.id)).first()
    assert issue is not None, "the demo has issues awaiting verification"
    # Returned by an office user whom the step it waits for allows (its level, over its lead unit).
    from tracker.issues import chain

    offices = list(session.scalars(select(User).where(User.role == "supervisor").order_by(User.id)))
    user = chain.may_sign(session, issue, offices)[0]
    issue_service.transition(session, user, app_clock.now(), issue, "return", comment="整改照片不清晰,请补充")
    session.commit()
    head = session.scalars(select(User).where(User.role == "unit_head", User.unit_id == issue.lead_unit_id)).first()
    assert head is not None
    rows, total = dashboard.sent_back(db.session, head)
    assert total >= 1 and issue.id in {r.issue.id for r in rows}
    assert total == listed(head, today, returned=True, lead_unit_id=head.unit_id)
    html = signed_in(app, head).get("/").get_data(as_text=True)
    assert "整改照片不清晰,请补充" in html and html.index('id="returned"') < html.index('id="todo-title"')


def test_the_month_end_overdue_uses_the_deadline_in_force_then(app, demo, session):
    """Moving a deadline later today does not rewrite last month's 月末逾期."""
    from tracker.issues import services as issue_service

    user, today = demo
    last_month = monthly.previous_month(monthly.month_start(today))
    before = monthly.monthly_report(db.session, user, last_month, today, current_app.config)
    if not before.overdue:
        pytest.skip("the demo has no issue overdue at last month's end")
    row = before.overdue[0]
    issue = session.get(Issue, row.issue_id)
    issue_service.update_issue(session, user, app_clock.now(), issue,
                               {"deadline": (today + timedelta(days=90)).isoformat()}, today, reason="延期")
    session.commit()
    after = monthly.monthly_report(db.session, user, last_month, today, current_app.config)
    assert after.total.overdue == before.total.overdue
    assert [(r.code, r.deadline, r.days_overdue) for r in after.overdue] == \
        [(r.code, r.deadline, r.days_overdue) for r in before.overdue]
    # Today's figures see the new deadline.
    todo = dashboard.todo(db.session, user, today, current_app.config)
    assert listed(user, today, overdue=True) == todo.counts["overdue"]
