"""The monthly report cycle of the day's jobs: reminders, late notices and late reports, in Beijing time."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.support.factories import make_issue, make_report, make_user
from tests.support.jobs import count, events, outbox, recipients, run, team
from tracker.core.extensions import db
from tracker.escalation.monthly import mark_if_late
from tracker.escalation.settings import get_settings
from tracker.issues import figures
from tracker.issues.models import ReportLateness
from tracker.issues.services import report_progress
from tracker.notify.models import Outbox


def test_report_reminder_on_the_15th_to_lead_and_cooperating_units(jobs_app, clock):
    lead, _, _ = team("lead")
    coop, _, _ = team("coop")
    make_user("supervisor", email="sup@example.org")
    owing = make_issue(lead_unit=lead, cooperating=(coop,), deadline=date(2021, 6, 30), progress_percent=60)
    filed = make_issue(lead_unit=lead, deadline=date(2021, 6, 30), progress_percent=60)
    make_report(filed, period="2020-07")
    make_report(owing, period="2020-06")
    make_report(filed, period="2020-06")
    db.session.commit()

    run(jobs_app, clock, date(2020, 7, 14))
    assert count(Outbox, Outbox.kind == "report_reminder") == 0

    run(jobs_app, clock, date(2020, 7, 15))
    assert recipients("report_reminder") == ["coop-office@example.org", "coop-staff@example.org",
                                             "lead-office@example.org", "lead-staff@example.org"]
    mail = outbox(Outbox.kind == "report_reminder", Outbox.to_addr == "coop-staff@example.org")[0]
    assert owing.code in mail.body_text and filed.code not in mail.body_text
    assert [e.comment for e in events(owing.id, "report_reminder")] == [
        "提醒报送 2020-07 月度整改进展(截止 2020-07-18)"]
    assert events(filed.id, "report_reminder") == []

    for day in (16, 17, 18):  # still in the window: nothing new
        run(jobs_app, clock, date(2020, 7, day))
    assert count(Outbox, Outbox.kind == "report_reminder") == 4
    assert len(events(owing.id, "report_reminder")) == 1
    assert count(Outbox, Outbox.kind == "report_late") == 0


def test_late_notice_the_day_after_the_due_day_and_late_reports_are_marked(jobs_app, clock):
    unit, staff, _ = team()
    make_user("supervisor", email="sup@example.org")
    owing = make_issue(lead_unit=unit, deadline=date(2021, 6, 30), progress_percent=60)
    on_time = make_issue(lead_unit=unit, deadline=date(2021, 6, 30), progress_percent=60)
    db.session.commit()
    clock.set("2020-07-17T03:00:00")
    report_progress(db.session, staff, clock(), on_time, "2020-07", 65, "按计划推进")
    db.session.commit()

    run(jobs_app, clock, date(2020, 7, 18))
    assert count(Outbox, Outbox.kind == "report_late") == 0

    run(jobs_app, clock, date(2020, 7, 19))
    assert recipients("report_late") == ["a-head@example.org", "a-office@example.org", "sup@example.org"]
    summary = outbox(Outbox.kind == "report_late", Outbox.to_addr == "sup@example.org")[0]
    assert summary.subject == "【未按时报送】2020-07 月度进展未报送汇总(1 项)"
    assert owing.code in summary.body_text and on_time.code not in summary.body_text
    assert len(events(owing.id, "report_late")) == 1 and events(on_time.id, "report_late") == []

    # The report comes on the 20th: it is marked late; the one of the 17th is not.
    clock.set("2020-07-20T03:00:00")
    late_report = report_progress(db.session, staff, clock(), owing, "2020-07", 62, "补报")
    db.session.commit()
    assert mark_if_late(db.session, late_report, get_settings(db.session)) is not None
    db.session.rollback()  # the daily run marks it too, on its own
    run(jobs_app, clock, date(2020, 7, 21))
    marks = db.session.scalars(select(ReportLateness).where(ReportLateness.period == "2020-07")).all()
    assert [(m.issue_id, m.period, m.due_on) for m in marks] == [(owing.id, "2020-07", date(2020, 7, 18))]
    assert marks[0].report_id == late_report.id and marks[0].filed_at == late_report.created_at
    # Neither issue ever reported for June (or May), which they owed (assigned in January): each run marks
    # the last two due periods, so both are marked late for them, still missing.
    june = db.session.scalars(select(ReportLateness).where(ReportLateness.period == "2020-06")).all()
    assert sorted((m.issue_id, m.filed_at) for m in june) == sorted([(owing.id, None), (on_time.id, None)])
    assert figures.late_periods(db.session, owing.id) == {"2020-05", "2020-06", "2020-07"}
    assert count(Outbox, Outbox.kind == "report_late") == 3  # nothing new on the 21st


def test_a_report_filed_late_on_the_due_day_in_beijing_is_on_time(jobs_app, clock):
    unit, staff, _ = team()
    issue = make_issue(lead_unit=unit)
    db.session.commit()
    clock.set("2020-07-18T15:59:00")  # 23:59 on the 18th in Beijing
    report = report_progress(db.session, staff, clock(), issue, "2020-07", 30, "当日报送")
    assert mark_if_late(db.session, report, get_settings(db.session)) is None
    clock.set("2020-07-18T16:00:00")  # 00:00 on the 19th in Beijing
    report = report_progress(db.session, staff, clock(), make_issue(lead_unit=unit), "2020-07", 30, "次日报送")
    assert mark_if_late(db.session, report, get_settings(db.session)) is not None
