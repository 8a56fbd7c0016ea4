"""Statistics (service, API, page) against hand-counted fixtures.

The clock stands at 2020-07-15 (Beijing). The fixture, issue by issue:

round R1 (feedback 2020-05-01, newest)
  a1  lead A  key_concern  closed          deadline 2020-06-30  closed 2020-06-30 23:00 Beijing -> on time
  a2  lead A  feedback     closed          deadline 2020-06-30  closed 2020-07-01 00:30 Beijing -> late
  a3  lead A  feedback     in_progress     deadline 2020-07-01  overdue; supervision order; 1 late report
  b1  lead B  key_concern  basically_done  deadline 2020-12-31  coop C; a due_soon reminder (not counted)
  b2  lead B  feedback     submitted       deadline 2020-06-01  not overdue (awaits verification)
round R2 (feedback 2019-01-01)
  a4  lead A  feedback     in_progress     deadline 2020-03-01  overdue; supervision order + interview
  b3  lead B  petition     verified        deadline 2020-12-31
  b4  lead B  feedback     closed          deadline 2020-12-31  closed 2020-05-01; supervision order (摘牌)
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from flask import current_app

from tests.support.api import api_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.core.extensions import db
from tracker.issues.models import Escalation, ReportLateness
from tracker.reports import stats

TODAY = date(2020, 7, 15)


def escalate(issue, kind: str, offset: int, fired_on: date = date(2020, 7, 10)) -> None:
    db.session.add(Escalation(issue_id=issue.id, key=f"{kind}{offset:+d}", kind=kind, fired_on=fired_on))
    db.session.flush()


@pytest.fixture
def world(session):
    """The hand-counted fixture above, committed."""
    a = make_unit(code="A", name="甲局")
    b = make_unit(code="B", name="乙局")
    c = make_unit(code="C", name="丙镇")
    r1 = make_round(name="第一轮", feedback_date=date(2020, 5, 1))
    r2 = make_round(name="第二轮", feedback_date=date(2019, 1, 1))
    make_issue(lead_unit=a, round=r1, category="key_concern", state="closed", deadline=date(2020, 6, 30),
                    closed_at=datetime(2020, 6, 30, 15, 0), progress_percent=100)
    make_issue(lead_unit=a, round=r1, state="closed", deadline=date(2020, 6, 30),
                    closed_at=datetime(2020, 6, 30, 16, 30), progress_percent=100)
    a3 = make_issue(lead_unit=a, round=r1, deadline=date(2020, 7, 1))
    b1 = make_issue(lead_unit=b, round=r1, category="key_concern", state="basically_done", cooperating=(c,))
    make_issue(lead_unit=b, round=r1, state="submitted", deadline=date(2020, 6, 1))
    a4 = make_issue(lead_unit=a, round=r2, deadline=date(2020, 3, 1))
    make_issue(lead_unit=b, round=r2, category="petition", state="verified")
    b4 = make_issue(lead_unit=b, round=r2, state="closed", closed_at=datetime(2020, 5, 1, 2))
    escalate(a3, "supervision_order", 15)
    escalate(a4, "supervision_order", 15, date(2020, 3, 16))
    escalate(a4, "interview", 30, date(2020, 3, 31))
    escalate(b4, "supervision_order", 15, date(2020, 4, 1))
    escalate(b1, "due_soon", -7)
    report = make_report(a3, period="2020-06")
    session.add(ReportLateness(issue_id=a3.id, period="2020-06", report_id=report.id, due_on=date(2020, 6, 18),
                               filed_at=datetime(2020, 6, 22, 2)))
    users = {role: make_user(role) for role in ("supervisor", "approver", "leader", "admin")}
    staff_a = make_user("unit_staff", unit=a)
    head_c = make_user("unit_head", unit=c)
    session.commit()
    return SimpleNamespace(a=a, b=b, c=c, r1=r1, r2=r2, staff_a=staff_a, head_c=head_c, **users)


def figures(user, round_id=None, order="unit"):
    config = current_app.config
    return (stats.round_stats(db.session, user, TODAY, config, round_id),
            stats.unit_stats(db.session, user, TODAY, config, round_id, order))


def test_round_figures_match_the_hand_count(world):
    rounds, _units = figures(world.supervisor)
    r1, r2 = rounds  # newest first
    assert r1.round.id == world.r1.id and r2.round.id == world.r2.id
    assert r1.as_json() | {"round": None} == {
        "round": None, "total": 5,
        "by_category": {"feedback": {"total": 3, "closed": 1}, "key_concern": {"total": 2, "closed": 1}},
        "by_state": {"in_progress": 1, "basically_done": 1, "submitted": 1, "verified": 0, "closed": 2},
        "closed": 2, "basically_done": 1, "in_progress": 1, "overdue": 1, "supervised": 1,
        # 按期完成, 延期后完成, 逾期 (one closed late, one open past its deadline).
        "done_on_time": 1, "done_after_extension": 0, "late": 2,
        "completion_rate": 40.0,
        "summary": "共涉及问题5个(重点关注问题2个、反馈问题3个)。目前,已完成整改2个,剩余3个正在积极推进中。",
    }
    j2 = r2.as_json()
    assert (j2["total"], j2["closed"], j2["in_progress"], j2["basically_done"], j2["overdue"], j2["supervised"],
            j2["completion_rate"]) == (3, 1, 1, 0, 1, 1, 33.3)  # b4's order is lifted: it is closed
    assert j2["by_category"] == {"feedback": {"total": 2, "closed": 1}, "petition": {"total": 1, "closed": 0}}


def test_unit_figures_match_the_hand_count(world):
    _rounds, units = figures(world.leader)
    got = {u.code: (u.assigned, u.closed, u.closed_on_time, u.overdue, u.late_reports, u.escalations)
           for u in units}
    # A: a2 closed at 00:30 Beijing the day after its deadline is late; escalations: the issues under
    # supervision order, a3 and a4 (a4's interview is the step beyond its order, not another issue).
    # B: none: b4's order was lifted when it closed (摘牌), as the round figures count it; the due_soon
    # reminder is no escalation.
    assert got == {"A": (4, 2, 1, 2, 1, 2), "B": (4, 1, 1, 0, 0, 0)}
    assert [u.code for u in units] == ["A", "B"]


def test_one_round_only(world):
    rounds, units = figures(world.admin, world.r1.id)
    assert [r.round.id for r in rounds] == [world.r1.id]
    got = {u.code: (u.assigned, u.closed, u.closed_on_time, u.overdue, u.late_reports, u.escalations)
           for u in units}
    assert got == {"A": (3, 2, 1, 1, 1, 1), "B": (2, 0, 0, 0, 0, 0)}


def test_units_sorted_by_overdue(world, session):
    d = make_unit(code="0D", name="丁局")  # sorts first by code, has the most overdue issues
    for _ in range(3):
        make_issue(lead_unit=d, round=world.r2, deadline=date(2020, 1, 1))
    session.commit()
    _r, by_code = figures(world.admin)
    _r, by_overdue = figures(world.admin, order="overdue")
    assert [u.code for u in by_code] == ["0D", "A", "B"]
    assert [u.code for u in by_overdue] == ["0D", "A", "B"]
    for _ in range(5):
        make_issue(lead_unit=world.b, round=world.r2, deadline=date(2020, 1, 1))
    session.commit()
    _r, by_overdue = figures(world.admin, order="overdue")
    assert [(u.code, u.overdue) for u in by_overdue] == [("B", 5), ("0D", 3), ("A", 2)]


def test_unit_user_sees_only_its_issues(world):
    rounds, units = figures(world.head_c)  # C only cooperates on b1
    assert [(r.round.id, r.totals.total, r.basically_done) for r in rounds] == [(world.r1.id, 1, 1)]
    assert [(u.code, u.assigned) for u in units] == [("B", 1)]
    rounds, units = figures(world.staff_a)
    assert [(r.round.id, r.totals.total) for r in rounds] == [(world.r1.id, 3), (world.r2.id, 1)]
    assert [u.code for u in units] == ["A"]
    nobody = make_user("unit_staff")
    db.session.commit()
    assert figures(nobody) == ([], [])


@pytest.mark.parametrize("total,closed,cats,expected", [
    (13, 8, {"feedback": 7, "key_concern": 6},
     "共涉及问题13个(重点关注问题6个、反馈问题7个)。目前,已完成整改8个,剩余5个正在积极推进中。"),
    (2, 2, {"feedback": 2}, "共涉及问题2个(反馈问题2个)。目前,已全部完成整改。"),
    (0, 0, {}, "暂无问题。"),
])
def test_summary_sentence(total, closed, cats, expected):
    assert stats.summary_sentence(total, closed, cats) == expected


def test_query_count_is_constant(world, session):
    assert world.supervisor.role  # load the user (expired by the fixture's commit) outside the count
    with count_queries() as few:
        figures(world.supervisor)
    for i in range(27):
        make_issue(lead_unit=make_unit(), round=make_round() if i % 3 else world.r1,
                   deadline=date(2020, 1, 1))
    session.commit()
    assert world.supervisor.role
    with count_queries() as many:
        rounds, units = figures(world.supervisor)
    assert len(units) > 20 and len(rounds) > 10
    # The issues' figures in one grouped query, late reports in another, where chains wait in one more.
    assert len(many) == len(few) == 6


# --- API ---------------------------------------------------------------------

def test_api_stats(client, world):
    api = api_for(client, world.staff_a)
    body = api.get("/stats").get_json()
    assert [r["round"]["name"] for r in body["rounds"]] == ["第一轮", "第二轮"]
    assert body["rounds"][0]["total"] == 3
    assert body["units"] == [{"unit": {"id": world.a.id, "code": "A", "name": "甲局"}, "assigned": 4, "closed": 2,
                              "closed_on_time": 1, "overdue": 2, "late_reports": 1, "escalations": 2,
                              "supervised": 2, "interviewed": 1, "extended": 0,
                              "done_on_time": 1, "done_after_extension": 0, "late": 3}]
    body = api.get(f"/stats?round_id={world.r2.id}").get_json()
    assert [r["round"]["id"] for r in body["rounds"]] == [world.r2.id]
    assert body["units"][0]["assigned"] == 1


@pytest.mark.parametrize("arg,fragment", [("abc", "整数"), ("0", "不存在"), ("99999", "不存在")])
def test_api_stats_bad_round_is_400(client, world, arg, fragment):
    response = api_for(client, world.leader).get(f"/stats?round_id={arg}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_api_stats_needs_a_token(client, world):
    response = client.get("/api/v1/stats")
    assert response.status_code == 401
    assert "令牌" in response.get_json()["error"]


# --- page --------------------------------------------------------------------

@pytest.mark.parametrize("who", ["supervisor", "approver", "leader", "admin", "staff_a", "head_c"])
def test_page_renders_for_each_role(client, world, login_as, who):
    login_as(getattr(world, who))
    response = client.get("/stats/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/stats/"' in html  # the nav link
    assert 'id="unit-table"' in html and 'id="round-table"' in html
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)[1])
    if who == "head_c":
        assert "共涉及问题1个(重点关注问题1个)。目前,已完成整改0个,剩余1个正在积极推进中。" in html
        assert "甲局" not in html.split('id="unit-table"')[1]
        assert data["units"] == []
    else:
        assert "第二轮" in html
    if who == "supervisor":
        assert "共涉及问题5个(重点关注问题2个、反馈问题3个)。目前,已完成整改2个,剩余3个正在积极推进中。" in html
        assert data["units"] == [{"name": "甲局", "overdue": 2}]
        assert data["rounds"][0] == {"name": "第一轮", "by_state": [1, 1, 1, 0, 2]}


def test_page_round_filter_and_sort(client, world, login_as):
    login_as(world.leader)
    html = client.get(f"/stats/?round_id={world.r2.id}&sort=overdue").get_data(as_text=True)
    assert "共涉及问题3个(反馈问题2个、交办信访件1个)" in html
    assert "共涉及问题5个" not in html
    assert "<strong>按逾期数</strong>" in html
    response = client.get("/stats/?round_id=xyz")
    assert response.status_code == 400
    assert "round_id 应为整数" in response.get_data(as_text=True)


def test_page_needs_login(client, world):
    response = client.get("/stats/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_page_with_a_round_that_no_longer_exists_shows_all_rounds_with_a_note(client, world, login_as):
    login_as(world.leader)
    response = client.get("/stats/?round_id=99999")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "督察轮次 99999 不存在。已显示全部轮次。" in html
    assert world.r1.name in html and world.r2.name in html
