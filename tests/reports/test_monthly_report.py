"""The monthly summary report (page, Excel, API) and closures by month, against hand-counted fixtures.

The clock stands at 2020-07-15 10:00 Beijing; the default report month is 2020-06, whose
report was due 2020-06-18 (reminder day 06-15). Times below are UTC; Beijing is UTC+8.

round R1 (feedback 2020-05-01, newest)
  c1  lead A  closed          closed 05-31 16:00 UTC = 06-01 00:00 Beijing -> closed in June
  c2  lead A  closed          closed 05-31 15:59 UTC = 05-31 23:59 Beijing -> closed in May
  c3  lead B  closed          closed 06-30 15:59 UTC = 06-30 23:59 Beijing -> closed in June; title "=1+2"
  c4  lead B  closed          deadline 06-20, closed 06-30 16:00 UTC = 07-01 Beijing, never submitted
                              -> open at June's end: overdue 10 days
  o1  lead A  in_progress     deadline 06-29 -> overdue 1 day at 06-30 (16 days today)
  o2  lead A  in_progress     deadline 06-30 -> not overdue at 06-30 (15 days today); June report late
  o3  lead C  basically_done  deadline 04-30 -> overdue 61 days at 06-30; key_concern; 挂牌督办;
                              no June report
  s2  lead B  submitted       deadline 06-10, submitted 06-20 -> awaiting verification at 06-30;
                              no June report (it owed one: still open on the due day)
round R2 (feedback 2019-01-01)
  s1  lead B  submitted       deadline 06-10, submitted 07-02 -> open at June's end: overdue 20 days
  k1  lead C  in_progress     coop A, deadline 2020-12-31; June report on time; a May late report
  v1  lead B  verified        deadline 05-15, submitted 05-01 -> not overdue
  m1  lead B  in_progress     merged into o1, deadline 2020-01-01 -> never overdue, owes no report
  x1  lead B  closed          closed 2019-07-31 16:00 UTC = 2019-08-01 Beijing (first month of the 12)
  x2  lead B  closed          closed 2019-07-31 15:00 UTC = 2019-07-31 Beijing (before the 12 months)

June reports filed: o1, c3, c4, s1, k1 on time; o2 late (marked in report_lateness).
"""
from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from types import SimpleNamespace
from urllib.parse import quote

import openpyxl
import pytest
from flask import current_app

from tests.support.api import api_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues.models import Escalation, ReportLateness
from tracker.reports import monthly as mr

TODAY = date(2020, 7, 15)
JUNE = date(2020, 6, 1)


@pytest.fixture
def world(session):
    """The hand-counted fixture above, committed."""
    a = make_unit(code="A", name="甲局")
    b = make_unit(code="B", name="乙局")
    c = make_unit(code="C", name="丙镇")
    r1 = make_round(name="第一轮", feedback_date=date(2020, 5, 1))
    r2 = make_round(name="第二轮", feedback_date=date(2019, 1, 1))
    i = {}
    i["c1"] = make_issue(a, r1, code="C1", state="closed", closed_at=datetime(2020, 5, 31, 16, 0))
    i["c2"] = make_issue(a, r1, code="C2", state="closed", closed_at=datetime(2020, 5, 31, 15, 59))
    i["c3"] = make_issue(b, r1, code="C3", title="=1+2", state="closed", closed_at=datetime(2020, 6, 30, 15, 59))
    i["c4"] = make_issue(b, r1, code="C4", state="closed", deadline=date(2020, 6, 20),
                         closed_at=datetime(2020, 6, 30, 16, 0))
    i["o1"] = make_issue(a, r1, code="O1", deadline=date(2020, 6, 29))
    i["o2"] = make_issue(a, r1, code="O2", deadline=date(2020, 6, 30))
    i["o3"] = make_issue(c, r1, code="O3", state="basically_done", category="key_concern",
                         deadline=date(2020, 4, 30))
    i["s2"] = make_issue(b, r1, code="S2", state="submitted", deadline=date(2020, 6, 10),
                         submitted_at=datetime(2020, 6, 20, 2, 0))
    i["s1"] = make_issue(b, r2, code="S1", state="submitted", deadline=date(2020, 6, 10),
                         submitted_at=datetime(2020, 7, 2, 2, 0))
    i["k1"] = make_issue(c, r2, code="K1", cooperating=(a,))
    i["v1"] = make_issue(b, r2, code="V1", state="verified", deadline=date(2020, 5, 15),
                         submitted_at=datetime(2020, 5, 1))
    i["m1"] = make_issue(b, r2, code="M1", deadline=date(2020, 1, 1), merged_into_id=i["o1"].id)
    i["x1"] = make_issue(b, r2, code="X1", state="closed", closed_at=datetime(2019, 7, 31, 16, 0))
    i["x2"] = make_issue(b, r2, code="X2", state="closed", closed_at=datetime(2019, 7, 31, 15, 0))
    for key in ("o1", "c3", "c4", "s1", "k1"):
        make_report(i[key], period="2020-06")
    late = make_report(i["o2"], period="2020-06")
    session.add(ReportLateness(issue_id=i["o2"].id, period="2020-06", report_id=late.id,
                               due_on=date(2020, 6, 18), filed_at=datetime(2020, 6, 22, 2)))
    may = make_report(i["k1"], period="2020-05")
    session.add(ReportLateness(issue_id=i["k1"].id, period="2020-05", report_id=may.id,
                               due_on=date(2020, 5, 18), filed_at=datetime(2020, 5, 25, 2)))
    session.add(Escalation(issue_id=i["o3"].id, key="supervision_order+15", kind="supervision_order",
                           fired_on=date(2020, 5, 15)))
    users = {role: make_user(role, username=role) for role in ("supervisor", "approver", "leader", "admin")}
    staff_a = make_user("unit_staff", unit=a, username="staff_a")
    head_c = make_user("unit_head", unit=c, username="head_c")
    session.flush()
    # By 15 July the monthly cycle has marked May's and June's reports that never came (未按时报送).
    from tracker.escalation.monthly import mark_late
    from tracker.escalation.settings import get_settings

    for period in ("2020-05", "2020-06"):
        mark_late(session, period, get_settings(session))
    session.commit()
    return SimpleNamespace(a=a, b=b, c=c, r1=r1, r2=r2, i=i, staff_a=staff_a, head_c=head_c, **users)


def report(user, start=JUNE, limit=mr.LIST_LIMIT):
    return mr.monthly_report(db.session, user, start, TODAY, current_app.config, limit)


# --- months ------------------------------------------------------------------

def test_parse_month_defaults_to_last_month():
    assert mr.parse_month(None, TODAY) == JUNE
    assert mr.parse_month("  ", date(2021, 1, 3)) == date(2020, 12, 1)
    assert mr.parse_month("2020-07", TODAY) == date(2020, 7, 1)
    assert mr.parse_month("2019-12", TODAY) == date(2019, 12, 1)


@pytest.mark.parametrize("raw,fragment", [
    ("abc", "格式不正确"), ("2020-13", "格式不正确"), ("2020-00", "格式不正确"), ("2020-6", "格式不正确"),
    ("2020-06-01", "格式不正确"), ("2020-08", "尚未开始"), ("1999-12", "太早"),
])
def test_parse_month_refuses_bad_months(raw, fragment):
    with pytest.raises(Refusal) as err:
        mr.parse_month(raw, TODAY)
    assert err.value.kind == "bad_request" and err.value.status == 400
    assert fragment in err.value.message


# --- the report --------------------------------------------------------------

def test_june_figures_match_the_hand_count(world):
    rep = report(world.supervisor)
    assert (rep.month, rep.end, rep.as_of, rep.current) == ("2020-06", date(2020, 6, 30), date(2020, 6, 30), False)
    r1, r2 = rep.rounds
    assert r1.as_json() == {
        "round": {"id": world.r1.id, "name": "第一轮"}, "total": 8,
        "by_category": {"feedback": 7, "key_concern": 1},
        "by_state": {"in_progress": 2, "basically_done": 1, "submitted": 1, "verified": 0, "closed": 4},
        "closed": 4, "closed_in_month": 2, "basically_done": 1, "in_progress": 2, "overdue": 3, "supervised": 1,
        "completion_rate": 50.0,
        "summary": "共涉及问题8个(重点关注问题1个、反馈问题7个)。目前,已完成整改4个,剩余4个正在积极推进中。",
    }
    assert (r2.total, r2.closed, r2.closed_in_month, r2.in_progress, r2.overdue, r2.supervised) == (6, 2, 0, 2, 1, 0)
    total = rep.total.as_json()
    assert "round" not in total
    assert (total["total"], total["closed"], total["closed_in_month"], total["overdue"], total["supervised"],
            total["completion_rate"]) == (14, 6, 2, 4, 1, 42.9)
    assert total["by_state"] == {"in_progress": 4, "basically_done": 1, "submitted": 2, "verified": 1, "closed": 6}
    assert total["summary"] == ("共涉及问题14个(重点关注问题1个、反馈问题13个)。"
                                "目前,已完成整改6个,剩余8个正在积极推进中。")


def test_june_lists_match_the_hand_count(world):
    rep = report(world.leader)
    # Beijing midnight decides: c1 (00:00 on 06-01) and c3 (23:59 on 06-30) are in, c2 and c4 are out.
    assert [(r.code, r.lead_unit, r.closed_on) for r in rep.closed] == [
        ("C1", "甲局", date(2020, 6, 1)), ("C3", "乙局", date(2020, 6, 30))]
    # Overdue at June's end, most days first; s2 was awaiting verification, o2 was due that very day.
    assert [(r.code, r.lead_unit, r.deadline, r.days_overdue) for r in rep.overdue] == [
        ("O3", "丙镇", date(2020, 4, 30), 61), ("S1", "乙局", date(2020, 6, 10), 20),
        ("C4", "乙局", date(2020, 6, 20), 10), ("O1", "甲局", date(2020, 6, 29), 1)]
    assert rep.reports_due == date(2020, 6, 18) and rep.reports_checked
    # A: o2 late; B: s2 missing; C: o3 missing (k1 filed; its May lateness is another month).
    assert [(u.code, u.late, u.missing) for u in rep.reporting] == [("A", 1, 0), ("B", 0, 1), ("C", 0, 1)]


def test_current_month_is_as_of_today(world):
    rep = report(world.admin, date(2020, 7, 1))
    assert rep.current and rep.as_of == TODAY and rep.following is None and rep.previous == "2020-06"
    assert [r.code for r in rep.closed] == ["C4"]
    # Today s1 awaits verification again, so o1, o2 and o3 are overdue: the home page's count.
    assert [(r.code, r.days_overdue) for r in rep.overdue] == [("O3", 76), ("O1", 16), ("O2", 15)]
    assert rep.total.overdue == 3
    # July's reports are due on the 18th: nothing is missing yet, and none came late.
    assert not rep.reports_checked and rep.reporting == []


def test_may_report(world):
    rep = report(world.admin, date(2020, 5, 1))
    assert [r.code for r in rep.closed] == ["C2"]
    # At May's end: o3 (31 days); c4, s1, s2 not yet due; v1 submitted 05-01.
    assert [(r.code, r.days_overdue) for r in rep.overdue] == [("O3", 31)]
    # Missing May reports of the issues open on 05-18: A c1 c2 o1 o2, B c3 c4 s1 s2, C o3; k1 came late.
    assert [(u.code, u.late, u.missing) for u in rep.reporting] == [("A", 0, 4), ("B", 0, 4), ("C", 1, 1)]


def test_lists_are_bounded_but_counted(world):
    rep = report(world.supervisor, limit=2)
    assert len(rep.overdue) == 2 and rep.total.overdue == 4
    assert [r.code for r in rep.overdue] == ["O3", "S1"]
    body = rep.as_json()
    assert body["overdue"]["count"] == 4 and body["overdue"]["limit"] == 2


def test_unit_user_sees_only_its_scope(world):
    rep = report(world.head_c)  # C leads o3 and k1
    assert [(r.round.name, r.total) for r in rep.rounds] == [("第一轮", 1), ("第二轮", 1)]
    assert rep.closed == []
    assert [r.code for r in rep.overdue] == ["O3"]
    assert [(u.code, u.late, u.missing) for u in rep.reporting] == [("C", 0, 1)]
    rep = report(world.staff_a)  # A leads c1 c2 o1 o2, cooperates on k1
    assert [(r.round.name, r.total, r.closed_in_month) for r in rep.rounds] == [("第一轮", 4, 1), ("第二轮", 1, 0)]
    assert [r.code for r in rep.closed] == ["C1"]
    assert [r.code for r in rep.overdue] == ["O1"]
    assert [(u.code, u.late, u.missing) for u in rep.reporting] == [("A", 1, 0)]
    nobody = make_user("unit_staff")
    db.session.commit()
    empty = report(nobody)
    assert (empty.rounds, empty.closed, empty.overdue, empty.reporting, empty.total.total) == ([], [], [], [], 0)
    assert empty.total.sentence() == "暂无问题。"


def test_query_count_is_constant(world, session):
    def count(user) -> int:
        assert user.role  # load the user outside the count
        with count_queries() as statements:
            rep = report(user)
        return len(statements), rep

    few, _ = count(world.supervisor)
    for k in range(24):
        unit = make_unit()
        rnd = make_round() if k % 3 else world.r1
        make_issue(unit, rnd, deadline=date(2020, 6, 1 + k))
        make_issue(unit, rnd, state="closed", closed_at=datetime(2020, 6, 1 + k, 3))
    from tracker.escalation.monthly import mark_late
    from tracker.escalation.settings import get_settings

    mark_late(session, "2020-06", get_settings(session))  # as the monthly cycle does after the 18th
    session.commit()
    many, rep = count(world.supervisor)
    assert len(rep.rounds) > 10 and len(rep.overdue) > 20 and len(rep.reporting) > 20
    assert few == many == 9  # with where the rounds' issues wait in their approval chains (one query)

    with count_queries() as statements:
        mr.write_xlsx(db.session, world.supervisor, JUNE, TODAY, current_app.config, io.BytesIO())
    assert len(statements) == 9  # the report without lists (7) and the two lists, streamed


# --- the page ----------------------------------------------------------------

@pytest.mark.parametrize("who", ["supervisor", "approver", "leader", "admin", "staff_a", "head_c"])
def test_page_renders_for_each_role(client, world, login_as, who):
    login_as(getattr(world, who))
    response = client.get("/stats/monthly")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2020年6月整改进展情况" in html
    assert 'href="/static/monthly.css"' in html and 'src="/static/print.js"' in html
    assert "data-print" in html and "打印" in html
    assert 'href="/stats/monthly.xlsx?month=2020-06"' in html
    # CSP script-src 'self': no inline script.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    if who == "head_c":
        assert ">O3</a>" in html and ">O1</a>" not in html and "甲局" not in html.split('id="monthly-report"')[1]
    elif who == "staff_a":
        assert ">O1</a>" in html and ">O3</a>" not in html and "共涉及问题5个" in html
    else:
        assert "共涉及问题14个(重点关注问题1个、反馈问题13个)。目前,已完成整改6个,剩余8个正在积极推进中。" in html


def test_page_content(client, world, login_as):
    login_as(world.supervisor)
    html = client.get("/stats/monthly?month=2020-06").get_data(as_text=True)
    overdue = html.split('id="overdue-table"')[1].split("</table>")[0]
    assert re.findall(r">(O3|S1|C4|O1)</a>", overdue) == ["O3", "S1", "C4", "O1"]
    assert "<td>2020-04-30</td>" in overdue and ">61</td>" in overdue
    closed = html.split('id="closed-table"')[1].split("</table>")[0]
    assert re.findall(r">(C\d)</a>", closed) == ["C1", "C3"] and "2020-06-30" in closed
    assert "二、本月销号问题(2 个)" in html and "三、逾期问题(4 个,截至 2020-06-30)" in html
    reporting = html.split('id="reporting-table"')[1].split("</table>")[0]
    assert "甲局" in reporting and "乙局" in reporting and "丙镇" in reporting
    summary = html.split('id="summary-table"')[1].split("</table>")[0]
    assert "合计" in summary and ">42.9%</td>" in summary
    assert 'href="/stats/monthly?month=2020-07"' in html and 'href="/stats/monthly?month=2020-05"' in html


@pytest.mark.parametrize("arg,fragment", [("2020-13", "格式不正确"), ("x", "格式不正确"), ("2020-08", "尚未开始")])
def test_page_refuses_bad_month(client, world, login_as, arg, fragment):
    login_as(world.leader)
    for path in ("/stats/monthly", "/stats/monthly.xlsx"):
        response = client.get(f"{path}?month={arg}")
        assert response.status_code == 400
        assert fragment in response.get_data(as_text=True)


def test_page_needs_login(client, world):
    for path in ("/stats/monthly", "/stats/monthly.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_statistics_page_links_to_the_report(client, world, login_as):
    login_as(world.leader)
    html = client.get("/stats/").get_data(as_text=True)
    assert 'href="/stats/monthly"' in html


# --- Excel -------------------------------------------------------------------

def test_excel_workbook(client, world, login_as):
    login_as(world.supervisor)
    response = client.get("/stats/monthly.xlsx?month=2020-06")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="monthly-report-2020-06.xlsx"' in disposition  # the ASCII fallback
    assert f"filename*=UTF-8''{quote('月度整改进展情况-2020-06.xlsx')}" in disposition
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert wb.sheetnames == ["汇总", "本月销号", "逾期问题", "报送情况"]

    rows = [list(r) for r in wb["汇总"].iter_rows(values_only=True)]
    assert rows[0][0] == "2020年6月整改进展情况"
    header = rows.index(list(mr.SUMMARY_COLUMNS))
    assert rows[header + 1][:11] == ["第一轮", 8, 2, 1, 1, 0, 4, 2, 3, 1, 50]
    assert rows[header + 2][:11] == ["第二轮", 6, 2, 0, 1, 1, 2, 0, 1, 0, 33.3]
    assert rows[header + 3][:11] == ["合计", 14, 4, 1, 2, 1, 6, 2, 4, 1, 42.9]
    assert any(r[0] and str(r[0]).startswith("总体:共涉及问题14个") for r in rows)

    ws = wb["本月销号"]
    assert [c.value for c in ws[1]] == list(mr.CLOSED_COLUMNS)
    assert [c.value for c in ws[2]][:4] == [1, "C1", world.i["c1"].title, "甲局"]
    assert ws["E2"].value == datetime(2020, 6, 1) and ws["E2"].number_format == "yyyy-mm-dd"
    # c3's title "=1+2" stays text: never a formula.
    assert ws["C3"].value == "=1+2" and ws["C3"].data_type == "s" and ws["C3"].quotePrefix
    assert ws.max_row == 3

    ws = wb["逾期问题"]
    assert [c.value for c in ws[1]] == list(mr.OVERDUE_COLUMNS)
    assert [(r[1], r[3], r[5]) for r in ws.iter_rows(min_row=2, values_only=True)] == [
        ("O3", "丙镇", 61), ("S1", "乙局", 20), ("C4", "乙局", 10), ("O1", "甲局", 1)]
    assert ws["E2"].value == datetime(2020, 4, 30)

    ws = wb["报送情况"]
    assert "2020-06-18" in ws["A1"].value
    assert [c.value for c in ws[2]] == list(mr.REPORTING_COLUMNS)
    assert [r for r in ws.iter_rows(min_row=3, values_only=True)] == [
        (1, "甲局", 1, 0), (2, "乙局", 0, 1), (3, "丙镇", 0, 1)]


def test_excel_lists_everything_in_scope(client, world, login_as, session):
    for _ in range(mr.LIST_LIMIT + 5):  # more than the page lists
        make_issue(world.c, world.r2, deadline=date(2020, 6, 1))
    session.commit()
    login_as(world.head_c)
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/stats/monthly.xlsx").get_data()))
    codes = [r[1] for r in wb["逾期问题"].iter_rows(min_row=2, values_only=True)]
    assert len(codes) == mr.LIST_LIMIT + 6 and codes[0] == "O3"
    assert "O1" not in codes and "S1" not in codes
    html = client.get("/stats/monthly").get_data(as_text=True)
    assert f"仅列出逾期最久的 {mr.LIST_LIMIT} 个" in html


# --- API ---------------------------------------------------------------------

def test_api_monthly_report(client, world):
    api = api_for(client, world.leader)
    body = api.get("/reports/monthly").get_json()
    assert body["month"] == "2020-06" and body["as_of"] == "2020-06-30" and body["today"] == "2020-07-15"
    assert [r["round"]["name"] for r in body["rounds"]] == ["第一轮", "第二轮"]
    assert body["total"]["closed_in_month"] == 2 and body["total"]["overdue"] == 4
    assert body["closed_in_month"]["count"] == 2
    assert [i["code"] for i in body["closed_in_month"]["items"]] == ["C1", "C3"]
    assert body["closed_in_month"]["items"][0]["closed_on"] == "2020-06-01"
    assert body["overdue"]["items"][0] == {"issue_id": world.i["o3"].id, "code": "O3",
                                           "title": world.i["o3"].title, "lead_unit": "丙镇",
                                           "deadline": "2020-04-30", "days_overdue": 61}
    assert body["reports"] == {"due_on": "2020-06-18", "checked": True, "units": [
        {"unit": {"id": world.a.id, "code": "A", "name": "甲局"}, "late": 1, "missing": 0},
        {"unit": {"id": world.b.id, "code": "B", "name": "乙局"}, "late": 0, "missing": 1},
        {"unit": {"id": world.c.id, "code": "C", "name": "丙镇"}, "late": 0, "missing": 1}]}
    body = api_for(client, world.staff_a).get("/reports/monthly?month=2020-07").get_json()
    assert [i["code"] for i in body["overdue"]["items"]] == ["O1", "O2"]
    assert body["reports"]["checked"] is False


@pytest.mark.parametrize("arg", ["2020-13", "June", "2021-01"])
def test_api_monthly_report_refuses_bad_month(client, world, arg):
    response = api_for(client, world.leader).get(f"/reports/monthly?month={arg}")
    assert response.status_code == 400
    assert "月份" in response.get_json()["error"]


def test_api_monthly_report_needs_a_token(client, world):
    assert client.get("/api/v1/reports/monthly").status_code == 401


def test_openapi_describes_the_report(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/reports/monthly" in doc["paths"]
    assert "closures_by_month" in doc["paths"]["/stats"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]


# --- closures by month -------------------------------------------------------

EXPECTED_CLOSURES = [("2019-08", 1)] + [(f"2019-{m:02d}", 0) for m in range(9, 13)] + \
    [("2020-01", 0), ("2020-02", 0), ("2020-03", 0), ("2020-04", 0), ("2020-05", 1), ("2020-06", 2), ("2020-07", 1)]


def test_closures_by_month(world):
    got = mr.closures_by_month(db.session, world.admin, TODAY, current_app.config)
    assert [(c.month, c.closed) for c in got] == EXPECTED_CLOSURES
    r1 = mr.closures_by_month(db.session, world.admin, TODAY, current_app.config, world.r1.id)
    assert {c.month: c.closed for c in r1 if c.closed} == {"2020-05": 1, "2020-06": 2, "2020-07": 1}
    mine = mr.closures_by_month(db.session, world.staff_a, TODAY, current_app.config)
    assert {c.month: c.closed for c in mine if c.closed} == {"2020-05": 1, "2020-06": 1}
    assert len(mr.closures_by_month(db.session, world.head_c, TODAY, current_app.config)) == 12


def test_closures_by_month_query_count(world):
    assert world.admin.role
    with count_queries() as statements:
        mr.closures_by_month(db.session, world.admin, TODAY, current_app.config)
    assert len(statements) == 1 and "GROUP BY" in statements[0].upper()


def test_closures_in_stats_api_and_page(client, world, login_as):
    body = api_for(client, world.supervisor).get("/stats").get_json()
    assert [(c["month"], c["closed"]) for c in body["closures_by_month"]] == EXPECTED_CLOSURES
    assert {"rounds", "units"} <= set(body)
    login_as(world.supervisor)
    html = client.get("/stats/").get_data(as_text=True)
    assert 'id="closure-table"' in html and 'id="chart-closures"' in html
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)[1])
    assert [(c["month"], c["closed"]) for c in data["closures"]] == EXPECTED_CLOSURES


@pytest.mark.parametrize("who", ["supervisor", "approver", "leader", "admin"])
def test_home_charts_for_users_who_see_many_units(client, world, login_as, who):
    login_as(getattr(world, who))
    html = client.get("/").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)[1])
    assert [(c["month"], c["closed"]) for c in data["closures"]] == EXPECTED_CLOSURES
    assert data["rounds"][0] == {"name": "第一轮", "by_state": [2, 1, 1, 0, 4]}
    assert 'id="chart-states"' in html and 'id="closure-table"' in html and "echarts.min.js" in html


def test_home_has_no_charts_for_unit_users(client, world, login_as):
    login_as(world.staff_a)
    html = client.get("/").get_data(as_text=True)
    assert 'id="chart-data"' not in html and "echarts.min.js" not in html and 'id="closure-table"' not in html
