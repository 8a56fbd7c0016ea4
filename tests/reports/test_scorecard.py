"""The unit scorecard (单位考评): rules, scores and ranks against a hand-counted fixture.

The clock stands at 2020-07-15 (Beijing). Default rules: base 100; overdue 2, late report 1,
supervision order 5, interview 0. The fixture, unit by unit:

  A  a1 R1 in progress, due 2020-07-01 (overdue), supervision order, late reports 2020-05 and 2020-06
     a2 R1 in progress, due 2020-06-01 (overdue)
     a3 R1 closed on time
     -> overdue 2, late 2, orders 1, interviews 0: 100 - 4 - 2 - 5 = 89
  B  b1 R2 in progress, due 2020-03-01 (overdue), supervision order + interview
     b2 R1 in progress, due 2020-12-31, late report 2020-06; C cooperates
     -> overdue 1, late 1, orders 1, interviews 1: 100 - 2 - 1 - 5 - 0 = 92   (round R1 only: 99)
  C  c1..c3 R1 in progress, due 2020-07-10 (overdue); c1 supervision order
     -> overdue 3, orders 1: 100 - 6 - 5 = 89
  E  e1 R1 closed: 100
  F  leads nothing: not scored

Ranked: E 100 (1), B 92 (2), A 89 (3), C 89 (3, after A by code).
Unit users see their own unit's line only, unranked: their scope holds other units' issues
only where they cooperate, which would score those units on a fraction of their issues.
"""
from __future__ import annotations

import io
import json
import logging
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from tests.support.api import api_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tests.support.web import csrf_token
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.models import JobSetting
from tracker.issues.models import Escalation, ReportLateness
from tracker.reports import scorecard

TODAY = date(2020, 7, 15)


def escalate(issue, kind: str, offset: int) -> None:
    db.session.add(Escalation(issue_id=issue.id, key=f"{kind}{offset:+d}", kind=kind, fired_on=date(2020, 7, 1)))
    db.session.flush()


def late(issue, period: str) -> None:
    report = make_report(issue, period=period)
    db.session.add(ReportLateness(issue_id=issue.id, period=period, report_id=report.id,
                                  due_on=date(int(period[:4]), int(period[5:]), 18), filed_at=datetime(2020, 7, 1)))
    db.session.flush()


@pytest.fixture
def world(session, clock):
    """The hand-counted fixture above, committed."""
    a, b, c = make_unit(code="A", name="甲局"), make_unit(code="B", name="乙局"), make_unit(code="C", name="丙镇")
    e, f = make_unit(code="E", name="戊局"), make_unit(code="F", name="己局")
    r1 = make_round(name="第一轮", feedback_date=date(2020, 5, 1))
    r2 = make_round(name="第二轮", feedback_date=date(2019, 1, 1))
    a1 = make_issue(lead_unit=a, round=r1, deadline=date(2020, 7, 1))
    escalate(a1, "supervision_order", 15)
    late(a1, "2020-05")
    late(a1, "2020-06")
    make_issue(lead_unit=a, round=r1, deadline=date(2020, 6, 1))
    make_issue(lead_unit=a, round=r1, state="closed", deadline=date(2020, 6, 30),
               closed_at=datetime(2020, 6, 20, 2), progress_percent=100)
    b1 = make_issue(lead_unit=b, round=r2, deadline=date(2020, 3, 1))
    escalate(b1, "supervision_order", 15)
    escalate(b1, "interview", 30)
    b2 = make_issue(lead_unit=b, round=r1, cooperating=(c,))
    late(b2, "2020-06")
    for n in range(3):
        issue = make_issue(lead_unit=c, round=r1, deadline=date(2020, 7, 10))
        if n == 0:
            escalate(issue, "supervision_order", 15)
    make_issue(lead_unit=e, round=r1, state="closed", closed_at=datetime(2020, 6, 1, 2), progress_percent=100)
    users = {role: make_user(role) for role in ("supervisor", "approver", "leader", "admin")}
    staff_c = make_user("unit_staff", unit=c)
    head_f = make_user("unit_head", unit=f)
    session.commit()
    return SimpleNamespace(a=a, b=b, c=c, e=e, f=f, r1=r1, r2=r2, staff_c=staff_c, head_f=head_f, **users)


def card(user, round_id=None) -> scorecard.Scorecard:
    return scorecard.scorecard(db.session, user, TODAY, current_app.config, round_id)


def lines(result: scorecard.Scorecard) -> list[tuple]:
    return [(u.rank, u.figures.code, str(scorecard.format_number(u.score))) for u in result.units]


def stored_rules() -> list[str]:
    return [row.value for row in db.session.scalars(select(JobSetting).where(JobSetting.key == "scorecard"))]


# --- the service -------------------------------------------------------------

def test_scores_and_ranks_match_the_hand_count(world):
    result = card(world.supervisor)
    assert result.rules == scorecard.DEFAULTS and result.ranked
    assert lines(result) == [(1, "E", "100"), (2, "B", "92"), (3, "A", "89"), (3, "C", "89")]
    got = {u.figures.code: (u.figures.assigned, u.figures.closed, u.figures.closed_on_time, u.figures.overdue,
                            u.figures.late_reports, u.figures.supervision_orders, u.figures.interviews)
           for u in result.units}
    assert got == {"A": (3, 1, 1, 2, 2, 1, 0), "B": (2, 0, 0, 1, 1, 1, 1), "C": (3, 0, 0, 3, 0, 1, 0),
                   "E": (1, 1, 1, 0, 0, 0, 0)}
    a = next(u for u in result.units if u.figures.code == "A")
    assert a.deductions == {"overdue": 4, "late_report": 2, "supervision_order": 5, "interview": 0}
    assert a.total_deduction == 11


def test_ties_share_a_rank_and_the_next_rank_skips():
    def line(code, score):
        figures = scorecard.UnitFigures(unit_id=0, code=code, name=code)
        return scorecard.UnitScore(figures, {}, Decimal(score))

    ranked = scorecard.rank([line("B", 90), line("A", 95), line("D", 90), line("C", 90), line("E", 80)])
    assert [(u.rank, u.figures.code) for u in ranked] == [(1, "A"), (2, "B"), (2, "C"), (2, "D"), (5, "E")]


def test_one_round_only(world):
    assert lines(card(world.leader, world.r1.id)) == [(1, "E", "100"), (2, "B", "99"), (3, "A", "89"),
                                                     (3, "C", "89")]
    assert lines(card(world.leader, world.r2.id)) == [(1, "B", "93")]  # b2's late report is in R1


def test_changed_rules_change_the_scores_and_the_score_stops_at_zero(world, session):
    admin = world.admin
    saved = scorecard.save_rules(session, admin, {"overdue": "2.5", "interview": 10}, now=datetime(2020, 7, 15))
    session.commit()
    assert scorecard.get_rules(session) == saved
    assert saved.as_data() == {"base": 100, "overdue": 2.5, "late_report": 1, "supervision_order": 5,
                               "interview": 10}
    # E 100; A 100-5-2-5 = 88; C 100-7.5-5 = 87.5; B 100-2.5-1-5-10 = 81.5
    assert lines(card(world.supervisor)) == [(1, "E", "100"), (2, "A", "88"), (3, "C", "87.5"), (4, "B", "81.5")]
    scorecard.save_rules(session, admin, {"base": "60", "overdue": "30"})
    session.commit()
    # A 60-60-2-5 < 0 -> 0; C 60-90-5 < 0 -> 0 (a tie at the floor); B 60-30-1-5-10 = 14
    assert lines(card(world.supervisor)) == [(1, "E", "60"), (2, "B", "14"), (3, "A", "0"), (3, "C", "0")]


def test_rules_sentence_names_each_deduction():
    assert scorecard.DEFAULTS.sentence() == ("基础分 100 分;每个逾期问题扣 2 分、每次未按时报送扣 1 分、"
                                             "每个挂牌督办问题扣 5 分;约谈/通报不扣分;扣完为止(最低 0 分)。")


@pytest.mark.parametrize("data, field", [
    ({"overdue": "-1"}, "overdue"),
    ({"overdue": "1.25"}, "overdue"),
    ({"late_report": "abc"}, "late_report"),
    ({"supervision_order": "100.5"}, "supervision_order"),
    ({"base": 101}, "base"),
    ({"interview": True}, "interview"),
    ({"interview": float("nan")}, "interview"),
    ({"interview": ""}, "interview"),
    ({"overdue": 1, "bogus": 2}, "bogus"),
])
def test_invalid_rules_are_refused_and_nothing_is_stored(world, session, data, field):
    with pytest.raises(Refusal) as err:
        scorecard.save_rules(session, world.admin, data)
    assert err.value.kind == "invalid" and err.value.field == field
    session.rollback()
    assert stored_rules() == [] and scorecard.get_rules(session) == scorecard.DEFAULTS


def test_only_admins_change_the_rules(world, session):
    for who in (world.supervisor, world.leader, world.staff_c):
        with pytest.raises(Refusal) as err:
            scorecard.save_rules(session, who, {"overdue": 3})
        assert err.value.kind == "forbidden"
        session.rollback()
    assert stored_rules() == []


@pytest.mark.parametrize("stored", ["{broken", "[1, 2]", '{"overdue": -3, "base": "x", "late_report": 4}'])
def test_an_unreadable_stored_value_falls_back_to_the_defaults(world, session, caplog, stored):
    session.add(JobSetting(key="scorecard", value=stored))
    session.commit()
    with caplog.at_level(logging.WARNING, logger="tracker.services.scorecard"):
        rules = scorecard.get_rules(session)
    expected = scorecard.Rules(late_report=Decimal(4)) if "late_report" in stored else scorecard.DEFAULTS
    assert rules == expected
    assert "scorecard setting" in caplog.text


def test_a_unit_user_sees_its_own_unit_only_unranked(world):
    # C cooperates on b2 (led by B) but is not shown B's line, nor a rank among units it cannot see.
    result = card(world.staff_c)
    assert not result.ranked
    assert lines(result) == [(None, "C", "89")]
    assert card(world.head_f).units == []  # F leads nothing
    nobody = make_user("unit_staff")
    db.session.commit()
    assert card(nobody).units == []


def test_query_count_is_constant(world, session):
    assert world.supervisor.role  # load the user (expired by the fixture's commit) outside the count
    with count_queries() as few:
        card(world.supervisor)
    scorecard.save_rules(session, world.admin, {"interview": 3})
    for i in range(20):
        unit = make_unit()
        issue = make_issue(lead_unit=unit, round=make_round() if i % 3 else world.r1, deadline=date(2020, 1, 1))
        escalate(issue, "supervision_order", 15)
        escalate(issue, "interview", 30)
        late(issue, "2020-06")
    session.commit()
    assert world.supervisor.role
    with count_queries() as many:
        result = card(world.supervisor)
    assert len(result.units) == 24 and result.rules.interview == 3
    assert len(many) == len(few) == 3  # the rules, the units' figures, their late reports


# --- the admin page ----------------------------------------------------------

def test_admin_edits_the_rules(world, client, login_as):
    login_as(world.admin)
    page = client.get("/admin/scorecard").get_data(as_text=True)
    assert "单位考评扣分规则" in page and 'name="supervision_order"' in page and 'value="5"' in page
    response = client.post("/admin/scorecard", data={"base": "100", "overdue": "3", "late_report": "1",
                                                      "supervision_order": "5", "interview": "0.5"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存单位考评扣分规则" in page and 'value="0.5"' in page
    assert json.loads(stored_rules()[0]) == {"base": 100, "overdue": 3, "late_report": 1, "supervision_order": 5,
                                             "interview": 0.5}
    page = client.get("/stats/scorecard").get_data(as_text=True)
    assert "每个逾期问题扣 3 分" in page and "每个约谈/通报问题扣 0.5 分" in page


def test_admin_form_shows_a_refusal_by_its_field_and_stores_nothing(world, client, login_as):
    login_as(world.admin)
    response = client.post("/admin/scorecard", data={"base": "100", "overdue": "1.25", "late_report": "1",
                                                      "supervision_order": "5", "interview": "0"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "每个逾期问题扣分必须是 0 到 100 之间的数,最多一位小数。" in page and "is-invalid" in page
    assert 'value="1.25"' in page  # what was typed stays in the form
    assert stored_rules() == []


@pytest.mark.parametrize("who", ["supervisor", "leader", "staff_c"])
def test_non_admins_are_refused_the_rules_page(world, client, login_as, who):
    login_as(getattr(world, who))
    assert client.get("/admin/scorecard").status_code == 403
    response = client.post("/admin/scorecard", data={"overdue": "9"})
    assert response.status_code == 403
    assert "只有系统管理员可以修改单位考评扣分规则" in response.get_data(as_text=True)
    assert stored_rules() == []


def test_rules_post_needs_the_csrf_token(world, app, client, login_as):
    login_as(world.admin)
    data = {"base": "100", "overdue": "4", "late_report": "1", "supervision_order": "5", "interview": "0"}
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/admin/scorecard", data=data).status_code == 400
        assert stored_rules() == []
        token = csrf_token(client.get("/admin/scorecard").get_data(as_text=True))
        assert client.post("/admin/scorecard", data={**data, "csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert scorecard.get_rules(db.session).overdue == 4


# --- the page and the workbook -----------------------------------------------

def test_page_shows_the_ranked_table_rules_and_chart(world, client, login_as):
    login_as(world.leader)
    page = client.get("/stats/scorecard").get_data(as_text=True)
    assert "基础分 100 分;每个逾期问题扣 2 分" in page
    rows = page.split('id="scorecard-table"')[1].split("</table>")[0].split("<tr>")[2:]
    assert [("戊局" in r, "乙局" in r, "甲局" in r, "丙镇" in r) for r in rows] == [
        (True, False, False, False), (False, True, False, False), (False, False, True, False),
        (False, False, False, True)]
    assert ">92</td>" in rows[1] and ">−5</td>" in rows[1]
    data = json.loads(page.split('id="chart-data">')[1].split("</script>")[0])
    assert data["scores"] == [{"name": "戊局", "score": 100.0}, {"name": "乙局", "score": 92.0},
                              {"name": "甲局", "score": 89.0}, {"name": "丙镇", "score": 89.0}]
    assert 'href="/stats/"' in page and "/admin/scorecard" not in page  # no edit link but for admins
    index = client.get("/stats/").get_data(as_text=True)
    assert 'id="scorecard-link"' in index and "/stats/scorecard" in index


def test_page_for_a_round_and_for_a_unit_user(world, client, login_as):
    login_as(world.admin)
    page = client.get(f"/stats/scorecard?round_id={world.r1.id}").get_data(as_text=True)
    assert ">99</td>" in page and 'href="/admin/scorecard"' in page
    assert client.get("/stats/scorecard?round_id=abc").status_code == 400
    client.post("/logout")
    login_as(world.staff_c)
    page = client.get("/stats/scorecard").get_data(as_text=True)
    assert "丙镇" in page and "乙局" not in page and "不显示排名" in page


def test_page_without_issues(world, client, login_as):
    login_as(world.head_f)
    page = client.get("/stats/scorecard").get_data(as_text=True)
    assert "暂无问题" in page and 'id="chart-data"' not in page


def test_workbook_has_chinese_headers_and_the_ranked_lines(world, client, login_as, session):
    world.c.name = "=HYPERLINK(\"x\")"
    session.commit()
    login_as(world.supervisor)
    response = client.get("/stats/scorecard.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("单位考评")
    assert "基础分 100 分" in rows[1][0]
    assert rows[3] == scorecard.COLUMNS
    assert [(r[0], r[1], r[-1]) for r in rows[4:]] == [(1, "E", 100), (2, "B", 92), (3, "A", 89), (3, "C", 89)]
    assert rows[7][2] == "=HYPERLINK(\"x\")" and ws.cell(8, 3).data_type == "s"  # text, not a formula


# --- API ---------------------------------------------------------------------

def test_api_scorecard(client, world):
    body = api_for(client, world.supervisor).get("/stats/scorecard").get_json()
    assert body["rules"] == {"base": 100, "overdue": 2, "late_report": 1, "supervision_order": 5, "interview": 0}
    assert body["ranked"] is True and body["rules_text"].startswith("基础分 100 分")
    assert [(u["rank"], u["unit"]["code"], u["score"]) for u in body["units"]] == [
        (1, "E", 100), (2, "B", 92), (3, "A", 89), (3, "C", 89)]
    assert body["units"][1] == {
        "rank": 2, "unit": {"id": world.b.id, "code": "B", "name": "乙局"}, "assigned": 2, "closed": 0,
        "closed_on_time": 0, "overdue": 1, "late_reports": 1, "supervision_orders": 1, "interviews": 1,
        "deductions": {"overdue": 2, "late_report": 1, "supervision_order": 5, "interview": 0}, "score": 92}
    body = api_for(client, world.staff_c).get(f"/stats/scorecard?round_id={world.r1.id}").get_json()
    assert body["ranked"] is False
    assert [(u["rank"], u["unit"]["code"], u["score"]) for u in body["units"]] == [(None, "C", 89)]


def test_api_scorecard_refuses_a_bad_round_and_needs_a_token(client, world):
    response = api_for(client, world.leader).get("/stats/scorecard?round_id=99999")
    assert response.status_code == 400 and "不存在" in response.get_json()["error"]
    assert client.get("/api/v1/stats/scorecard").status_code == 401
