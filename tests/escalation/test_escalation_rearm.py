"""A moved deadline re-arms the escalation ladder: the old rungs stay in history, the new deadline's fire
again (once each); and the database itself refuses a value outside a vocabulary."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from tests.support.factories import make_issue, make_unit, make_user
from tracker.accounts.models import User
from tracker.core.extensions import db
from tracker.escalation.runner import run_day
from tracker.issues import services as issue_service
from tracker.issues.models import Escalation, Event, Issue
from tracker.notify.models import Outbox


def run(app, day: date):
    run_day(db.session, day, app.config, now=datetime(day.year, day.month, day.day, 1), dispatch_mail=False)


def rungs(issue_id: int) -> list[tuple[str, date]]:
    return [(key, due) for key, due in db.session.execute(
        select(Escalation.key, Escalation.due_on).where(Escalation.issue_id == issue_id)
        .order_by(Escalation.id)).all() if not key.startswith("report_")]


@pytest.fixture
def overdue_issue(session):
    unit = make_unit(email="office@example.org")
    make_user("unit_head", unit=unit, email="head@example.org")
    sup = make_user("supervisor", email="sup@example.org")
    issue = make_issue(lead_unit=unit, deadline=date(2020, 7, 1), assigned_on=date(2020, 1, 1),
                       original_deadline=date(2020, 7, 1), progress_percent=90)
    session.commit()
    return issue, sup


def test_a_later_deadline_re_arms_the_ladder_and_keeps_the_old_rungs(app, overdue_issue):
    issue, sup = overdue_issue
    run(app, date(2020, 7, 2))  # one day overdue: the overdue notice
    assert rungs(issue.id) == [("overdue+1", date(2020, 7, 1))]
    run(app, date(2020, 7, 16))  # fifteen days: the supervision order
    assert rungs(issue.id)[-1] == ("supervision_order+15", date(2020, 7, 1))
    mails_before = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.issue_id == issue.id,
                                                                                    Outbox.kind != "deadline_changed"))

    issue_service.update_issue(db.session, sup, datetime(2020, 7, 16, 3), issue, {"deadline": "2020-07-31"},
                               date(2020, 7, 16), reason="延期半月")
    db.session.commit()
    run(app, date(2020, 7, 24))  # 7 days before the new deadline: its due-soon reminder fires
    run(app, date(2020, 7, 24))  # the same day again: nothing new
    run(app, date(2020, 8, 1))  # a day past the new deadline: the overdue notice again, for the new deadline
    assert rungs(issue.id) == [("overdue+1", date(2020, 7, 1)), ("supervision_order+15", date(2020, 7, 1)),
                               ("due_soon-7", date(2020, 7, 31)), ("overdue+1", date(2020, 7, 31))]
    kinds = [a for (a,) in db.session.execute(select(Event.action).where(Event.issue_id == issue.id,
                                                                          Event.actor_id.is_(None))
                                              .order_by(Event.id)) if not a.startswith("report_")]
    assert kinds == ["overdue", "supervision_order", "due_soon", "overdue"]
    mails_after = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.issue_id == issue.id,
                                                                                   Outbox.kind != "deadline_changed"))
    assert mails_after > mails_before
    # One mail per rung, deadline and address: the overdue notice of each deadline went to the head once.
    overdue_mails = db.session.scalars(select(Outbox.ref).where(Outbox.issue_id == issue.id, Outbox.kind == "overdue",
                                                                Outbox.to_addr == "head@example.org")).all()
    assert sorted(overdue_mails) == [f"issue:{issue.id}:overdue+1:2020-07-01", f"issue:{issue.id}:overdue+1:2020-07-31"]
    # Still under supervision order: the order of the old deadline stands until the issue is closed.
    from tracker.issues.figures import supervised

    assert db.session.scalar(select(func.count()).select_from(Issue).where(Issue.id == issue.id, supervised())) == 1


def test_an_unmoved_deadline_fires_each_rung_once(app, overdue_issue):
    issue, _sup = overdue_issue
    for day in (date(2020, 7, 2), date(2020, 7, 3), date(2020, 7, 16), date(2020, 7, 17)):
        run(app, day)
    assert [key for key, _due in rungs(issue.id)] == ["overdue+1", "supervision_order+15"]


def test_a_row_from_before_deadlines_were_kept_stands_for_the_current_deadline(app, overdue_issue):
    issue, _sup = overdue_issue
    db.session.add(Escalation(issue_id=issue.id, key="overdue+1", kind="overdue", fired_on=date(2020, 7, 2)))
    db.session.commit()
    run(app, date(2020, 7, 3))
    assert rungs(issue.id) == [("overdue+1", None)]


@pytest.mark.parametrize("table, column, value", [
    ("users", "role", "boss"), ("issues", "state", "lost"), ("issues", "category", "rumour"),
    ("events", "action", "shout"), ("escalations", "kind", "yell"), ("rounds", "level", "galactic"),
])
def test_the_database_refuses_a_value_outside_its_vocabulary(app, overdue_issue, table, column, value):
    issue, sup = overdue_issue
    row_id = {"users": sup.id, "issues": issue.id, "rounds": issue.round_id}.get(table)
    if table == "events":
        row_id = db.session.scalar(select(func.max(Event.id))) or 0
        if not row_id:
            issue_service.update_issue(db.session, sup, datetime(2020, 7, 2), issue, {"title": "改"}, date(2020, 7, 2))
            db.session.commit()
            row_id = db.session.scalar(select(func.max(Event.id)))
    if table == "escalations":
        run(app, date(2020, 7, 2))
        row_id = db.session.scalar(select(func.max(Escalation.id)))
    with pytest.raises(IntegrityError):
        db.session.execute(text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), {"value": value, "id": row_id})
        db.session.flush()
    db.session.rollback()


def test_the_models_refuse_an_unknown_value_before_the_database_does(app, overdue_issue):
    issue, _sup = overdue_issue
    issue.state = "lost"
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()


def test_an_approved_extension_re_arms_the_overdue_rung_for_the_new_deadline(app, overdue_issue):
    from tracker.issues import extensions

    issue, _sup = overdue_issue
    head = db.session.scalar(select(User).where(User.role == "unit_head"))
    run(app, date(2020, 7, 2))  # one day overdue: the overdue notice
    assert rungs(issue.id) == [("overdue+1", date(2020, 7, 1))]
    # The deadline has passed: the unit asks for time and the office grants it.
    office = make_user("supervisor")
    request = extensions.request_extension(db.session, head, datetime(2020, 7, 3, 2), issue, "2020-07-20", "雨季停工")
    extensions.decide_extension(db.session, office, datetime(2020, 7, 3, 3), request, "approve")
    db.session.commit()
    run(app, date(2020, 7, 10))  # not overdue now: no new overdue rung
    assert [key for key, _due in rungs(issue.id)] == ["overdue+1"]
    run(app, date(2020, 7, 21))  # a day past the new deadline: the overdue rung fires again, for it
    assert ("overdue+1", date(2020, 7, 20)) in rungs(issue.id)
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.ref == f"issue:{issue.id}:overdue+1:2020-07-20")) >= 1
