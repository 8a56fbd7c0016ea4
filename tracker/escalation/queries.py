"""Queries shared by the jobs: report periods, missing reports, a unit's view, counts and rows per unit."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select, union
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tracker.core import enums
from tracker.escalation.settings import JobSettings
from tracker.issues.models import Issue, IssueUnit, ProgressReport
from tracker.issues.scoping import unit_issues

SHANGHAI = ZoneInfo("Asia/Shanghai")


def period_of(day: date) -> str:
    """The report period (YYYY-MM) a day belongs to."""
    return f"{day:%Y-%m}"


def previous_period(period: str) -> str:
    """The month before `period`."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def due_date(period: str, settings: JobSettings) -> date:
    """The day the period's report is due (inclusive)."""
    return date(int(period[:4]), int(period[5:7]), settings.report_due_day)


def reminder_date(period: str, settings: JobSettings) -> date:
    """The day the period's report reminder goes out."""
    return date(int(period[:4]), int(period[5:7]), settings.report_reminder_day)


def late_period(today: date, settings: JobSettings) -> str:
    """The latest period whose due day has passed by `today`."""
    current = period_of(today)
    return current if today.day > settings.report_due_day else previous_period(current)


def due_end_utc(period: str, settings: JobSettings, tz: ZoneInfo = SHANGHAI) -> datetime:
    """The end of the period's due day in local time, as naive UTC: a report at or after it is late."""
    local = datetime.combine(due_date(period, settings) + timedelta(days=1), time(0, 0), tzinfo=tz)
    return local.astimezone(UTC).replace(tzinfo=None)


def expects_report(period: str, settings: JobSettings) -> ColumnElement[bool]:
    """Issues that owe a report for the period: open, not merged, assigned by its reminder day."""
    return and_(
        Issue.state.in_(enums.OPEN_STATES),
        Issue.merged_into_id.is_(None),
        Issue.assigned_on <= reminder_date(period, settings),
    )


def missing_report(period: str, settings: JobSettings) -> ColumnElement[bool]:
    """Issues that owe a report for the period and have none (a replaced report still counts as filed)."""
    return and_(
        expects_report(period, settings),
        ~exists().where(and_(ProgressReport.issue_id == Issue.id, ProgressReport.period == period)),
    )


def unit_scope(unit_id: int) -> ColumnElement[bool]:
    """A unit's view: the issues it leads or cooperates on (the scoping rule of its users)."""
    return unit_issues(unit_id)


def ranked_per_unit(cond: ColumnElement[bool], order_by: list, limit: int, extra: Optional[list] = None):
    """SELECT Issue (and `extra` columns) matching `cond`, the first `limit` per lead unit by `order_by`.

    One query with ROW_NUMBER() OVER (PARTITION BY lead unit), on SQLite and PostgreSQL.
    """
    rank = func.row_number().over(partition_by=Issue.lead_unit_id, order_by=order_by).label("rank")
    ranked = select(Issue.id.label("id"), rank).where(cond).subquery()
    return (select(Issue, *(extra or [])).join(ranked, ranked.c.id == Issue.id)
            .where(ranked.c.rank <= limit).order_by(Issue.lead_unit_id, ranked.c.rank))


def unit_links():
    """(issue_id, unit_id) for every unit's view: the lead unit and each cooperating unit of an issue.

    The grouped form of `unit_scope` (the same rule as `visible_issues` for unit users),
    for counting and listing per unit in one query instead of one per unit.
    """
    lead = select(Issue.id.label("issue_id"), Issue.lead_unit_id.label("unit_id"))
    cooperating = select(IssueUnit.issue_id.label("issue_id"), IssueUnit.unit_id.label("unit_id"))
    return union(lead, cooperating).subquery("unit_links")


def counts_by_unit(session: Session, conds: dict[str, ColumnElement[bool]]) -> dict[int, dict[str, int]]:
    """For every unit with at least one issue matching one of `conds` in its view: the count per condition."""
    link = unit_links()
    names = list(conds)
    stmt = (select(link.c.unit_id, *[func.sum(case((conds[n], 1), else_=0)) for n in names])
            .join(Issue, Issue.id == link.c.issue_id)
            .where(or_(*conds.values()))
            .group_by(link.c.unit_id))
    return {unit_id: dict(zip(names, (int(v or 0) for v in values), strict=True))
            for unit_id, *values in session.execute(stmt)}


def rows_by_unit(session: Session, unit_ids: list[int], cond: ColumnElement[bool], order_by: list, limit: int,
                 extra: Optional[list] = None) -> dict[int, list]:
    """The first `limit` issues matching `cond` in each unit's view (for these units), by `order_by`:
    one query, ROW_NUMBER() OVER (PARTITION BY unit). Rows are (Issue, *extra)."""
    if not unit_ids:
        return {}
    link = unit_links()
    rank = func.row_number().over(partition_by=link.c.unit_id, order_by=order_by).label("rank")
    ranked = (select(link.c.unit_id.label("unit_id"), Issue.id.label("id"), rank)
              .join(Issue, Issue.id == link.c.issue_id)
              .where(cond, link.c.unit_id.in_(unit_ids))).subquery("ranked")
    stmt = (select(ranked.c.unit_id, Issue, *(extra or [])).join(ranked, ranked.c.id == Issue.id)
            .where(ranked.c.rank <= limit).order_by(ranked.c.unit_id, ranked.c.rank))
    out: dict[int, list] = {}
    for unit_id, *row in session.execute(stmt):
        out.setdefault(unit_id, []).append(tuple(row))
    return out
