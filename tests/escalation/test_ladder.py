"""The escalation ladder: each level once on its day, flags, working days, and the units' yellow lights."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.support.factories import make_issue, make_report, make_user
from tests.support.jobs import count, events, notices, recipients, run, team
from tracker.core.extensions import db
from tracker.escalation import services as flags
from tracker.escalation.models import UnitEscalation
from tracker.escalation.settings import save_settings
from tracker.issues import figures
from tracker.issues.models import Escalation, Issue
from tracker.notify.models import Outbox

# --- the ladder --------------------------------------------------------------

def test_each_level_fires_once_on_its_day_and_shows_on_the_timeline(jobs_app, clock):
    unit, staff, _ = team()
    supervisor = make_user("supervisor", email="sup@example.org")
    leader = make_user("leader", email="leader@example.org")
    deadline = date(2020, 8, 31)
    issue = make_issue(lead_unit=unit, deadline=deadline, progress_percent=95)
    make_report(issue, period="2020-08")
    make_report(issue, period="2020-09")
    db.session.commit()
    expected = {  # days from the deadline -> the kind that fires that day
        -7: "due_soon", -1: "due_soon", 1: "overdue", 15: "supervision_order", 30: "interview"}

    fired = []
    for offset in range(-10, 35):
        day = deadline + timedelta(days=offset)
        run(jobs_app, clock, day)
        run(jobs_app, clock, day)  # the same day twice: nothing more
        kinds = [e.action for e in events(issue.id, *expected.values()) if e.at.date() == day]
        fired += [(offset, k) for k in kinds]
    assert fired == sorted(expected.items())
    timeline = events(issue.id, *expected.values())
    assert [e.action for e in timeline] == ["due_soon", "due_soon", "overdue", "supervision_order", "interview"]
    assert all(e.actor_id is None for e in timeline)
    assert "还有 7 天" in timeline[0].comment and "已超过整改时限 2020-08-31 15 天" in timeline[3].comment
    assert count(Escalation, Escalation.issue_id == issue.id) == 5
    # Who got what: the ladder's roles, plus the unit's own mailbox for unit roles.
    assert recipients("due_soon") == sorted(["a-head@example.org", "a-office@example.org",
                                             "a-staff@example.org"] * 2)
    assert recipients("overdue") == ["a-head@example.org", "a-office@example.org", "sup@example.org"]
    assert recipients("supervision_order") == ["a-head@example.org", "a-office@example.org", "sup@example.org"]
    assert recipients("interview") == ["leader@example.org", "sup@example.org"]
    assert len(notices(leader.id)) == 1 and notices(leader.id)[0].link == f"/issues/{issue.id}"
    assert [n.kind for n in notices(staff.id) if n.kind != "digest"] == ["due_soon", "due_soon"]
    assert [n.kind for n in notices(supervisor.id) if n.kind != "digest"] == [
        "overdue", "supervision_order", "interview"]


def test_supervision_order_flags_the_issue_and_interviews_are_listed_for_leaders(jobs_app, clock):
    unit, _, _ = team()
    leader = make_user("leader")
    late = make_issue(lead_unit=unit, deadline=date(2020, 6, 1))
    later = make_issue(lead_unit=unit, deadline=date(2020, 5, 1))
    fine = make_issue(lead_unit=unit, deadline=date(2020, 6, 20))
    db.session.commit()

    run(jobs_app, clock, date(2020, 6, 21))  # late: 20 days overdue; later: 51; fine: 1

    supervised = set(db.session.scalars(select(Issue.id).where(figures.supervised())))
    assert supervised == {late.id, later.id}
    assert figures.supervised_ids(db.session, [late.id, fine.id]) == {late.id}
    items, total = flags.escalation_items(db.session, leader)
    assert total == 1 and [i.issue.id for i in items] == [later.id] and items[0].kind_label == "约谈/通报"
    # An issue first seen long overdue gets its highest level only: no due-soon reminder, late.
    ladder_kinds = ("due_soon", "overdue", "supervision_order", "interview")
    assert [e.action for e in events(later.id, *ladder_kinds)] == ["interview"]
    assert [e.action for e in events(fine.id, *ladder_kinds)] == ["overdue"]
    # Unit users see only their unit's escalated issues.
    stranger = make_user("unit_head")
    assert flags.escalation_items(db.session, stranger) == ([], 0)


def test_closed_submitted_and_merged_issues_are_not_escalated(jobs_app, clock):
    unit, _, _ = team()
    target = make_issue(lead_unit=unit, deadline=date(2020, 12, 31))
    for state in ("submitted", "verified", "closed"):
        make_issue(lead_unit=unit, deadline=date(2020, 7, 1), state=state)
    make_issue(lead_unit=unit, deadline=date(2020, 7, 1), merged_into_id=target.id)
    db.session.commit()
    run(jobs_app, clock, date(2020, 7, 5))
    assert count(Escalation, Escalation.kind.in_(("overdue", "due_soon"))) == 0


def test_working_day_ladder_waits_out_the_national_day_holiday(jobs_app, clock, app):
    admin = make_user("admin")
    save_settings(db.session, admin, {"day_mode": "working"})
    unit, _, _ = team()
    issue = make_issue(lead_unit=unit, deadline=date(2020, 9, 30))
    soon = make_issue(lead_unit=unit, deadline=date(2020, 10, 9))
    for i in (issue, soon):
        make_report(i, period="2020-09")
        make_report(i, period="2020-10")
    db.session.commit()

    fired = {}
    for n in range(0, 16):
        day = date(2020, 9, 27) + timedelta(days=n)
        run(jobs_app, clock, day)
        for e in events(issue.id, "overdue") + events(soon.id, "due_soon"):
            fired.setdefault((e.issue_id, e.action), day)
    # One working day after Sep 30 is Oct 9; one working day before Oct 9 is Sep 30,
    # and seven working days before it is Sep 27, a Sunday worked in lieu (调休).
    assert fired[(issue.id, "overdue")] == date(2020, 10, 9)
    assert [e.at.date() for e in events(soon.id, "due_soon")] == [date(2020, 9, 27), date(2020, 9, 30)]
    assert "1 个工作日" in events(issue.id, "overdue")[0].comment


# --- the yellow-light rule for units -----------------------------------------

def test_two_yellow_lights_in_a_month_raise_one_supervision_order_to_the_unit(jobs_app, clock):
    unit, _, _ = team()
    other, _, _ = team("b")
    make_user("supervisor", email="sup@example.org")
    # Due soon on Jul 13: yellow. A second issue turns yellow (due soon) on Jul 20.
    make_issue(lead_unit=unit, deadline=date(2020, 7, 18), progress_percent=90)
    make_issue(lead_unit=unit, deadline=date(2020, 7, 25), progress_percent=90)
    make_issue(lead_unit=other, deadline=date(2020, 7, 18), progress_percent=90)
    for issue in db.session.scalars(select(Issue)).all():
        make_report(issue, period="2020-06")
        make_report(issue, period="2020-07")
    db.session.commit()

    run(jobs_app, clock, date(2020, 7, 13))
    assert count(UnitEscalation) == 0
    run(jobs_app, clock, date(2020, 7, 20))
    orders = db.session.scalars(select(UnitEscalation)).all()
    assert [(o.unit_id, o.period, o.count) for o in orders] == [(unit.id, "2020-07", 2)]
    assert recipients("unit_supervision") == ["a-head@example.org", "a-office@example.org", "sup@example.org"]
    assert [u.id for u, _ in flags.unit_orders(db.session, "2020-07")] == [unit.id]
    run(jobs_app, clock, date(2020, 7, 21))
    assert count(UnitEscalation) == 1 and count(Outbox, Outbox.kind == "unit_supervision") == 3
