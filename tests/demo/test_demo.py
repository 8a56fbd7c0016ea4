"""`tracker demo`: idempotent, one login per role, lights and states as promised, synthetic scale."""
from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, inspect, select

from tracker import create_app
from tracker.accounts.models import User
from tracker.core import clock as app_clock
from tracker.core import files
from tracker.core.enums import ROLES
from tracker.core.extensions import db
from tracker.demo import DATA_DIR, SYN_ISSUE_PREFIX, extension_plan, load_demo, make_pdf
from tracker.issues import chain
from tracker.issues.models import (
    Attachment,
    DeadlineChange,
    Event,
    ExtensionRequest,
    Issue,
    ProgressReport,
    Signature,
)
from tracker.issues.queries import IssueFilters, issue_row, search_issues
from tracker.rounds.models import Round
from tracker.units.models import Unit

DEMO_PASSWORD = "demo1234"


def _load(**kw) -> tuple[dict, list[str]]:
    lines: list[str] = []
    counts = load_demo(echo=lines.append, upgrade=False, **kw)
    return counts, lines


def _table_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _issue(code: str) -> Issue:
    return db.session.scalar(select(Issue).where(Issue.code == code))


def _demo_issues(**where) -> list[Issue]:
    stmt = select(Issue).where(~Issue.code.like(SYN_ISSUE_PREFIX + "%")).filter_by(**where).order_by(Issue.code)
    return list(db.session.scalars(stmt))


def _events(issue: Issue) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.issue_id == issue.id).order_by(Event.at, Event.id)))


def _snapshot() -> dict:
    """What a second load must leave as it was: the tree, the users' places, the chains and signatures."""
    return {
        "units": sorted(db.session.execute(select(Unit.code, Unit.parent_id, Unit.level, Unit.path)).all()),
        "users": sorted(db.session.execute(select(User.username, User.role, User.unit_id)).all()),
        "issues": sorted(db.session.execute(select(Issue.code, Issue.state, Issue.chain_step, Issue.deadline,
                                                   Issue.updated_at)).all()),
        "signatures": sorted(db.session.execute(select(Signature.issue_id, Signature.position, Signature.user_id,
                                                       Signature.signed_at, Signature.cleared_at)).all()),
    }


def test_demo_loads_once_and_a_second_run_creates_nothing(app):
    counts, lines = _load()
    assert 40 <= counts["issues"] <= 60
    assert counts["rounds"] == 4
    # Every scenario played as written: no issue was skipped for a step nobody could sign.
    assert not [line for line in lines if line.startswith("注意")]
    before, snapshot = _table_counts(), _snapshot()

    again, lines2 = _load()

    assert _table_counts() == before
    assert _snapshot() == snapshot
    assert again == counts
    assert any("问题 0 个" in line for line in lines2)
    _check_units_and_rounds()


def _check_units_and_rounds() -> None:
    """Units as the plans' tree, rounds with their documents, issues with the plans' units."""
    unit = {u.code: u for u in db.session.scalars(select(Unit))}
    assert unit["HLGL-STHJ"].name == "市生态环境分局"
    assert unit["HLGL-STHJ"].parent_id == unit["HLGL"].id
    assert unit["HLGL"].name == "霍林郭勒市人民政府" and unit["HLGL"].parent_id == unit["TL"].id
    assert unit["ZB-HBB"].name == "环保办" and unit["ZB-HBB"].parent_id == unit["ZB"].id
    assert all(re.fullmatch(r"[A-Z0-9-]+", code) for code in unit)
    assert sum(1 for u in unit.values() if u.email) >= 3
    rounds = {r.kind: r for r in db.session.scalars(select(Round))}
    assert set(rounds) == {"regular", "look_back", "special"}
    look_back = rounds["look_back"]
    assert look_back.level == "central" and look_back.feedback_date.year == 2018
    assert look_back.document_no == "通党字〔2018〕85号"
    assert db.session.scalar(select(func.count()).select_from(Round).where(Round.level == "provincial")) == 1
    # The plans' own responsible units: first named leads, the rest cooperate.
    coal = _issue("ZZQ19-11")
    assert coal.lead_unit.code == "HLGL-STHJ"
    assert {c.unit_id for c in coal.cooperating} == {unit[c].id for c in ("HLGL-SCJG", "HLGL-SW", "HLGL-NY")}
    assert "煤炭" in coal.description and coal.measures


OFFICES = {  # username: (role, the area node served: None for the whole tree)
    "shenpi": ("approver", None),
    "duban": ("supervisor", "TL"), "shenpi.tl": ("approver", "TL"), "lingdao": ("leader", "TL"),
    "duban.hlgl": ("supervisor", "HLGL"), "lingdao.hlgl": ("leader", "HLGL"), "duban.zq": ("supervisor", "ZLT"),
    "duban2": ("supervisor", "ZB"),
}


def test_the_unit_tree_has_a_city_two_counties_and_towns_with_an_office_at_each_level(app):
    _, lines = _load()
    unit = {u.code: u for u in db.session.scalars(select(Unit))}
    roots = [u for u in unit.values() if u.parent_id is None]
    assert [u.code for u in roots] == ["TL"] and unit["TL"].level == "city" and unit["TL"].name == "通辽市人民政府"
    counties = [u for u in unit.values() if u.parent_id == unit["TL"].id and u.level == "county"]
    assert {u.code for u in counties} == {"HLGL", "ZLT"}
    towns = {code for code, u in unit.items() if u.level == "town" and u.parent.code in ("HLGL", "ZLT")}
    assert {"ZB", "HLGL-DLHS", "HLGL-SEHR"} <= towns
    assert unit["ZB"].parent.code == "ZLT" and unit["HLGL-SEHR"].parent.code == "HLGL"
    # A department takes its government's level; paths are the codes from the root.
    assert (unit["TL-STHJ"].level, unit["HLGL-STHJ"].level, unit["ZB-HBB"].level) == ("city", "county", "town")
    assert unit["ZB-HBB"].path == "/TL/ZLT/ZB/ZB-HBB/" and unit["HLGL-STHJ"].path == "/TL/HLGL/HLGL-STHJ/"
    assert all(u.path.endswith(f"/{code}/") and unit["TL"].contains(u) for code, u in unit.items())
    # Every code an issue names is in the tree.
    specs = json.loads((DATA_DIR / "issues.json").read_text(encoding="utf-8"))
    assert {c for s in specs for c in [s["lead"], *s["cooperating"]]} <= set(unit)

    users = {u.username: u for u in db.session.scalars(select(User))}
    for username, (role, area) in OFFICES.items():
        user = users[username]
        assert (user.role, user.unit.code if user.unit else None) == (role, area), username
    supervisors = [u for u in users.values() if u.role == "supervisor"]
    assert {u.unit.level for u in supervisors} == {"city", "county", "town"}
    # Every issue's lead unit lies in a county office's area and in the city office's.
    county_offices = [u.unit for u in supervisors if u.unit.level == "county"]
    for issue in _demo_issues():
        assert sum(office.contains(issue.lead_unit) for office in county_offices) == 1, issue.code
    # Unit logins at the county level and the town level.
    assert {users[name].unit.level for name in ("sthj.jb", "zbhb.jb", "sehr.jb")} == {"county", "town"}
    table = "\n".join(lines)
    assert re.search(r"^\s+duban\.zq\s+督察整改办\s+县级\s+扎鲁特旗人民政府\s+demo1234$", table, re.M)
    assert re.search(r"^\s+shenpi\s+销号审批\s+全辖区\s", table, re.M)


def test_the_readme_lists_demo_accounts_that_exist(app):
    _load()
    readme = (DATA_DIR.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## 演示账号", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z][a-z0-9.]*)`", section)) - {"demo1234"}
    users = set(db.session.scalars(select(User.username)))
    assert set(OFFICES) | {"admin", "sthj.jb", "zbhb.fz", "sehr.jb"} <= named
    assert named <= users
    assert all(label in section for _, _, label in CENTRAL_CHAIN)


CENTRAL_CHAIN = [("county", "supervisor", "县级验收"), ("city", "supervisor", "市级验收"),
                 ("province", "approver", "自治区审核销号")]


def _chain(round_: Round) -> list[tuple]:
    return [(s.level, s.role, s.label) for s in chain.steps_of(round_)]


def _signatures(issue: Issue, current: bool = True) -> list[tuple[str, str]]:
    cleared = Signature.cleared_at.is_(None) if current else Signature.cleared_at.is_not(None)
    rows = db.session.scalars(select(Signature).where(Signature.issue_id == issue.id, cleared)
                              .order_by(Signature.signed_at, Signature.id))
    return [(s.label, db.session.get(User, s.user_id).username) for s in rows]


def test_the_central_rounds_carry_a_three_step_chain_signed_county_city_region(app):
    _load()
    rounds = {r.name: r for r in db.session.scalars(select(Round))}
    assert _chain(rounds["中央环保督察“回头看”(2018年)"]) == CENTRAL_CHAIN
    assert _chain(rounds["中央第一环境保护督察组督察(2016年)"]) == CENTRAL_CHAIN
    assert _chain(rounds["2019年自治区生态环境保护督察"]) == [("county", "supervisor", "县级验收"),
                                                              ("city", "approver", "市级销号")]
    assert _chain(rounds["草原生态环境问题专项督察(2018年)"]) == [(None, "supervisor", "验收"),
                                                                 (None, "approver", "销号")]

    # A town's issue closed by its banner's office, the city's and the region's approver, in that order.
    assert _signatures(_issue("ZY16-ZB-01")) == [("县级验收", "duban.zq"), ("市级验收", "duban"),
                                                  ("自治区审核销号", "shenpi")]
    assert _signatures(_issue("ZZQ19-01")) == [("县级验收", "duban.hlgl"), ("市级销号", "shenpi.tl")]
    closed = _demo_issues(state="closed")
    for issue in closed:
        signed = _signatures(issue)
        steps = chain.steps_of(issue.round)
        assert [label for label, _ in signed] == [s.label for s in steps], issue.code
        users = [db.session.scalar(select(User).where(User.username == name)) for _, name in signed]
        assert len(set(users)) == len(users)  # nobody signs twice
        for step, user in zip(steps, users, strict=True):
            assert user.role == step.role and chain.office_fits(user, step, issue.lead_unit), (issue.code, step)
        approve = [e for e in _events(issue) if e.action == "approve"][-1]
        assert approve.comment.startswith(steps[-1].label)


def test_issues_wait_at_each_step_and_one_was_returned_at_the_city_step(app):
    _load()
    waiting = {i.code: chain.waiting_label(i) for i in _demo_issues() if i.state in ("submitted", "verified")}
    assert {"待县级验收", "待市级验收", "待自治区审核销号", "待市级销号", "待销号"} <= set(waiting.values())
    assert waiting["ZY16-ZB-22"] == "待市级验收" and _signatures(_issue("ZY16-ZB-22")) == [("县级验收", "duban.zq")]
    assert waiting["HTK18-01"] == "待自治区审核销号"
    assert _signatures(_issue("HTK18-01")) == [("县级验收", "duban.hlgl"), ("市级验收", "duban")]

    # Returned at 市级验收 with a reason, answered with a report and evidence, submitted again: a new pass.
    issue = _issue("ZY16-ZB-14")
    assert waiting[issue.code] == "待县级验收" and _signatures(issue) == []
    assert _signatures(issue, current=False) == [("县级验收", "duban.zq")]
    events = _events(issue)
    actions = [e.action for e in events]
    returned = events[actions.index("return")]
    assert returned.actor.username == "duban" and "在线监控" in returned.comment
    assert actions.index("submit") < actions.index("verify") < actions.index("return")
    after = actions[actions.index("return"):]
    assert after.index("progress") < after.index("evidence") < after.index("submit")
    assert actions[-1] == "submit" and actions.count("submit") == 2
    # The closed one returned at 市级验收 went through every step again.
    closed = _issue("ZY16-ZB-06")
    assert [e.action for e in _events(closed) if e.action != "progress" and e.action != "evidence"] == [
        "create", "submit", "verify", "return", "submit", "verify", "verify", "approve"]
    assert _signatures(closed, current=False) == [("县级验收", "duban.zq")]


def test_extension_scenarios_are_dated_inside_their_issues_history(app):
    _load()
    today = app_clock.today()
    specs = [s for s in json.loads((DATA_DIR / "issues.json").read_text(encoding="utf-8")) if s.get("extensions")]
    decisions = set()
    for spec in specs:
        issue = _issue(spec["code"])
        original, planned = extension_plan(spec, issue.deadline)
        assert original <= issue.deadline
        for ext in planned:
            decisions.add(ext.decision)
            assert issue.assigned_on < ext.asked_on < today and ext.asked_deadline > original, spec["code"]
            assert ext.reason and not ext.reason.isascii()
            if ext.decision is not None:
                assert ext.asked_on < ext.decided_on < today and ext.decision_reason
            if issue.submitted_at is not None:
                assert (ext.decided_on or ext.asked_on) < issue.submitted_at.date()
        if planned[-1].granted_deadline is not None:
            assert planned[-1].granted_deadline == issue.deadline
        # Played through the services: the requests and their decisions are in the issue's history.
        requests = db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.issue_id == issue.id)
                                      .order_by(ExtensionRequest.id)).all()
        states = {"approve": "approved", "redate": "approved", "reject": "rejected", None: "pending"}
        assert [r.state for r in requests] == [states[e.decision] for e in planned], spec["code"]
        assert issue.original_deadline == original
        moved = db.session.scalars(select(DeadlineChange.new_deadline).where(
            DeadlineChange.issue_id == issue.id, DeadlineChange.source == "extension")).all()
        assert moved == [e.granted_deadline for e in planned if e.granted_deadline is not None]
    assert decisions == {"approve", "redate", "reject", None}


def test_every_role_has_a_demo_user_who_can_sign_in(app):
    _, lines = _load()
    users = list(db.session.scalars(select(User)))
    assert {u.role for u in users} >= set(ROLES)
    assert not any(u.must_change_password for u in users)  # hashes set directly: nobody is made to change
    for code in ("HLGL-STHJ", "HLGL-ZJ", "ZB-HBB"):
        roles = {u.role for u in users if u.unit and u.unit.code == code}
        assert roles >= {"unit_staff", "unit_head"}, code
    table = "\n".join(lines)
    for role in ROLES:
        user = next(u for u in users if u.role == role)
        assert re.search(rf"^\s+{re.escape(user.username)}\s+\S+.*{DEMO_PASSWORD}$", table, re.M), user.username
        assert user.display_name and not user.display_name.isascii()
        response = app.test_client().post("/login", data={"username": user.username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, (user.username, response.get_data(as_text=True))
        assert "/login" not in response.headers["Location"]


def test_there_are_red_yellow_and_green_issues_every_state_and_merged_ones(app, clock):
    # Another day (and past midnight in Beijing): the open issues' deadlines follow the load day.
    clock.set("2031-02-27T20:00:00")
    _load()
    supervisor = db.session.scalar(select(User).where(User.username == "duban"))
    today = clock_today()

    def total(**filters) -> int:
        _, n = search_issues(db.session, supervisor, today, app.config, IssueFilters(**filters))
        return n

    for light in ("red", "yellow", "green"):
        assert total(light=light) >= 3, light
    for state in ("closed", "merged", "submitted", "verified", "basically_done", "in_progress"):
        assert total(state=state) >= 1, state
    assert total(state="closed") >= 15
    # Overdue by 3, 20 and 40 days, and due within the week, whatever day the demo is loaded.
    overdue = {issue_row(db.session, i, today, app.config).days_overdue for i in _demo_issues(state="in_progress")}
    assert {3, 20, 40} <= overdue
    due_soon = [i for i in _demo_issues(state="in_progress") if 0 <= (i.deadline - today).days <= 7]
    assert due_soon
    assert all(issue_row(db.session, i, today, app.config).light == "yellow" for i in due_soon)
    _check_merged()


def _check_merged() -> None:
    """合并整改: followers point at an open target and move with it."""
    target = _issue("ZY16-HL-01")
    followers = _demo_issues(merged_into_id=target.id)
    assert {f.code for f in followers} == {"HTK18-02", "CY18-02"}
    assert all(f.state == target.state for f in followers)
    verified = _issue("CY18-01")
    follower = _issue("CY18-03")
    assert follower.merged_into_id == verified.id and follower.state == verified.state == "verified"
    actions = [e.action for e in _events(follower)]
    assert actions.index("merge") < actions.index("follow")
    assert "merged_in" in [e.action for e in _events(verified)]


def test_closed_issues_carry_their_whole_history_reports_and_evidence(app):
    _load()
    now = app_clock.now()
    closed = _demo_issues(state="closed")
    assert len(closed) >= 15
    returned = 0
    for issue in closed:
        events = _events(issue)
        actions = [e.action for e in events]
        for action in ("create", "progress", "evidence", "submit", "verify", "approve"):
            assert action in actions, (issue.code, action)
        assert actions.index("submit") < actions.index("verify") < actions.index("approve")
        assert all(e.at < now for e in events)
        by_action = {e.action: e for e in events}
        assert by_action["submit"].actor.role == "unit_head"
        assert by_action["submit"].actor.unit_id == issue.lead_unit_id
        assert by_action["verify"].actor.role == "supervisor"
        assert by_action["approve"].actor.role == "approver"
        assert issue.closed_at == by_action["approve"].at and issue.summary
        assert issue.updated_at == max(e.at for e in events)
        if "return" in actions:
            returned += 1
            assert actions.count("submit") == 2
            assert actions.index("return") < len(actions) - 1 - actions[::-1].index("submit")
    assert returned >= 1
    # The plans' historical dates are kept for closed issues.
    assert {i.closed_at.year for i in closed} <= {2017, 2018, 2019, 2020}
    # Closed in 2017/18, reopened by the look-back, given a new deadline it has now missed.
    reopened = _issue("ZY16-ZB-09")
    actions = [e.action for e in _events(reopened)]
    assert actions.index("approve") < actions.index("reopen") < actions.index("edit")
    assert reopened.state == "in_progress" and reopened.deadline == app_clock.today() - timedelta(days=3)
    _check_reports()
    _check_evidence(app.config["UPLOAD_DIR"])


def _check_reports() -> None:
    """Reports span months; one period was filed twice and the first kept as history."""
    replaced = list(db.session.scalars(select(ProgressReport).where(ProgressReport.replaced_at.is_not(None))))
    assert replaced
    issue = db.session.get(Issue, replaced[0].issue_id)
    current = db.session.scalar(select(ProgressReport).where(
        ProgressReport.issue_id == issue.id, ProgressReport.period == replaced[0].period,
        ProgressReport.replaced_at.is_(None)))
    assert current is not None and current.percent == issue.progress_percent
    periods = db.session.scalars(select(ProgressReport.period).where(ProgressReport.issue_id == _issue("ZZQ19-11").id))
    assert len(set(periods)) >= 3


def _check_evidence(upload_dir: str) -> None:
    """Evidence files are small PDFs stored by hash through the service."""
    attachments = list(db.session.scalars(select(Attachment)))
    assert len(attachments) >= 20
    for att in attachments[:10]:
        path = files.path_for(upload_dir, att.sha256)
        data = path.read_bytes()
        assert data.startswith(b"%PDF-1.4") and att.size == len(data)
        assert att.content_type == "application/pdf" and att.filename.endswith(".pdf")
        _assert_pdf_structure(data)


def test_make_pdf_writes_a_well_formed_pdf():
    _assert_pdf_structure(make_pdf(["Issue: X (1)", "back\\slash"]))


def _assert_pdf_structure(pdf: bytes) -> None:
    """The cross-reference table points at each object, and startxref at the table."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))
    assert pdf[start:].startswith(b"xref\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))
    body = pdf.split(b"stream\n", 1)[1]
    assert body[length:].startswith(b"\nendstream")


def test_scale_adds_synthetic_issues_once(app):
    counts, _ = _load(scale=300)
    assert counts["synthetic"] == 300
    before = _table_counts()
    again, lines = _load(scale=300)
    assert _table_counts() == before
    assert again == counts
    assert any("不再新增" in line for line in lines)

    syn = Issue.code.like(SYN_ISSUE_PREFIX + "%")
    units = db.session.scalar(select(func.count(func.distinct(Issue.lead_unit_id))).where(syn))
    assert units >= 150
    states = dict(db.session.execute(select(Issue.state, func.count()).where(syn).group_by(Issue.state)).all())
    assert 0.25 <= states.get("closed", 0) / 300 <= 0.55
    assert {"in_progress", "submitted", "verified"} <= set(states)
    assert db.session.scalar(select(func.count(func.distinct(Issue.round_id))).where(syn)) == 4
    assert db.session.scalar(select(func.min(Issue.version)).where(syn)) == 1
    years = db.session.scalars(select(Issue.deadline).where(syn))
    assert len({d.year for d in years}) >= 4
    per_issue = (select(Event.issue_id, func.count().label("n")).join(Issue, Issue.id == Event.issue_id)
                 .where(syn).group_by(Event.issue_id).subquery())
    assert db.session.execute(select(func.min(per_issue.c.n), func.max(per_issue.c.n))).one() == (2, 5)
    reports = (select(ProgressReport.issue_id, func.count().label("n")).join(Issue, Issue.id == ProgressReport.issue_id)
               .where(syn).group_by(ProgressReport.issue_id).subquery())
    low, high, issues = db.session.execute(select(func.min(reports.c.n), func.max(reports.c.n), func.count())).one()
    assert (low, issues) == (1, 300) and high <= 3
    # Closed synthetic issues were approved by someone other than their verifier, in the past.
    closed = db.session.scalars(select(Issue).where(syn, Issue.state == "closed").limit(20)).all()
    assert all(i.closed_at < app_clock.now() and i.verified_by_id for i in closed)
    _check_synthetic_chains_and_paths()

    # More: only the missing ones are added, numbered after the last.
    counts, _ = _load(scale=350)
    assert counts["synthetic"] == 350
    assert _issue("SYN-0000350") is not None and _issue("SYN-0000351") is None

    # Each synthetic unit has a head who signs in and sees only the unit's issues.
    head = db.session.scalar(select(User).where(User.username == "syn-u001"))
    assert head.role == "unit_head" and head.unit.code == "SYN-U001"
    client = app.test_client()
    assert client.post("/login", data={"username": "syn-u001", "password": DEMO_PASSWORD}).status_code == 302
    rows, total = search_issues(db.session, head, clock_today(), app.config, IssueFilters(), per_page=500)
    assert total == len(rows)
    assert all(r.issue.lead_unit_id == head.unit_id or head.unit_id in {c.unit_id for c in r.issue.cooperating}
               for r in rows)


def _check_synthetic_chains_and_paths() -> None:
    """Synthetic issues wait at their chain's first step (submitted) or second (verified), nowhere else;
    the synthetic units hang under the demo's city with paths and levels."""
    syn = Issue.code.like(SYN_ISSUE_PREFIX + "%")
    pairs = set(db.session.execute(select(Issue.state, Issue.chain_step).where(syn).distinct()).all())
    assert {step for state, step in pairs if state == "submitted"} == {0}
    assert {step for state, step in pairs if state == "verified"} == {1}
    assert {step for state, step in pairs if state not in ("submitted", "verified")} == {None}
    labels = {chain.waiting_label(i) for i in db.session.scalars(select(Issue).where(
        syn, Issue.state.in_(("submitted", "verified"))))}
    assert {"待县级验收", "待市级验收"} <= labels and None not in labels
    units = list(db.session.scalars(select(Unit).where(Unit.code.like("SYN-%"))))
    assert units and all(u.level == "county" for u in units)
    by_id = {u.id: u for u in units}
    for unit in units:
        parent = by_id.get(unit.parent_id)
        assert unit.path == (parent.path if parent else "/TL/") + unit.code + "/"
    # The subtree test in SQL finds them under the city.
    city = db.session.scalar(select(Unit).where(Unit.code == "TL"))
    assert db.session.scalar(select(func.count()).select_from(Unit).where(
        Unit.code.like("SYN-%"), Unit.path.startswith(city.path, autoescape=True))) == len(units)


def clock_today() -> date:
    return app_clock.today()


@pytest.fixture
def keep_logging():
    """Alembic's env.py reconfigures logging (fileConfig disables other loggers): put it back."""
    manager = logging.Logger.manager
    disabled = {name: logger.disabled for name, logger in manager.loggerDict.items()
                if isinstance(logger, logging.Logger)}
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for name, logger in manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.disabled = disabled.get(name, False)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_tracker_demo_command_upgrades_a_fresh_sqlite_database(tmp_path, keep_logging):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.db'}",
        "SECRET_KEY": "test",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    })
    runner = app.test_cli_runner()
    try:
        result = runner.invoke(args=["demo", "--scale", "50"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        assert "演示账号" in result.output and DEMO_PASSWORD in result.output
        with app.app_context():
            assert "alembic_version" in inspect(db.engine).get_table_names()
            issues = db.session.scalar(select(func.count()).select_from(Issue))
            assert issues >= 90
            _check_synthetic_chains_and_paths()

        again = runner.invoke(args=["demo", "--scale", "50"])
        assert again.exit_code == 0, again.output
        assert "问题 0 个" in again.output and "不再新增" in again.output
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Issue)) == issues
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
