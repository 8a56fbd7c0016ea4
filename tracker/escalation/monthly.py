"""The monthly report cycle (月度进展报送): reminder, late notice, and marking late reports.

- From the reminder day (default the 15th) to the due day (default the 18th), the
  lead and cooperating units of each open issue with no report for the month are
  reminded (unit staff and the unit's address), once per unit and month.
- After the due day, units still missing a report get a late notice (unit head and
  the unit's address), and the supervisors one summary grouped by unit.
- A report filed after its period's due day is marked late (`report_lateness`).

Each issue's reminder and late notice is an escalation row (UNIQUE issue, key) with
its timeline event; each mail's dedupe key names its period.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from tracker.core.sql import insert_ignore
from tracker.notify.render import MailContent, MailGroup
from tracker.issues.models import Issue, ProgressReport
from tracker.issues.models import Escalation, ReportLateness
from tracker.issues.services import record_event
from tracker.escalation.context import RunContext
from tracker.escalation.queries import SHANGHAI, counts_by_unit, due_date, due_end_utc, missing_report, ranked_per_unit, rows_by_unit
from tracker.escalation.settings import JobSettings

log = logging.getLogger(__name__)

LIST_LIMIT = 50
UNITS_PER_COMMIT = 50
SUMMARY_PER_UNIT = 10
REMINDER, LATE = "report_reminder", "report_late"


def run_monthly(ctx: RunContext) -> None:
    """Send what the monthly cycle owes today, then mark late reports."""
    period = ctx.period
    settings = ctx.settings
    if settings.report_reminder_day <= ctx.today.day <= settings.report_due_day:
        unit_pass(ctx, REMINDER, period, ("unit_staff",))
    if ctx.today.day > settings.report_due_day:
        unit_pass(ctx, LATE, period, ("unit_head",))
        supervisor_summary(ctx, period)
    mark_late_reports(ctx)


def _texts(kind: str, period: str, due: str) -> tuple[str, str]:
    if kind == REMINDER:
        return (f"提醒报送 {period} 月度整改进展(截止 {due})",
                f"请于 {due} 前报送 {period} 月度整改进展,经单位负责人审核后报督察整改办。")
    return (f"未按时报送 {period} 月度整改进展(截止 {due})",
            f"以下问题的 {period} 月度整改进展已超过报送截止日 {due} 仍未报送,请立即补报并说明原因。")


def unit_pass(ctx: RunContext, kind: str, period: str, roles: tuple[str, ...]) -> None:
    """Escalation rows and events for the issues missing the period's report, then each owing unit's mail
    (units whose mail is already queued for everyone are skipped)."""
    session = ctx.session
    missing = missing_report(period, ctx.settings)
    due = f"{due_date(period, ctx.settings):%Y-%m-%d}"
    sentence, instruction = _texts(kind, period, due)
    _mark_issues(ctx, kind, f"{kind}:{period}", period, missing, sentence)
    counts = counts_by_unit(session, {"missing": missing})
    done = ctx.delivered(kind, f"period:{period}:unit:")
    todo = []
    for unit_id in sorted(counts):
        if unit_id not in ctx.directory.units:  # created after this run loaded the units: the next run
            continue
        people = ctx.directory.for_unit(unit_id, roles)
        wanted = ctx.wanted(people)
        if wanted and not wanted <= done.get(f"period:{period}:unit:{unit_id}", set()):
            todo.append((unit_id, people))
    label = "报送提醒" if kind == REMINDER else "未按时报送"
    for start in range(0, len(todo), UNITS_PER_COMMIT):
        chunk = todo[start:start + UNITS_PER_COMMIT]
        listed = rows_by_unit(session, [u for u, _ in chunk], missing, [Issue.deadline, Issue.id], LIST_LIMIT,
                              [ctx.fig.days_overdue, ctx.fig.light])
        for unit_id, people in chunk:
            unit = ctx.directory.units[unit_id]
            total = counts[unit_id]["missing"]
            rows = listed.get(unit_id, [])
            content = MailContent(
                subject=f"【{label}】{unit.name} {period} 月度进展({total} 项)",
                heading=f"{unit.name}:{sentence}",
                intro=[instruction, f"共 {total} 项问题尚未报送 {period} 月度进展。"],
                groups=[MailGroup(items=[ctx.item(i, d, li) for i, d, li in rows],
                                  more=max(0, total - len(rows)),
                                  more_link=ctx.list_link(unit=unit.code, state="open"))],
                action_link=ctx.list_link(unit=unit.code, state="open"), action_label="登录系统报送进展",
            )
            ctx.deliver(people, kind=kind, ref=f"period:{period}:unit:{unit_id}", content=content,
                        link=f"/issues/?unit={unit.code}&state=open", unit_id=unit_id,
                        notice_body=f"共 {total} 项问题尚未报送 {period} 月度进展(截止 {due})。", show_unit=True)
        ctx.commit()


def _mark_issues(ctx: RunContext, kind: str, key: str, period: str, scope, sentence: str) -> None:
    """Insert the issues' escalation rows in batches; each new one gets its timeline event."""
    session = ctx.session
    after_id = 0
    while True:
        ids = list(session.scalars(
            select(Issue.id).where(scope, Issue.id > after_id,
                                   ~exists().where(and_(Escalation.issue_id == Issue.id, Escalation.key == key)))
            .order_by(Issue.id).limit(ctx.batch_size)))
        if not ids:
            return
        rows = [{"issue_id": i, "key": key, "kind": kind, "period": period, "fired_on": ctx.today,
                 "created_at": ctx.now} for i in ids]
        fired = list(session.scalars(insert_ignore(session, Escalation).values(rows).returning(Escalation.issue_id)))
        if fired:
            for issue in session.scalars(select(Issue).where(Issue.id.in_(fired)).order_by(Issue.id)):
                record_event(session, issue, None, ctx.event_at, kind, issue.state, issue.state, sentence)
            ctx.stats[f"escalations.{kind}"] += len(fired)
        ctx.commit()
        after_id = ids[-1]


def supervisor_summary(ctx: RunContext, period: str) -> None:
    """One mail per supervisor and period: the issues still missing the report, grouped by lead unit."""
    people = ctx.directory.with_role(("supervisor",))
    ref = f"period:{period}:all"
    wanted = ctx.wanted(people)
    if not wanted or wanted <= ctx.delivered(LATE, ref).get(ref, set()):
        return
    session = ctx.session
    missing = missing_report(period, ctx.settings)
    counts = session.execute(
        select(Issue.lead_unit_id, func.count()).where(missing).group_by(Issue.lead_unit_id)
        .order_by(func.count().desc(), Issue.lead_unit_id)
    ).all()
    if not counts:
        return
    rows = session.execute(ranked_per_unit(missing, [Issue.deadline, Issue.id], SUMMARY_PER_UNIT,
                                           [ctx.fig.days_overdue, ctx.fig.light])).all()
    by_unit: dict[int, list] = {}
    for issue, days, light in rows:
        by_unit.setdefault(issue.lead_unit_id, []).append(ctx.item(issue, days, light))
    total = sum(n for _, n in counts)
    due = f"{due_date(period, ctx.settings):%Y-%m-%d}"
    groups = []
    for unit_id, n in counts:
        unit = ctx.directory.units.get(unit_id)
        items = by_unit.get(unit_id, [])
        groups.append(MailGroup(title=f"{unit.name if unit else unit_id}(牵头 {n} 项)", items=items,
                                more=max(0, n - len(items)),
                                more_link=ctx.list_link(unit=unit.code if unit else None, state="open")))
    content = MailContent(
        subject=f"【未按时报送】{period} 月度进展未报送汇总({total} 项)",
        heading=f"{period} 月度整改进展未按时报送汇总",
        intro=[f"截至 {ctx.today:%Y-%m-%d},共 {total} 项问题超过报送截止日 {due} 仍未报送 {period} 月度进展,"
               f"涉及 {len(counts)} 个牵头单位,按未报送数量排列如下。"],
        groups=groups,
    )
    ctx.deliver(people, kind=LATE, ref=ref, content=content,
                link="/issues/?state=open", notice_body=f"共 {total} 项问题未按时报送 {period} 月度进展。")
    ctx.commit()


# --- late reports ------------------------------------------------------------

def report_is_late(period: str, filed_at: datetime, settings: JobSettings, tz: ZoneInfo = SHANGHAI) -> bool:
    """Whether a report for `period` filed at `filed_at` (naive UTC) came after the due day."""
    return filed_at >= due_end_utc(period, settings, tz)


def mark_if_late(session: Session, report: ProgressReport, settings: JobSettings,
                 tz: ZoneInfo = SHANGHAI) -> Optional[ReportLateness]:
    """Mark the period of a just-filed report late if this is its first report and it came after the due day.

    The report page can call this right after `report_progress`; the daily run does
    the same for any report it missed.
    """
    if not report_is_late(report.period, report.created_at, settings, tz):
        return None
    earlier = session.scalar(select(func.min(ProgressReport.created_at)).where(
        ProgressReport.issue_id == report.issue_id, ProgressReport.period == report.period))
    if earlier is not None and not report_is_late(report.period, earlier, settings, tz):
        return None
    session.execute(insert_ignore(session, ReportLateness).values(
        issue_id=report.issue_id, period=report.period, report_id=report.id,
        due_on=due_date(report.period, settings), filed_at=report.created_at))
    return session.scalar(select(ReportLateness).where(ReportLateness.issue_id == report.issue_id,
                                                       ReportLateness.period == report.period))


def mark_late_reports(ctx: RunContext, lookback_days: int = 62) -> int:
    """Mark late every (issue, period) whose first report came after the due day, among recent reports.

    Pages through (issue, period) groups with a keyset, committing each page.
    """
    session = ctx.session
    since = ctx.now - timedelta(days=lookback_days)
    tz = ZoneInfo(ctx.config.get("TIMEZONE", "Asia/Shanghai"))
    marked = 0
    last: tuple[int, str] = (0, "")
    while True:
        page = session.execute(
            select(ProgressReport.issue_id, ProgressReport.period,
                   func.min(ProgressReport.created_at), func.min(ProgressReport.id))
            .where(or_(ProgressReport.issue_id > last[0],
                       and_(ProgressReport.issue_id == last[0], ProgressReport.period > last[1])))
            .where(~exists().where(and_(ReportLateness.issue_id == ProgressReport.issue_id,
                                        ReportLateness.period == ProgressReport.period)))
            .group_by(ProgressReport.issue_id, ProgressReport.period)
            .having(func.max(ProgressReport.created_at) >= since)
            .order_by(ProgressReport.issue_id, ProgressReport.period)
            .limit(ctx.batch_size)
        ).all()
        if not page:
            break
        rows = []
        for issue_id, period, first_at, first_id in page:
            try:
                late = report_is_late(period, first_at, ctx.settings, tz)
            except ValueError:  # a malformed period string: nothing to judge
                continue
            if late:
                rows.append({"issue_id": issue_id, "period": period, "report_id": first_id,
                             "due_on": due_date(period, ctx.settings), "filed_at": first_at})
        if rows:
            new = session.scalars(insert_ignore(session, ReportLateness).values(rows)
                                  .returning(ReportLateness.id)).all()
            marked += len(new)
        ctx.commit()
        last = (page[-1][0], page[-1][1])
    ctx.stats["reports.late_marked"] += marked
    return marked


__all__ = ["run_monthly", "mark_if_late", "report_is_late", "mark_late_reports"]
