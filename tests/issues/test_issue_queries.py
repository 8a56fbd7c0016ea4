"""The issue list and the issue page issue a fixed number of SQL statements, however many rows."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, ProgressReport

from .factories import make_issue, make_round, make_unit, make_user
from .test_issue_pages import client_for, fast_passwords, fresh_login_per_request  # noqa: F401
from .conftest import count_queries



def statements_for(client, path: str) -> list[str]:
    """The statements one GET makes, starting from an empty session as a real request would."""
    db.session.remove()
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    return statements


def fill_issue(issue, people, units, n: int, at: datetime) -> None:
    """Give an issue n events, reports and attachments by different people."""
    for k in range(n):
        person = people[k % len(people)]
        db.session.add(Event(issue_id=issue.id, at=at + timedelta(minutes=k), actor_id=person.id,
                             action="progress", from_state="in_progress", to_state="in_progress",
                             comment=f"第{k}次"))
        db.session.add(ProgressReport(issue_id=issue.id, period=f"{2000 + k}-01", percent=k % 101, text="进展",
                                      author_id=person.id, unit_id=units[k % len(units)].id, created_at=at,
                                      replaced_at=at if k % 3 == 0 else None))
        db.session.add(Attachment(issue_id=issue.id, sha256=f"{k:064d}", filename=f"材料{k}.pdf",
                                  content_type="application/pdf", size=100, uploaded_by_id=person.id,
                                  created_at=at))


@pytest.fixture
def population(session):
    """Build a population of `n` issues led by or cooperated on by one unit, with history."""
    def build(n: int):
        mine = make_unit()
        others = [make_unit() for _ in range(4)]
        round_ = make_round()
        people = [make_user("unit_staff", mine)] + [make_user("unit_staff", u) for u in others]
        head = make_user("unit_head", mine)
        supervisor = make_user("supervisor")
        issues = []
        for k in range(n):
            lead = mine if k % 2 == 0 else others[k % 4]
            coop = (others[(k + 1) % 4], mine) if lead is not mine else (others[(k + 1) % 4], others[(k + 2) % 4])
            issue = make_issue(lead, round_, coop, progress_percent=k % 100)
            if issues and k % 5 == 0:
                issue.merged_into_id = issues[0].id
            fill_issue(issue, people, others, 3, datetime(2020, 6, 1))
            issues.append(issue)
        session.commit()
        return dict(issues=issues, people=people, head=head, supervisor=supervisor, units=[mine, *others])
    return build


@pytest.mark.parametrize("who", ["supervisor", "head"])
@pytest.mark.parametrize("query", ["", "?state=open&sort=-days_overdue", "?q=测试&light=yellow&sort=code"])
def test_issue_list_query_count_does_not_grow(app, population, who, query):
    counts = []
    for n in (3, 30):
        world = population(n)
        client = client_for(app, world[who])
        client.get("/issues/" + query)  # warm up
        first = statements_for(client, "/issues/" + query)
        counts.append(len(first))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 7, counts  # 6 when measured


@pytest.mark.parametrize("who", ["supervisor", "head", "staff"])
def test_issue_page_query_count_does_not_grow(app, population, session, who):
    counts = []
    for n in (2, 20):
        world = population(2)
        issue = world["issues"][0]  # led by `mine`, with issues merged into it
        fill_issue(issue, world["people"] + [world["head"], world["supervisor"]], world["units"], n,
                   datetime(2020, 7, 1))
        for k in range(n):  # more issues merged into it
            merged = make_issue(world["units"][1], cooperating=(world["units"][2],))
            merged.merged_into_id = issue.id
        session.commit()
        user = {"supervisor": world["supervisor"], "head": world["head"], "staff": world["people"][0]}[who]
        client = client_for(app, user)
        client.get(f"/issues/{issue.id}")
        statements = statements_for(client, f"/issues/{issue.id}")
        html = client.get(f"/issues/{issue.id}").get_data(as_text=True)
        assert html.count('<li class="event"') == n + 3
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 13, counts  # 11 when measured
