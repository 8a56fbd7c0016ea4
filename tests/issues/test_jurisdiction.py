"""Each office sees its jurisdiction (辖区): the subtree of the area node it serves, in every list, count,
page, export, API answer, digest and mail; the list query and the per-record check agree, level by level."""
from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import select

from tests.support.api import api_for
from tests.support.factories import make_attachment, make_issue, make_report, make_round, make_unit, make_user
from tests.support.jobs import notices, outbox, run
from tests.support.queries import statements_for
from tracker.accounts.models import User
from tracker.core.enums import AREA_ROLES
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.issues.models import Issue
from tracker.issues.queries import IssueFilters, search_issues
from tracker.issues.scoping import can_see, office_users_by_issue, office_users_for, visible_issues
from tracker.notify.models import Notice, Outbox
from tracker.reports import dashboard, stats
from tracker.reports.scorecard import scorecard
from tracker.units.models import Unit

CONFIG = {"LAGGING_MARGIN": 20, "DUE_SOON_DAYS": 7}
TODAY = date(2020, 7, 15)
NOW = datetime(2020, 7, 15, 2, 0, 0)

# The tree: a city (with a department), two counties (county A with a department), a town in each.
TREE = (
    # code, name, parent, level
    ("C", "某市", None, "city"),
    ("C-EPB", "市生态环境局", "C", None),
    ("A", "甲县", "C", "county"),
    ("A-EPB", "甲县生态环境分局", "A", None),
    ("A1", "甲一镇", "A", "town"),
    ("B", "乙县", "C", "county"),
    ("B1", "乙一镇", "B", "town"),
)
# code -> (lead unit, cooperating units)
ISSUES = {
    "I-CITY": ("C-EPB", ()),
    "I-A": ("A-EPB", ()),
    "I-A1": ("A1", ()),
    "I-B": ("B", ()),
    "I-B1": ("B1", ()),
    "I-X": ("C-EPB", ("A1",)),  # led by the city, a town of county A cooperates
    "I-Y": ("B1", ("A-EPB",)),  # led in county B, a department of county A cooperates
}
ALL = set(ISSUES)
# What an office serving each node sees (None: no node, the whole tree).
SEEN_BY_AREA = {
    None: ALL,
    "C": ALL,
    "C-EPB": {"I-CITY", "I-X"},
    "A": {"I-A", "I-A1", "I-X", "I-Y"},
    "A1": {"I-A1", "I-X"},
    "B": {"I-B", "I-B1", "I-Y"},
    "B1": {"I-B1", "I-Y"},
}
# The lead units an office ranks: only those inside its jurisdiction.
RANKED_BY_AREA = {None: {"C-EPB", "A-EPB", "A1", "B", "B1"}, "C": {"C-EPB", "A-EPB", "A1", "B", "B1"},
                  "A": {"A-EPB", "A1"}, "B": {"B", "B1"}, "A1": {"A1"}, "B1": {"B1"}, "C-EPB": {"C-EPB"}}
SEEN_BY_UNIT = {"A1": {"I-A1", "I-X"}, "A-EPB": {"I-A", "I-Y"}, "B": {"I-B"}, "C-EPB": {"I-CITY", "I-X"}}


@pytest.fixture
def tree(session):
    """The units, one round, the issues (overdue, with no report for June), an office user of every
    role at every node and without one, an admin and a unit user of some units."""
    units: dict[str, Unit] = {}
    for code, name, parent, level in TREE:
        units[code] = make_unit(code, name, parent=units[parent] if parent else None, level=level,
                                email=f"{code.lower()}@units.example.org")
    round_ = make_round("第二轮中央生态环境保护督察")
    issues: dict[str, Issue] = {}
    for n, (code, (lead, cooperating)) in enumerate(ISSUES.items()):
        issues[code] = make_issue(lead_unit=units[lead], round=round_, code=code, title=f"问题{code}号",
                                  cooperating=tuple(units[c] for c in cooperating),
                                  deadline=date(2020, 6, 1 + n), progress_percent=30)
    users: dict[tuple[str, str | None], User] = {}
    for role in AREA_ROLES:
        for area in SEEN_BY_AREA:
            name = f"{role}-{(area or 'all').lower()}"
            users[(role, area)] = make_user(role, units[area] if area else None, username=name,
                                            email=f"{name}@office.example.org")
    users[("admin", None)] = make_user("admin", username="admin", email="admin@office.example.org")
    for code in SEEN_BY_UNIT:
        for role in ("unit_staff", "unit_head"):
            users[(role, code)] = make_user(role, units[code], username=f"{role}-{code.lower()}")
    session.commit()
    return {"units": units, "issues": issues, "users": users, "round": round_}


def codes_of(session, ids) -> set[str]:
    """The codes of these issue ids."""
    return set(session.scalars(select(Issue.code).where(Issue.id.in_(list(ids)))))


def listed(session, user) -> set[str]:
    """The codes `visible_issues` selects for the user."""
    return set(session.scalars(select(Issue.code).where(visible_issues(user))))


# --- the rule ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", AREA_ROLES)
@pytest.mark.parametrize("area", list(SEEN_BY_AREA))
def test_an_office_sees_its_subtree_and_the_record_check_agrees(session, tree, role, area):
    user = tree["users"][(role, area)]
    assert listed(session, user) == SEEN_BY_AREA[area]
    checked = {code for code, issue in tree["issues"].items() if can_see(session, user, issue)}
    assert checked == SEEN_BY_AREA[area]
    rows, total = search_issues(session, user, TODAY, CONFIG, IssueFilters(), per_page=100)
    assert total == len(rows) == len(SEEN_BY_AREA[area])
    assert {r.issue.code for r in rows} == SEEN_BY_AREA[area]


def test_admins_see_all_and_unit_users_keep_their_rule(session, tree):
    admin = tree["users"][("admin", None)]
    assert listed(session, admin) == ALL
    for code, expected in SEEN_BY_UNIT.items():
        for role in ("unit_staff", "unit_head"):
            user = tree["users"][(role, code)]
            assert listed(session, user) == expected, (role, code)
            assert {c for c, i in tree["issues"].items() if can_see(session, user, i)} == expected


def test_every_user_and_issue_pair_agrees(session, tree):
    for user in tree["users"].values():
        seen = listed(session, user)
        for code, issue in tree["issues"].items():
            assert can_see(session, user, issue) == (code in seen), (user.username, code)


def test_office_users_for_holds_the_issue_exactly_where_the_office_sees_it(session, tree):
    users = tree["users"]
    issue_ids = [i.id for i in tree["issues"].values()]
    by_issue = office_users_by_issue(session, issue_ids, ["supervisor", "approver", "leader", "admin",
                                                          "unit_staff"])
    for code, issue in tree["issues"].items():
        holders = {u.username for u in office_users_for(session, issue, (*AREA_ROLES, "admin"))}
        expected = {u.username for (role, _a), u in users.items()
                    if role in (*AREA_ROLES, "admin") and can_see(session, u, issue)}
        assert holders == expected, code
        assert {session.get(User, uid).username for uid in by_issue[issue.id]} == expected
    supervisors = {u.username for u in office_users_for(session, [tree["issues"]["I-B1"].id], ["supervisor"])}
    assert supervisors == {"supervisor-all", "supervisor-c", "supervisor-b", "supervisor-b1"}
    # A deactivated office user is nobody to tell.
    users[("supervisor", "B")].active = False
    session.commit()
    assert "supervisor-b" not in {u.username for u in office_users_for(session, tree["issues"]["I-B"],
                                                                        ["supervisor"])}


def test_a_moved_unit_carries_its_subtree_into_the_new_jurisdiction(session, tree):
    from tracker.units.services import update_unit

    units, users = tree["units"], tree["users"]
    admin = users[("admin", None)]
    # Town B1 moves from county B to county A: its issues follow it.
    update_unit(session, admin, units["B1"], units["B1"].name, "A")
    session.commit()
    session.expire_all()
    assert units["B1"].path == "/C/A/B1/"
    county_a, county_b = users[("supervisor", "A")], users[("supervisor", "B")]
    assert listed(session, county_a) == {"I-A", "I-A1", "I-X", "I-Y", "I-B1"}
    assert listed(session, county_b) == {"I-B"}
    for user in (county_a, county_b):
        for code, issue in tree["issues"].items():
            assert can_see(session, user, issue) == (code in listed(session, user))


# --- pages, counts, exports, the API -----------------------------------------------------------

@pytest.mark.parametrize("area", ["A", "B", "A1", None])
def test_counters_and_statistics_hold_only_the_jurisdiction(app, session, tree, area):
    user = tree["users"][("supervisor", area)]
    expected = SEEN_BY_AREA[area]
    todo = dashboard.todo(session, user, TODAY, app.config)
    assert todo.counts["total"] == len(expected)
    assert todo.counts["overdue"] == len(expected)  # every issue is past its June deadline
    rounds = stats.round_stats(session, user, TODAY, app.config)
    assert [r.totals.total for r in rounds] == [len(expected)]
    units = stats.unit_stats(session, user, TODAY, app.config)
    assert {u.code for u in units} == RANKED_BY_AREA[area]
    # Each ranked unit is counted on the issues it leads within the office's scope.
    for u in units:
        assert u.assigned == sum(1 for c in expected if ISSUES[c][0] == u.code)
    ranked = dashboard.round_stats(session, user, TODAY, app.config)
    assert {o.unit_code for r in ranked for o in r.overdue_units} == RANKED_BY_AREA[area]
    card = scorecard(session, user, TODAY, app.config)
    assert card.ranked and {line.figures.code for line in card.units} == RANKED_BY_AREA[area]


def test_a_county_office_never_meets_another_countys_issue_on_a_page(app, client, login_as, tree):
    login_as(tree["users"][("supervisor", "A")])
    home = client.get("/").get_data(as_text=True)
    assert "辖区:甲县" in home
    page = client.get("/issues/?per_page=100").get_data(as_text=True)
    for code in SEEN_BY_AREA["A"]:
        assert code in page
    for code in ALL - SEEN_BY_AREA["A"]:
        assert f">{code}<" not in page and f"问题{code}号" not in page
    stats_page = client.get("/stats/").get_data(as_text=True)
    assert "乙一镇" not in stats_page and "甲一镇" in stats_page
    card = client.get("/stats/scorecard").get_data(as_text=True)
    assert "乙县" not in card and "乙一镇" not in card and "市生态环境局" not in card
    for code in ALL - SEEN_BY_AREA["A"]:
        assert client.get(f"/issues/{tree['issues'][code].id}").status_code == 404
    for code in SEEN_BY_AREA["A"]:
        assert client.get(f"/issues/{tree['issues'][code].id}").status_code == 200


@pytest.mark.parametrize("area", ["A", "B1", None])
def test_the_ledger_export_holds_the_jurisdiction(client, login_as, tree, area):
    login_as(tree["users"][("approver", area)])
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    assert rows[0][1] == "问题编号"
    codes = [row[1] for row in rows[1:]]
    assert len(codes) == len(SEEN_BY_AREA[area]) and set(codes) == SEEN_BY_AREA[area]


@pytest.mark.parametrize("role", AREA_ROLES)
@pytest.mark.parametrize("area", ["A", "B", None])
def test_the_api_lists_the_jurisdiction_and_answers_404_outside(client, tree, role, area):
    api = api_for(client, tree["users"][(role, area)])
    body = api.get("/issues?per_page=100").get_json()
    assert {item["code"] for item in body["items"]} == SEEN_BY_AREA[area]
    assert body["total"] == len(SEEN_BY_AREA[area])
    for code, issue in tree["issues"].items():
        status = api.get(f"/issues/{issue.id}").status_code
        assert status == (200 if code in SEEN_BY_AREA[area] else 404), code
    figures = api.get("/stats").get_json()
    assert sum(r["total"] for r in figures["rounds"]) == len(SEEN_BY_AREA[area])
    assert {u["unit"]["code"] for u in figures["units"]} == RANKED_BY_AREA[area]
    monthly = api.get("/reports/monthly?month=2020-06").get_json()
    assert {row["code"] for row in monthly["overdue"]["items"]} == SEEN_BY_AREA[area]
    card = api.get("/stats/scorecard").get_json()
    assert {line["unit"]["code"] for line in card["units"]} == RANKED_BY_AREA[area]


def test_the_monthly_reporting_table_lists_only_the_units_served(app, jobs_app, clock, tree):
    from tracker.reports.monthly import monthly_report

    run(jobs_app, clock, date(2020, 7, 20))  # June's reports are missing: marked late
    for area in ("A", "B", None):
        user = db.session.scalar(select(User).where(User.username == f"supervisor-{(area or 'all').lower()}"))
        report = monthly_report(db.session, user, date(2020, 6, 1), date(2020, 7, 20), app.config)
        assert {u.code for u in report.reporting} == RANKED_BY_AREA[area]
        assert sum(u.missing for u in report.reporting) == sum(
            1 for code in SEEN_BY_AREA[area] if ISSUES[code][0] in RANKED_BY_AREA[area])


def test_pages_of_a_county_office_cost_one_query_more_than_the_whole_trees(app, client, login_as, tree):
    """The area node is loaded once per request (the user's `unit`), whatever the number of issues."""
    counts = {}
    names = {area: tree["users"][("supervisor", area)].username for area in (None, "A")}
    county_town = tree["units"]["A1"].id
    round_id = tree["round"].id
    for area in (None, "A"):
        login_as(names[area])
        counts[area] = {path: len(statements_for(client, path)) for path in ("/", "/stats/", "/issues/",
                                                                            "/stats/scorecard")}
    for path, n in counts[None].items():
        assert counts["A"][path] <= n + 1, (path, counts)
    # More issues in the county cost nothing more.
    for _ in range(5):
        db.session.add(Issue(round_id=round_id, lead_unit_id=county_town, code=f"I-A1-{_}", title="又一个问题",
                             description="问题描述", category="feedback", rectify_type="deadline",
                             deadline=date(2020, 6, 1), assigned_on=date(2020, 1, 1), state="in_progress",
                             progress_percent=0))
    db.session.commit()
    again = {path: len(statements_for(client, path)) for path in counts["A"]}
    assert again == counts["A"]


# --- mails ------------------------------------------------------------------------------------

def test_escalation_notices_and_digests_go_to_the_offices_holding_the_issue(jobs_app, clock, tree):
    for issue in tree["issues"].values():
        make_report(issue, period="2020-05")
    db.session.commit()
    run(jobs_app, clock, date(2020, 6, 10))  # 3 to 9 days overdue: the overdue notice
    users = tree["users"]

    def addressees(code: str, kind: str) -> set[str]:
        return {row.to_addr for row in outbox(Outbox.kind == kind, Outbox.issue_id == tree["issues"][code].id)}

    # The overdue notice (unit head and supervisor by the default ladder): the supervisors holding the issue.
    for code in ALL:
        office = {a for a in addressees(code, "overdue") if a.endswith("@office.example.org")}
        expected = {u.email for (role, _a), u in users.items()
                    if role == "supervisor" and can_see(db.session, u, tree["issues"][code])}
        assert office == expected, code
    assert "supervisor-a@office.example.org" not in addressees("I-B", "overdue")
    assert "supervisor-b@office.example.org" in addressees("I-Y", "overdue")
    assert "supervisor-a@office.example.org" in addressees("I-Y", "overdue")

    # The supervisors' digest: one per jurisdiction, listing what lies in it.
    def digest_of(username: str) -> str:
        (row,) = outbox(Outbox.kind == "digest", Outbox.to_addr == f"{username}@office.example.org")
        return row.subject + row.body_text + row.body_html

    for area in ("A", "B", "A1", "B1", None, "C"):
        text = digest_of(f"supervisor-{(area or 'all').lower()}")
        for code in ALL:
            assert (f"问题{code}号" in text) == (code in SEEN_BY_AREA[area]), (area, code)
    assert "甲县辖区" in digest_of("supervisor-a") and "全部责任单位" in digest_of("supervisor-all")
    # Approvers and leaders get no supervisors' digest.
    assert not outbox(Outbox.kind == "digest", Outbox.to_addr == "approver-a@office.example.org")


def test_the_monthly_late_summary_goes_to_each_jurisdiction(jobs_app, clock, tree):
    # No report for June: after the due day (the 18th) each supervisor gets the issues missing it.
    run(jobs_app, clock, date(2020, 7, 20))

    def summary_of(username: str) -> str:
        rows = outbox(Outbox.kind == "report_late", Outbox.to_addr == f"{username}@office.example.org",
                      Outbox.ref.like("period:%"))
        assert len(rows) == 1, username
        return rows[0].body_text

    for area in ("A", "B1", None):
        text = summary_of(f"supervisor-{(area or 'all').lower()}")
        for code in ALL:
            assert (f"问题{code}号" in text) == (code in SEEN_BY_AREA[area]), (area, code)


def test_a_submission_is_told_to_the_supervisors_holding_the_issue(session, tree):
    users, issue = tree["users"], tree["issues"]["I-A1"]
    issue.progress_percent = 100
    issue.summary = "已完成"
    make_report(issue, period="2020-07", percent=100, author=users[("unit_head", "A1")])
    make_attachment(issue)
    session.commit()
    issue_service.transition(session, users[("unit_head", "A1")], NOW, issue, "submit")
    session.commit()
    told = {n.user_id for n in session.scalars(select(Notice).where(Notice.kind == "submitted"))}
    assert {session.get(User, uid).username for uid in told} == {
        "supervisor-all", "supervisor-c", "supervisor-a", "supervisor-a1"}
    assert not notices(users[("supervisor", "B")].id)
