"""The day's jobs: the escalation ladder, the monthly cycle, the yellow-light rule, digests and
preferences, settings, the lease, the scheduler and the command. Time is injected throughout."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.core.extensions import db
from tracker.escalation import services as flags
from tracker.issues import figures
from tracker.notify import prefs
from tracker.core.lease import leader_lease
from tracker.escalation.monthly import mark_if_late
from tracker.escalation.runner import run_jobs
from tracker.escalation.scheduler import DAILY_ID, DISPATCH_ID, _follow_digest_time, build_scheduler
from tracker.escalation.settings import DEFAULTS, get_settings, save_settings
from tracker.issues.models import Event, Issue
from tracker.issues.models import Escalation, ReportLateness
from tracker.core.models import JobSetting
from tracker.notify.models import Notice, Outbox
from tracker.escalation.models import UnitEscalation
from tracker.issues.services import report_progress
from tracker.core.errors import Refusal

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.jobs import count, events, notices, outbox, recipients, run, team


# --- the ladder --------------------------------------------------------------

def test_each_level_fires_once_on_its_day_and_shows_on_the_timeline(jobs_app, clock):
    unit, staff, head = team()
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


# --- the monthly report cycle -------------------------------------------------

def test_report_reminder_on_the_15th_to_lead_and_cooperating_units(jobs_app, clock):
    lead, lead_staff, lead_head = team("lead")
    coop, coop_staff, _ = team("coop")
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
    assert [e.comment for e in events(owing.id, "report_reminder")] == ["提醒报送 2020-07 月度整改进展(截止 2020-07-18)"]
    assert events(filed.id, "report_reminder") == []

    for day in (16, 17, 18):  # still in the window: nothing new
        run(jobs_app, clock, date(2020, 7, day))
    assert count(Outbox, Outbox.kind == "report_reminder") == 4
    assert len(events(owing.id, "report_reminder")) == 1
    assert count(Outbox, Outbox.kind == "report_late") == 0


def test_late_notice_the_day_after_the_due_day_and_late_reports_are_marked(jobs_app, clock):
    unit, staff, head = team()
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
    marks = db.session.scalars(select(ReportLateness)).all()
    assert [(m.issue_id, m.period, m.due_on) for m in marks] == [(owing.id, "2020-07", date(2020, 7, 18))]
    assert figures.late_periods(db.session, owing.id) == {"2020-07"}
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


# --- the yellow-light rule for units -----------------------------------------

def test_two_yellow_lights_in_a_month_raise_one_supervision_order_to_the_unit(jobs_app, clock):
    unit, _, head = team()
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


# --- digests and preferences -------------------------------------------------

def test_digest_preferences_weekly_and_off(jobs_app, clock):
    unit, staff, head = team()
    other = make_user("unit_staff", unit=unit, email="a-other@example.org")
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


def test_preferences_refuse_bad_values_and_other_people(jobs_app):
    user, other = make_user("unit_staff"), make_user("unit_staff")
    assert prefs.get_digest_pref(db.session, user) == "daily"
    with pytest.raises(Refusal) as err:
        prefs.set_digest_pref(db.session, user, "hourly")
    assert err.value.kind == "invalid" and err.value.field == "digest"
    with pytest.raises(Refusal) as err:
        prefs.set_digest_pref(db.session, user, "none", user=other)
    assert err.value.kind == "forbidden"
    assert prefs.get_digest_pref(db.session, other) == "daily"
    prefs.set_digest_pref(db.session, make_user("admin"), "weekly", user=other)
    assert prefs.get_digest_pref(db.session, other) == "weekly"


# --- settings ------------------------------------------------------------------

def test_settings_default_save_and_read_back(jobs_app):
    admin = make_user("admin")
    assert get_settings(db.session) == DEFAULTS
    assert [lv.key for lv in DEFAULTS.ladder] == ["due_soon-7", "due_soon-1", "overdue+1", "supervision_order+15",
                                                  "interview+30"]
    saved = save_settings(db.session, admin, {
        "ladder": [{"offset": "20", "kind": "interview", "roles": "leader, supervisor"},
                   {"offset": -3, "kind": "due_soon", "roles": ["unit_staff"]},
                   {"offset": 2, "kind": "overdue", "roles": ["unit_head", "supervisor"]}],
        "day_mode": "working", "report_due_day": "20", "report_reminder_day": 16, "unit_yellow_limit": 3,
        "digest_time": "7:45",
    })
    db.session.commit()
    again = get_settings(db.session)
    assert again == saved
    assert [lv.key for lv in again.ladder] == ["due_soon-3", "overdue+2", "interview+20"]
    assert again.ladder[2].roles == ("supervisor", "leader")
    assert (again.day_mode, again.report_due_day, again.digest_time) == ("working", 20, "07:45")


@pytest.mark.parametrize("data, field, words", [
    ({"ladder": [{"offset": 3, "kind": "due_soon", "roles": ["unit_staff"]}]}, "ladder", "临期提醒必须"),
    ({"ladder": [{"offset": 0, "kind": "overdue", "roles": ["unit_staff"]}]}, "ladder", "逾期之后"),
    ({"ladder": [{"offset": "x", "kind": "overdue", "roles": ["unit_head"]}]}, "ladder", "整数"),
    ({"ladder": [{"offset": 1, "kind": "bogus", "roles": ["unit_head"]}]}, "ladder", "类型无效"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": []}]}, "ladder", "至少"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": ["root"]}]}, "ladder", "通知对象"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": ["unit_head"]},
                 {"offset": 1, "kind": "overdue", "roles": ["supervisor"]}]}, "ladder", "重复"),
    ({"ladder": [{"offset": 5, "kind": "overdue", "roles": ["unit_head"]},
                 {"offset": 3, "kind": "interview", "roles": ["leader"]}]}, "ladder", "顺序不对"),
    ({"ladder": "not json"}, "ladder", "格式"),
    ({"ladder": [{"offset": 9999, "kind": "overdue", "roles": ["unit_head"]}]}, "ladder", "之间"),
    ({"day_mode": "lunar"}, "day_mode", "自然日或工作日"),
    ({"report_due_day": 31}, "report_due_day", "1 到 28"),
    ({"report_due_day": True}, "report_due_day", "整数"),
    ({"report_reminder_day": 20}, "report_reminder_day", "早于"),
    ({"unit_yellow_limit": -1}, "unit_yellow_limit", "0 到 31"),
    ({"digest_time": "25:00"}, "digest_time", "HH:MM"),
    ({"digest_time": "08:30\r\n"}, "digest_time", None),
    ({"colour": "red"}, "colour", "未知"),
])
def test_malformed_settings_are_refused_and_nothing_changes(jobs_app, data, field, words):
    admin = make_user("admin")
    if data == {"digest_time": "08:30\r\n"}:
        # Surrounding whitespace is trimmed: a value that is right apart from it is taken.
        assert save_settings(db.session, admin, data).digest_time == "08:30"
        return
    with pytest.raises(Refusal) as err:
        save_settings(db.session, admin, data)
    assert err.value.kind == "invalid" and err.value.field == field
    assert words in err.value.message
    db.session.rollback()
    assert count(JobSetting) == 0 and get_settings(db.session) == DEFAULTS


def test_only_admins_change_settings_and_a_broken_stored_value_falls_back(jobs_app):
    with pytest.raises(Refusal) as err:
        save_settings(db.session, make_user("supervisor"), {"report_due_day": 20})
    assert err.value.kind == "forbidden"
    db.session.rollback()
    db.session.add(JobSetting(key="report_due_day", value="{broken"))
    db.session.add(JobSetting(key="ladder", value='[{"offset": 1, "kind": "nope", "roles": []}]'))
    db.session.commit()
    assert get_settings(db.session) == DEFAULTS


# --- idempotence, the lease, the command, the scheduler ----------------------

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


def test_sqlite_lease_admits_one_holder_until_it_expires(jobs_app):
    engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease row is the SQLite lease; PostgreSQL uses an advisory lock")
    t0 = datetime(2020, 7, 15, 0, 30)
    moment = {"now": t0}
    with leader_lease(engine, "test", ttl=timedelta(minutes=10), now=lambda: moment["now"]) as first:
        assert first is not None
        with leader_lease(engine, "test", now=lambda: moment["now"]) as second:
            assert second is None
        moment["now"] = t0 + timedelta(minutes=9)
        first.renew()  # now valid until t0 + 19 min
        moment["now"] = t0 + timedelta(minutes=15)
        with leader_lease(engine, "test", now=lambda: moment["now"]) as third:
            assert third is None
        moment["now"] = t0 + timedelta(minutes=20)
        with leader_lease(engine, "test", now=lambda: moment["now"]) as fourth:
            assert fourth is not None  # the first holder stalled past its expiry
    with leader_lease(engine, "test", now=lambda: moment["now"]) as fifth:
        assert fifth is not None


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
    from sqlalchemy import func as sa_func, true

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
