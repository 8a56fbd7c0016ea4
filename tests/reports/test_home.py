"""The home page: my to-do per role and the per-round totals, against hand-counted fixtures.

The clock stands at 2020-07-15 (Beijing). The fixture, issue by issue:

round R1 (feedback 2016-11-30)
  i1  lead A            in_progress  deadline 2020-07-01  progress 0   -> overdue 14 days (red)
  i2  lead A            in_progress  deadline 2020-07-20  progress 90  -> due in 5 days (yellow)
  i3  lead B, coop A    in_progress  deadline 2020-12-31  progress 0   -> lagging (yellow), key_concern
  i4  lead A            closed       deadline 2020-03-01               -> no light
  i5  lead B            submitted    deadline 2020-06-01               -> awaits verification, not overdue
  i6  lead C            in_progress  deadline 2020-05-01  progress 100 -> overdue 75 days
round R2 (feedback 2019-06-01)
  i7  lead C            verified     deadline 2021-06-30               -> awaits closure
  i8  lead B            in_progress  deadline 2020-06-30  progress 100 -> overdue 15 days
  i9  lead A            in_progress  deadline 2021-12-31  progress 60  -> green
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from flask import current_app

from tests.support.factories import make_issue, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.core.extensions import db
from tracker.reports import dashboard
from tracker.units.models import Unit

TODAY = date(2020, 7, 15)


@pytest.fixture
def world(session):
    """The hand-counted fixture above, committed; returns a namespace of its objects."""
    a = make_unit(code="A", name="甲局")
    b = make_unit(code="B", name="乙局")
    c = make_unit(code="C", name="丙镇")
    r1 = make_round(name="第一轮中央督察", feedback_date=date(2016, 11, 30))
    r2 = make_round(name="省级督察", level="provincial", feedback_date=date(2019, 6, 1))
    i = {}
    i[1] = make_issue(a, r1, code="I1", deadline=date(2020, 7, 1), progress_percent=0)
    i[2] = make_issue(a, r1, code="I2", deadline=date(2020, 7, 20), progress_percent=90)
    i[3] = make_issue(b, r1, cooperating=(a,), code="I3", category="key_concern", progress_percent=0)
    i[4] = make_issue(a, r1, code="I4", deadline=date(2020, 3, 1), state="closed", progress_percent=100,
                      closed_at=datetime(2020, 3, 1))
    i[5] = make_issue(b, r1, code="I5", deadline=date(2020, 6, 1), state="submitted", progress_percent=100,
                      submitted_at=datetime(2020, 5, 30), chain_step=0)
    i[6] = make_issue(c, r1, code="I6", deadline=date(2020, 5, 1), progress_percent=100)
    i[7] = make_issue(c, r2, code="I7", deadline=date(2021, 6, 30), state="verified", progress_percent=100,
                      chain_step=1)
    i[8] = make_issue(b, r2, code="I8", deadline=date(2020, 6, 30), progress_percent=100)
    i[9] = make_issue(a, r2, code="I9", deadline=date(2021, 12, 31), progress_percent=60)
    users = {
        "staff_a": make_user("unit_staff", a, username="staff_a"),
        "head_c": make_user("unit_head", c, username="head_c"),
        "sup": make_user("supervisor", username="sup"),
        "appr": make_user("approver", username="appr"),
        "lead": make_user("leader", username="lead"),
        "admin": make_user("admin", username="admin"),
    }
    session.commit()
    return type("World", (), dict(a=a, b=b, c=c, r1=r1, r2=r2, i=i, **users))


def codes(rows):
    return [row.issue.code for row in rows]


def test_unit_todo(world, session):
    todo = dashboard.todo(session, world.staff_a, TODAY, current_app.config)
    assert todo.kind == "unit"
    assert todo.counts["total"] == 5  # I1 I2 I3 (cooperating) I4 I9
    assert todo.counts["open"] == 4
    assert todo.counts["overdue"] == 1
    assert todo.counts["due_soon"] == 1
    assert todo.counts["lagging"] == 2  # I1 (also red) and I3
    assert todo.counts["yellow"] == 2
    # Most overdue first, then by deadline; nothing outside the unit's scope.
    assert codes(todo.items) == ["I1", "I2", "I3"]
    assert todo.items[0].days_overdue == 14


def test_supervisor_approver_and_leader_todo(world, session):
    config = current_app.config
    sup = dashboard.todo(session, world.sup, TODAY, config)
    assert sup.kind == "queue" and sup.queue_args == {"waiting": "mine"}
    assert codes(sup.items) == ["I5"] and sup.counts["awaiting"] == 1
    assert (sup.counts["total"], sup.counts["open"], sup.counts["overdue"]) == (9, 8, 3)
    # The long-overdue counts are the configured ladder's escalated rungs (default: 15 and 30 days).
    assert [(r.label, r.count) for r in sup.rungs] == [
        ("逾期 15 天以上(挂牌督办)", 2), ("逾期 30 天以上(约谈/通报)", 1)]

    appr = dashboard.todo(session, world.appr, TODAY, config)
    assert appr.kind == "queue" and codes(appr.items) == ["I7"]
    assert appr.counts["awaiting"] == 1

    for user in (world.lead, world.admin):
        overview = dashboard.todo(session, user, TODAY, config)
        assert overview.kind == "overview" and overview.items == []
        assert overview.counts["overdue"] == 3


def test_round_stats_for_all(world, session):
    stats = dashboard.round_stats(session, world.sup, TODAY, current_app.config)
    assert [s.round.name for s in stats] == ["省级督察", "第一轮中央督察"]  # newest feedback first
    r2, r1 = stats
    assert (r1.total, r1.closed, r1.open, r1.overdue) == (6, 1, 5, 2)
    assert r1.by_state == {"in_progress": 4, "closed": 1, "submitted": 1}
    assert r1.by_category == {"feedback": (5, 1), "key_concern": (1, 0)}
    assert r1.completion_rate == pytest.approx(16.7)
    # A and C have one overdue issue each (tie broken by unit id); B none, so not listed.
    assert [(u.unit_name, u.total, u.closed, u.overdue) for u in r1.overdue_units] == [
        ("甲局", 3, 1, 1), ("丙镇", 1, 0, 1)]
    assert (r2.total, r2.closed, r2.overdue, r2.completion_rate) == (3, 0, 1, 0.0)
    assert r2.by_state == {"verified": 1, "in_progress": 2}
    assert [(u.unit_name, u.overdue) for u in r2.overdue_units] == [("乙局", 1)]


def test_round_stats_scoped_for_unit_user(world, session):
    r2, r1 = dashboard.round_stats(session, world.staff_a, TODAY, current_app.config)
    assert (r1.total, r1.closed, r1.overdue) == (4, 1, 1)  # I1 I2 I3 I4
    assert r1.by_category == {"feedback": (3, 1), "key_concern": (1, 0)}
    assert [(u.unit_name, u.overdue) for u in r1.overdue_units] == [("甲局", 1)]
    assert (r2.total, r2.overdue, r2.overdue_units) == (1, 0, [])  # I9 only

    # C sees I6 (R1) and I7 (R2), and only its own unit in the ranking.
    r2, r1 = dashboard.round_stats(session, world.head_c, TODAY, current_app.config)
    assert (r1.total, r1.overdue, r2.total, r2.by_state) == (1, 1, 1, {"verified": 1})
    # A unit with no issues sees no round at all.
    assert dashboard.round_stats(session, make_user("unit_head"), TODAY, current_app.config) == []


def test_home_page_for_unit_user(world, client, login_as):
    login_as(world.staff_a)
    html = client.get("/").get_data(as_text=True)
    assert "我的待办" in html
    for code in ("I1", "I2", "I3"):
        assert f">{code}</a>" in html
    for code in ("I4", "I5", "I6", "I7", "I8", "I9"):
        assert f">{code}</a>" not in html
    assert f'href="/issues/{world.i[1].id}"' in html
    assert "逾期 14 天" in html and "5 天后到期" in html and "进度滞后" in html
    assert "共 4 个问题,已销号 1 个,未销号 3 个,其中逾期 1 个;完成率 25.0%" in html
    assert "共 1 个问题,已销号 0 个,未销号 1 个,其中逾期 0 个" in html
    assert "丙镇" not in html.split("各轮次整改情况")[1]  # another unit's overdue issue stays hidden


def test_home_page_for_supervisor_links_filtered_lists(world, client, login_as):
    login_as(world.sup)
    html = client.get("/").get_data(as_text=True)
    assert "等待我审核的销号申请" in html and ">I5</a>" in html and "待验收" in html
    assert "共 6 个问题,已销号 1 个,未销号 5 个,其中逾期 2 个;完成率 16.7%" in html
    assert "/issues/?waiting=mine" in html
    assert f"/issues/?round_id={world.r1.id}&amp;state=closed" in html
    # A lead unit's overdue count opens exactly its overdue issues as lead unit (not those it cooperates on).
    assert re.search(rf'/issues/\?round_id={world.r1.id}&amp;overdue=1&amp;lead={world.c.code}"', html)


def test_home_page_for_approver_and_leader(world, client, login_as):
    login_as(world.appr)
    html = client.get("/").get_data(as_text=True)
    assert "等待我批准销号的问题" in html and ">I7</a>" in html and ">I5</a>" not in html
    client.post("/logout")
    login_as(world.lead)
    html = client.get("/").get_data(as_text=True)
    assert "逾期 15 天以上" in html and "等待我审核的销号申请" not in html


def test_home_page_with_no_issues(client, login_as, session):
    user = make_user("unit_staff")
    session.commit()
    login_as(user)
    html = client.get("/").get_data(as_text=True)
    assert "本单位暂无逾期、临期或进度滞后的问题" in html and "暂无问题" in html


def _populate(n_rounds: int, n_units: int, n_issues: int) -> None:
    rounds = [make_round() for _ in range(n_rounds)]
    units = [make_unit() for _ in range(n_units)]
    states = ["in_progress", "closed", "submitted", "verified", "basically_done"]
    for k in range(n_issues):
        make_issue(units[k % n_units], rounds[k % n_rounds], cooperating=(units[(k + 1) % n_units],),
                   state=states[k % len(states)], category=("feedback", "key_concern", "petition")[k % 3],
                   deadline=date(2020, 1 + k % 12, 1 + k % 28), progress_percent=(k * 7) % 100)
    db.session.commit()


def _count_queries(client) -> int:
    """The statements GET / runs, starting from an empty identity map (the test shares the session)."""
    db.session.expunge_all()
    with count_queries() as statements:
        response = client.get("/")
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("role", ["unit_staff", "supervisor", "approver", "leader"])
def test_home_query_count_does_not_grow(client, login_as, session, role):
    # Every state in both populations, so that each queue has rows (and loads its rounds' chains) in both.
    _populate(n_rounds=3, n_units=3, n_issues=5)
    unit = make_unit() if role == "unit_staff" else None
    user = make_user(role, unit)
    session.commit()
    # The unit user leads one issue per batch so that their to-do and totals are not empty.
    make_issue(unit or make_unit(), make_round(), deadline=date(2020, 7, 1))
    session.commit()
    login_as(user)
    unit_id = unit.id if unit else None
    small = _count_queries(client)
    unit = session.get(Unit, unit_id) if unit_id else None
    _populate(n_rounds=7, n_units=12, n_issues=27)
    for k in range(10):
        make_issue(unit or make_unit(), make_round(), deadline=date(2020, 7, 1 + k))
    session.commit()
    large = _count_queries(client)
    assert large > 0
    assert small == large, (small, large)
