"""Running the day's jobs: a second run writes nothing, the lease, the `tracker jobs` command and the scheduler."""
from __future__ import annotations

from datetime import date, timedelta

from tests.support.factories import make_issue, make_user
from tests.support.jobs import count, events, run, team
from tracker.core.extensions import db
from tracker.core.lease import leader_lease
from tracker.escalation.models import UnitEscalation
from tracker.escalation.runner import run_jobs
from tracker.escalation.scheduler import DAILY_ID, DISPATCH_ID, _follow_digest_time, build_scheduler
from tracker.escalation.settings import save_settings
from tracker.issues.models import Escalation, Event, ReportLateness
from tracker.notify.models import Notice, Outbox


def test_a_second_run_of_the_day_writes_nothing(jobs_app, clock):
    unit, _, _ = team()
    make_user("supervisor", email="sup@example.org")
    make_user("leader", email="leader@example.org")
    for n in range(12):
        make_issue(lead_unit=unit, deadline=date(2020, 7, 19) - timedelta(days=4 * n), progress_percent=5 * n)
    db.session.commit()
    first = run(jobs_app, clock, date(2020, 7, 19), batch_size=5)
    snapshot = [count(m) for m in (Outbox, Notice, Event, Escalation, UnitEscalation, ReportLateness)]
    second = run(jobs_app, clock, date(2020, 7, 19), batch_size=5)
    assert first.new_mails > 0 and second.new_mails == 0
    assert [count(m) for m in (Outbox, Notice, Event, Escalation, UnitEscalation, ReportLateness)] == snapshot


def test_run_jobs_skips_while_another_process_holds_the_lease(jobs_app, clock):
    unit, _, _ = team()
    make_issue(lead_unit=unit, deadline=date(2020, 7, 10))
    db.session.commit()
    with leader_lease(db.engine) as held:
        assert held is not None
        report = run_jobs(db.session, date(2020, 7, 15), jobs_app.config, now=clock())
    assert not report.ran and "跳过" in report.lines()[0]
    assert count(Outbox) == 0
    report = run_jobs(db.session, date(2020, 7, 15), jobs_app.config, now=clock())
    assert report.ran and count(Outbox) > 0


def test_jobs_run_command(jobs_app, clock):
    unit, _, _ = team()
    issue = make_issue(lead_unit=unit, deadline=date(2020, 7, 10))
    db.session.commit()
    runner = jobs_app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "--today", "2020-07-15"])
    assert result.exit_code == 0, result.output
    assert "新邮件" in result.output and "未配置 TRACKER_SMTP_URL" in result.output
    assert [e.action for e in events(issue.id)] == ["overdue", "report_reminder"]
    again = runner.invoke(args=["jobs", "run", "--today", "2020-07-15"])
    assert "新邮件 0 封" in again.output
    bad = runner.invoke(args=["jobs", "run", "--today", "15/07/2020"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    assert "未配置" in runner.invoke(args=["jobs", "dispatch"]).output
    assert runner.invoke(args=["scheduler", "--help"]).exit_code == 0


def test_scheduler_runs_daily_at_the_set_time_in_shanghai_and_dispatches_every_minute(jobs_app):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = build_scheduler(jobs_app, BackgroundScheduler(timezone="Asia/Shanghai"), catch_up=False)
    daily, minute = scheduler.get_job(DAILY_ID), scheduler.get_job(DISPATCH_ID)
    fields = {f.name: str(f) for f in daily.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("8", "30")
    assert str(daily.trigger.timezone) == "Asia/Shanghai"
    assert minute.trigger.interval == timedelta(minutes=1)
    assert daily.max_instances == 1 and minute.max_instances == 1

    save_settings(db.session, make_user("admin"), {"digest_time": "07:15"})
    db.session.commit()
    scheduler.start(paused=True)
    try:
        _follow_digest_time(jobs_app, scheduler)
        fields = {f.name: str(f) for f in scheduler.get_job(DAILY_ID).trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("7", "15")
    finally:
        scheduler.shutdown(wait=False)
