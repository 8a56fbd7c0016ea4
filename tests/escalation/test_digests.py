"""Digests of the day's jobs: per preference, only when there is news, each unit's own issues, grouped unit views."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.jobs import count, notices, outbox, recipients, run, team
from tracker.core.extensions import db
from tracker.issues.models import Issue
from tracker.notify import prefs
from tracker.notify.models import Notice, Outbox


def test_digest_preferences_weekly_and_off(jobs_app, clock):
    unit, staff, head = team()
    make_user("unit_staff", unit=unit, email="a-other@example.org")
    prefs.set_digest_pref(db.session, staff, "weekly")
    prefs.set_digest_pref(db.session, head, "none")
    make_issue(lead_unit=unit, deadline=date(2020, 7, 1), progress_percent=50)
    db.session.commit()

    tuesday, monday = date(2020, 7, 14), date(2020, 7, 20)
    run(jobs_app, clock, tuesday)
    assert recipients("digest") == ["a-office@example.org", "a-other@example.org"]
    run(jobs_app, clock, monday)
    assert recipients("digest") == ["a-office@example.org", "a-office@example.org", "a-other@example.org",
                                    "a-other@example.org", "a-staff@example.org"]
    # Escalations cannot be turned off: the head still got the overdue notice and its notice.
    assert "a-head@example.org" in recipients("overdue")
    assert [n.kind for n in notices(head.id)] == ["overdue", "supervision_order", "report_late"]


def test_no_digest_when_there_is_nothing_to_say(jobs_app, clock):
    unit, _, _ = team()
    make_user("supervisor", email="sup@example.org")
    issue = make_issue(lead_unit=unit, deadline=date(2021, 6, 30), progress_percent=80)
    make_report(issue, period="2020-06")
    db.session.commit()
    run(jobs_app, clock, date(2020, 7, 13))
    assert count(Outbox) == 0 and count(Notice) == 0


def test_unit_digest_lists_cooperating_issues_but_not_other_units(jobs_app, clock):
    a, _, _ = team("a")
    b, _, _ = team("b")
    c = make_unit(email="c-office@example.org")
    mine = make_issue(lead_unit=a, code="A-1", deadline=date(2020, 7, 1))
    shared = make_issue(lead_unit=b, code="B-1", cooperating=(a,), deadline=date(2020, 7, 2))
    theirs = make_issue(lead_unit=b, code="B-2", deadline=date(2020, 7, 3))
    elsewhere = make_issue(lead_unit=c, code="C-1", cooperating=(b,), deadline=date(2020, 7, 4))
    for i in (mine, shared, theirs, elsewhere):
        make_report(i, period="2020-06")
    db.session.commit()
    run(jobs_app, clock, date(2020, 7, 10))

    def digest_of(addr):
        (row,) = outbox(Outbox.kind == "digest", Outbox.to_addr == addr)
        return row.body_text + row.body_html

    a_text = digest_of("a-staff@example.org")
    assert "A-1" in a_text and "B-1" in a_text and "B-2" not in a_text and "C-1" not in a_text
    b_text = digest_of("b-head@example.org")
    assert all(code in b_text for code in ("B-1", "B-2", "C-1")) and "A-1" not in b_text
    c_text = digest_of("c-office@example.org")
    assert "C-1" in c_text and "B-2" not in c_text and "A-1" not in c_text


def test_grouped_unit_views_agree_with_the_scoping_rule(jobs_app):
    from sqlalchemy import func as sa_func
    from sqlalchemy import true

    from tracker.escalation.queries import counts_by_unit, rows_by_unit, unit_scope

    units = [make_unit() for _ in range(4)]
    for n in range(12):
        make_issue(lead_unit=units[n % 4], cooperating=tuple(u for u in units if u is not units[n % 4])[: n % 3],
                   progress_percent=n * 5)
    db.session.commit()
    grouped = counts_by_unit(db.session, {"all": true(), "low": Issue.progress_percent < 30})
    listed = rows_by_unit(db.session, [u.id for u in units], true(), [Issue.id], 100)
    for unit in units:
        scoped = db.session.scalars(select(Issue.id).where(unit_scope(unit.id)).order_by(Issue.id)).all()
        low = db.session.scalar(select(sa_func.count()).select_from(Issue)
                                .where(unit_scope(unit.id), Issue.progress_percent < 30))
        assert grouped[unit.id] == {"all": len(scoped), "low": low}
        assert [row[0].id for row in listed[unit.id]] == scoped
