"""The monthly report cycle (月度进展报送): reminder, late notice, and marking late reports.

- From the reminder day (default the 15th) to the due day (default the 18th), the
  lead and cooperating units of each open issue with no report for the month are
  reminded (unit staff and the unit's address), once per unit and month.
- After the due day, units still missing a report get a late notice (unit head and
  the unit's address), and the supervisors one summary grouped by unit.
- An (issue, period) the issue owed and no report covered by the due day is marked late
  (`report_lateness`, 未按时报送), as soon as the due day has passed or a late report comes.

Each issue's reminder and late notice is an escalation row (UNIQUE issue, key) with
its timeline event; each mail's dedupe key names its period.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, literal, select, update

from tracker.core.clock import utc_offset_hours
from tracker.core.enums import Role
from tracker.core.extensions import DbSession
from tracker.core.sql import insert_ignore
from tracker.escalation.context import RunContext
from tracker.escalation.queries import (
    SHANGHAI,
    counts_by_unit,
    due_date,
    due_end_utc,
    late_period,
    missing_report,
    previous_period,
    ranked_per_unit,
    reminder_date,
    rows_by_unit,
)
from tracker.escalation.settings import JobSettings
from tracker.issues import figures
from tracker.issues.models import Escalation, Issue, ProgressReport, ReportLateness
from tracker.issues.services import record_event
from tracker.notify.render import MailContent, MailGroup

log = logging.getLogger(__name__)

LIST_LIMIT = 50
UNITS_PER_COMMIT = 50
SUMMARY_PER_UNIT = 10
REMINDER, LATE = "report_reminder", "report_late"


def run_monthly(ctx: RunContext) -> None:
    """Mark late reports, then send what the monthly cycle owes today (reminders before the due day,
    late notices after it, for the reports still missing)."""
    period = ctx.period
    settings = ctx.settings
    mark_late_reports(ctx)
    if settings.report_reminder_day <= ctx.today.day <= settings.report_due_day:
        unit_pass(ctx, REMINDER, period, (Role.UNIT_STAFF,))
    if ctx.today.day > settings.report_due_day:
        unit_pass(ctx, LATE, period, (Role.UNIT_HEAD,))
        supervisor_summary(ctx, period)


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
    # Before the due day: not yet reported (a reminder); after it: marked late and still missing.
    missing = missing_report(period, ctx.settings) if kind == REMINDER else figures.still_missing(period)
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
    first_day = date(int(period[:4]), int(period[5:7]), 1)  # a monthly step counts from its period
    after_id = 0
    while True:
        ids = list(session.scalars(
            select(Issue.id).where(scope, Issue.id > after_id,
                                   ~exists().where(and_(Escalation.issue_id == Issue.id, Escalation.key == key)))
            .order_by(Issue.id).limit(ctx.batch_size)))
        if not ids:
            return
        rows = [{"issue_id": i, "key": key, "kind": kind, "period": period, "due_on": first_day,
                 "fired_on": ctx.today, "created_at": ctx.now} for i in ids]
        fired = list(session.scalars(insert_ignore(session, Escalation).values(rows).returning(Escalation.issue_id)))
        if fired:
            for issue in session.scalars(select(Issue).where(Issue.id.in_(fired)).order_by(Issue.id)):
                record_event(session, issue, None, ctx.event_at, kind, issue.state, issue.state, sentence)
            ctx.stats[f"escalations.{kind}"] += len(fired)
        ctx.commit()
        after_id = ids[-1]


def supervisor_summary(ctx: RunContext, period: str) -> None:
    """One mail per supervisor and period: the issues still missing the report in their jurisdiction
    (all of them for supervisors serving no area node), grouped by lead unit."""
    for area, people in sorted(ctx.directory.by_area(("supervisor",)).items(), key=lambda kv: kv[0] or 0):
        _area_summary(ctx, period, area, people)


def _area_summary(ctx: RunContext, period: str, area: Optional[int], people: list) -> None:
    """The summary of one jurisdiction for the supervisors serving it."""
    ref = f"period:{period}:all" if area is None else f"period:{period}:area:{area}"
    wanted = ctx.wanted(people)
    if not wanted or wanted <= ctx.delivered(LATE, ref).get(ref, set()):
        return
    session = ctx.session
    missing = figures.still_missing(period)
    scope, area_name = ctx.area_scope(area)
    if scope is not None:
        missing = and_(missing, scope)
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
        intro=[f"截至 {ctx.today:%Y-%m-%d},{'' if area is None else area_name}"
               f"共 {total} 项问题超过报送截止日 {due} 仍未报送 {period} 月度进展,"
               f"涉及 {len(counts)} 个牵头单位,按未报送数量排列如下。"],
        groups=groups,
    )
    ctx.deliver(people, kind=LATE, ref=ref, content=content,
                link="/issues/?state=open", notice_body=f"共 {total} 项问题未按时报送 {period} 月度进展。")
    ctx.commit()


# --- late reports ------------------------------------------------------------
#
# A late report (未按时报送) is an (issue, period) the issue owed and that no report covered by the end
# of the due day: `figures.late_for`. `mark_late` writes those rows (set-based, idempotent), with the
# first report's time once it has come; every page counts the rows.

def report_is_late(period: str, filed_at: datetime, settings: JobSettings, tz: ZoneInfo = SHANGHAI) -> bool:
    """Whether a report for `period` filed at `filed_at` (naive UTC) came after the due day."""
    return filed_at >= due_end_utc(period, settings, tz)


def _first_report(period: str, column: Any) -> Any:
    """The issue's first report of `period` (its `column`: id or created_at), as a correlated scalar."""
    return (select(column).where(ProgressReport.issue_id == Issue.id, ProgressReport.period == period)
            .order_by(ProgressReport.created_at, ProgressReport.id).limit(1).correlate(Issue).scalar_subquery())


def mark_late(session: DbSession, period: str, settings: JobSettings, tz: ZoneInfo = SHANGHAI,
              issue_ids: Optional[list[int]] = None) -> int:
    """Mark every issue late for `period` (of `issue_ids`, or all) that is not marked yet, and fill in the
    first report of marks still missing one; return how many marks are new. Two statements, no rows loaded."""
    due = due_date(period, settings)
    hours = utc_offset_hours(due, str(tz.key))
    late = figures.late_for(period, reminder_date(period, settings), due, due_end_utc(period, settings, tz), hours)
    source = select(Issue.id, literal(period), _first_report(period, ProgressReport.id), literal(due),
                    _first_report(period, ProgressReport.created_at)).where(late)
    if issue_ids is not None:
        source = source.where(Issue.id.in_(issue_ids))
    new = session.execute(insert_ignore(session, ReportLateness).from_select(
        ["issue_id", "period", "report_id", "due_on", "filed_at"], source).returning(ReportLateness.id)).all()
    fill_late_filings(session, period, issue_ids)
    return len(new)


def fill_late_filings(session: DbSession, period: Optional[str] = None, issue_ids: Optional[list[int]] = None) -> None:
    """Marks still waiting for their report (of `period` and `issue_ids`, or all) get the first report that
    has come since (late, by definition)."""
    first = (select(ProgressReport.id, ProgressReport.created_at)
             .where(ProgressReport.issue_id == ReportLateness.issue_id, ProgressReport.period == ReportLateness.period)
             .order_by(ProgressReport.created_at, ProgressReport.id).limit(1).correlate(ReportLateness))
    cond = [ReportLateness.filed_at.is_(None),
            exists().where(and_(ProgressReport.issue_id == ReportLateness.issue_id,
                                ProgressReport.period == ReportLateness.period))]
    if period is not None:
        cond.append(ReportLateness.period == period)
    if issue_ids is not None:
        cond.append(ReportLateness.issue_id.in_(issue_ids))
    session.execute(update(ReportLateness).where(*cond).values(
        report_id=first.with_only_columns(ProgressReport.id).scalar_subquery(),
        filed_at=first.with_only_columns(ProgressReport.created_at).scalar_subquery(),
    ).execution_options(synchronize_session=False))


def mark_if_late(session: DbSession, report: ProgressReport, settings: JobSettings,
                 tz: ZoneInfo = SHANGHAI) -> Optional[ReportLateness]:
    """Mark the period of a just-filed report late if it came after the due day and nothing covered the
    period before; return the mark, or None when the report was on time (or not owed).

    Called as the report is filed (a subscriber of `ProgressReported`); the daily run marks the same."""
    if not report_is_late(report.period, report.created_at, settings, tz):
        return None
    try:
        mark_late(session, report.period, settings, tz, issue_ids=[report.issue_id])
    except ValueError:  # a malformed period: nothing to judge
        return None
    return session.scalar(select(ReportLateness).where(ReportLateness.issue_id == report.issue_id,
                                                       ReportLateness.period == report.period)
                          .execution_options(populate_existing=True))


def mark_late_reports(ctx: RunContext, periods: int = 2) -> int:
    """Mark the late reports of the last `periods` periods whose due day has passed, and fill in every
    mark whose report has come since; return how many marks are new. A run missed for a day or two
    (or a report filed late for an older period) is caught up here."""
    tz = ZoneInfo(ctx.config.get("TIMEZONE", "Asia/Shanghai"))
    period = late_period(ctx.today, ctx.settings)
    marked = 0
    for _ in range(periods):
        marked += mark_late(ctx.session, period, ctx.settings, tz)
        period = previous_period(period)
    fill_late_filings(ctx.session)
    ctx.commit()
    ctx.stats["reports.late_marked"] += marked
    return marked


def backfill_late_reports(session: DbSession, settings: JobSettings, today: date, since: date,
                          tz: ZoneInfo = SHANGHAI) -> int:
    """Mark the late reports of every period from `since`'s to the last one due by `today` (a tracker that
    starts with a history, e.g. the demo); return how many marks are new. Flushes, never commits."""
    period, last = f"{since:%Y-%m}", late_period(today, settings)
    marked = 0
    while period <= last:
        marked += mark_late(session, period, settings, tz)
        year, month = int(period[:4]), int(period[5:7])
        period = f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"
    session.flush()
    return marked


__all__ = ["backfill_late_reports", "mark_if_late", "mark_late", "mark_late_reports", "report_is_late", "run_monthly"]
