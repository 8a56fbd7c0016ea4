"""The issues' figures as SQL expressions: one definition each, read by every page, list, export,
mail, statistic and the API.

- Of a day (`figures(today, ...)`): overdue (逾期), days overdue, lagging (进度滞后), due soon (临期),
  the light (红黄绿灯), and the share of time elapsed (时序进度).
- Of the record: under supervision order (挂牌督办), interviewed (约谈/通报), sent back to the unit
  (被退回), extended (延期), closed on time (按期销号), late report (未按时报送: an (issue, period)
  row of `report_lateness`, written by the monthly cycle from `owes_report` / `late_for`).
- The outcome of an issue closed or due (`OUTCOMES`): 按期完成 (closed by its deadline with no approved
  extension needed), 延期后完成 (closed after its original deadline, by the one an approved extension
  set), 逾期 (closed after its deadline in force, or still open past it).
- Of a past day: the deadline in force then (`deadline_on`), open then (`open_on`), overdue then
  (`overdue_on`): the monthly report's "at the month's end" uses the deadline of that time.

`FLAGS` names the yes/no figures a list can be filtered on (`?lagging=1`), so that every count on a
page opens a list holding exactly the issues it counts.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tracker.core import enums, workflow
from tracker.core.enums import SUPERVISION_KINDS, EscalationKind, ExtensionState
from tracker.core.extensions import DbSession
from tracker.core.sql import days_between, local_date_of
from tracker.issues.models import (
    DeadlineChange,
    Escalation,
    Event,
    ExtensionRequest,
    Issue,
    ProgressReport,
    ReportLateness,
)


@dataclass(frozen=True)
class Figures:
    """The derived columns of an issue on one day."""

    overdue: ColumnElement[bool]
    days_overdue: ColumnElement[int]
    lagging: ColumnElement[bool]
    due_soon: ColumnElement[bool]
    light: ColumnElement[Any]
    elapsed_percent: ColumnElement[int]
    today: Optional[date] = None  # the day they are of (its month is this month's report period)


def is_open() -> ColumnElement[bool]:
    """Being rectified now: a merged issue is rectified, and so measured, through the issue it joined."""
    return and_(Issue.state.in_(enums.OPEN_STATES), Issue.merged_into_id.is_(None))


def figures(today: date, margin: int = 20, due_soon_days: int = 7) -> Figures:
    """Build the SQL expressions of the derived figures for `today` (the deadline in force today)."""
    today_lit = literal(today)
    open_now = is_open()
    overdue = and_(open_now, Issue.deadline < today_lit)
    days_over = case((overdue, days_between(Issue.deadline, today_lit)), else_=0)
    span = days_between(Issue.assigned_on, Issue.deadline)
    elapsed = days_between(Issue.assigned_on, today_lit)
    # Share of time elapsed, in percent, clipped to 0..100 (时序进度).
    elapsed_percent = case(
        (span <= 0, 100),
        (elapsed <= 0, 0),
        (elapsed >= span, 100),
        else_=(elapsed * 100) / span,
    )
    # progress + margin < 100 * elapsed / span, kept in integers: no division.
    lagging = and_(
        open_now,
        or_(
            and_(span <= 0, Issue.progress_percent + margin < 100),
            and_(
                span > 0,
                (Issue.progress_percent + margin) * span
                < 100 * case((elapsed > span, span), (elapsed < 0, 0), else_=elapsed),
            ),
        ),
    )
    due_soon = and_(open_now, Issue.deadline >= today_lit, days_between(today_lit, Issue.deadline) <= due_soon_days)
    light = case(
        (or_(Issue.state == workflow.CLOSED, Issue.merged_into_id.is_not(None)), None),
        (overdue, "red"),
        (or_(due_soon, lagging), "yellow"),
        else_="green",
    )
    return Figures(overdue, days_over, lagging, due_soon, light, elapsed_percent, today)


# --- of the record -------------------------------------------------------------------

def supervised() -> ColumnElement[bool]:
    """Under supervision order (挂牌督办): a supervision-order or interview rung fired for it (the
    interview may have superseded the order), and not closed since (摘牌 on closure)."""
    return and_(
        Issue.state != workflow.CLOSED,
        exists().where(and_(Escalation.issue_id == Issue.id, Escalation.kind.in_(SUPERVISION_KINDS))),
    )


def interviewed() -> ColumnElement[bool]:
    """Called to an interview or publicly named (约谈/通报) for it, and not closed since."""
    return and_(
        Issue.state != workflow.CLOSED,
        exists().where(and_(Escalation.issue_id == Issue.id, Escalation.kind == EscalationKind.INTERVIEW)),
    )


def supervised_ids(session: DbSession, issue_ids: Iterable[int]) -> set[int]:
    """Which of these issues are flagged 挂牌督办 (one query, for a page of the list)."""
    ids = list(issue_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Issue.id).where(Issue.id.in_(ids), supervised())))


# The workflow actions that send an issue back to its unit (with a reason), and the one that hands it on.
SENT_BACK = (workflow.RETURN, workflow.REOPEN)


def last_turn() -> Any:
    """The issue's latest timeline entry among submissions, returns and reopenings (a correlated scalar id)."""
    return (select(Event.id).where(Event.issue_id == Issue.id,
                                   Event.action.in_((workflow.SUBMIT, *SENT_BACK)))
            .order_by(Event.id.desc()).limit(1).correlate(Issue).scalar_subquery())


def returned() -> ColumnElement[bool]:
    """Sent back to its unit (退回 or 重新打开) and not submitted since: the unit must act, with the reason."""
    return and_(
        is_open(),
        exists().where(Event.id == last_turn(), Event.action.in_(SENT_BACK)),
    )


def extended() -> ColumnElement[bool]:
    """Its deadline now is later than the one first set (延期): an extension, or an edit that moved it later."""
    return Issue.deadline > Issue.original_deadline


def closed_on_time(hours: int) -> ColumnElement[bool]:
    """Closed (销号) on or before its deadline, by the local date of the closure (`hours` from UTC).

    The deadline in force at the closing is today's: a closed issue cannot be edited, so its deadline
    last moved while it was open."""
    return and_(Issue.state == workflow.CLOSED, Issue.closed_at.is_not(None),
                local_date_of(Issue.closed_at, hours) <= Issue.deadline)


def progress_full() -> ColumnElement[bool]:
    """Reported at 100% and still being rectified: the unit head has yet to submit it for closure."""
    return and_(is_open(), Issue.progress_percent >= 100)


def period_of(day: date) -> str:
    """The monthly report period (YYYY-MM) a local day belongs to."""
    return f"{day:%Y-%m}"


def unreported(period: str) -> ColumnElement[bool]:
    """Being rectified and no progress report filed for `period` (a replaced report still counts as
    filed): this month's reports a unit still has to file. Unlike the monthly reminder's
    `escalation.queries.missing_report`, an issue assigned after the reminder day is listed too: the
    unit may report on it this month."""
    return and_(is_open(), ~exists().where(and_(ProgressReport.issue_id == Issue.id,
                                                ProgressReport.period == period)))


EXTENSION_NEWS_DAYS = 7  # how long a decided extension request stays news for the unit


def extension_decided(since: datetime) -> ColumnElement[bool]:
    """An extension request of the issue was decided (approved or rejected) at or after `since`
    (naive UTC): news for the unit that asked."""
    return exists().where(and_(
        ExtensionRequest.issue_id == Issue.id,
        ExtensionRequest.state.in_((ExtensionState.APPROVED, ExtensionState.REJECTED)),
        ExtensionRequest.decided_at >= since))


def news_since(today: date, hours: int, days: int = EXTENSION_NEWS_DAYS) -> datetime:
    """The start (naive UTC) of the last `days` local days up to `today` (`hours` from UTC)."""
    return datetime.combine(today - timedelta(days=days - 1), time(0, 0)) - timedelta(hours=hours)


def _today(fig: Figures) -> date:
    assert fig.today is not None, "figures() always says which day they are of"
    return fig.today


# --- outcomes: 按期完成, 延期后完成, 逾期 ------------------------------------------------------

def approved_extension() -> ColumnElement[bool]:
    """An extension request of the issue was approved (延期申请获批)."""
    return exists().where(and_(ExtensionRequest.issue_id == Issue.id,
                               ExtensionRequest.state == ExtensionState.APPROVED))


def _needed_extension(hours: int) -> ColumnElement[bool]:
    """Closed after its original deadline, with an approved extension: the extension was needed."""
    return and_(local_date_of(Issue.closed_at, hours) > Issue.original_deadline, approved_extension())


def done_on_time(hours: int) -> ColumnElement[bool]:
    """按期完成: closed by its deadline, and no approved extension was needed for that (closed by the
    original deadline, or its deadline moved by an edit rather than an extension)."""
    return and_(closed_on_time(hours), ~_needed_extension(hours))


def done_after_extension(hours: int) -> ColumnElement[bool]:
    """延期后完成: closed after its original deadline, by the deadline an approved extension set."""
    return and_(closed_on_time(hours), _needed_extension(hours))


def late(fig: Figures, hours: int) -> ColumnElement[bool]:
    """逾期: closed after its deadline in force, or being rectified past it today (`fig.overdue`)."""
    closed_late = and_(Issue.state == workflow.CLOSED, Issue.closed_at.is_not(None),
                       local_date_of(Issue.closed_at, hours) > Issue.deadline)
    return or_(closed_late, fig.overdue)


# --- late reports (未按时报送) ----------------------------------------------------------

def has_late_report(period: Optional[str] = None) -> ColumnElement[bool]:
    """The issue has a late report (of `period`, or of any period): a row of `report_lateness`."""
    cond = [ReportLateness.issue_id == Issue.id]
    if period is not None:
        cond.append(ReportLateness.period == period)
    return exists().where(and_(*cond))


def still_missing(period: str) -> ColumnElement[bool]:
    """The issue's report of `period` was late and has still not come (a row without a filing)."""
    return exists().where(and_(ReportLateness.issue_id == Issue.id, ReportLateness.period == period,
                               ReportLateness.filed_at.is_(None)))


def owes_report(period: str, reminder_on: date, due_on: date, hours: int) -> ColumnElement[bool]:
    """The issue owed a report for `period`: being rectified at the end of its due day and assigned
    by the reminder day."""
    return and_(open_on(due_on, hours), Issue.assigned_on <= reminder_on)


def late_for(period: str, reminder_on: date, due_on: date, due_end: datetime, hours: int) -> ColumnElement[bool]:
    """Late for `period` (未按时报送): it owed the report and none came before the due day ended
    (`due_end`, naive UTC). What the monthly cycle marks in `report_lateness`."""
    on_time = exists().where(and_(ProgressReport.issue_id == Issue.id, ProgressReport.period == period,
                                  ProgressReport.created_at < due_end))
    return and_(owes_report(period, reminder_on, due_on, hours), ~on_time)


# --- of a past day ---------------------------------------------------------------------

def end_of_day_utc(day: date, tz: str) -> datetime:
    """The end of `day` in the local zone, as the naive UTC moment stored in the database."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).replace(tzinfo=None)


def deadline_on(until: datetime) -> ColumnElement[date]:
    """The deadline in force at `until` (naive UTC): the newest move made before it, else the first one."""
    moved = (select(DeadlineChange.new_deadline)
             .where(DeadlineChange.issue_id == Issue.id, DeadlineChange.changed_at < until)
             .order_by(DeadlineChange.changed_at.desc(), DeadlineChange.id.desc()).limit(1)
             .correlate(Issue).scalar_subquery())
    return func.coalesce(moved, Issue.original_deadline, type_=Date)


def open_on(day: date, hours: int) -> ColumnElement[bool]:
    """Being rectified at the end of `day`: not merged, and still open or left rectification (submitted,
    or closed without a submission) after that day. Issues reopened since count as open throughout."""
    left = func.coalesce(Issue.submitted_at, Issue.closed_at)
    return and_(
        Issue.merged_into_id.is_(None),
        or_(Issue.state.in_(enums.OPEN_STATES),
            and_(left.is_not(None), local_date_of(left, hours) > day)),
    )


def overdue_on(day: date, hours: int, tz: str) -> ColumnElement[bool]:
    """Overdue at the end of `day`: open then, assigned by then, and past the deadline in force then."""
    return and_(open_on(day, hours), Issue.assigned_on <= day,
                deadline_on(end_of_day_utc(day, tz)) < literal(day))


def days_overdue_on(day: date, tz: str) -> ColumnElement[int]:
    """Days past the deadline in force at the end of `day` (meaningful where `overdue_on` holds)."""
    return days_between(deadline_on(end_of_day_utc(day, tz)), literal(day))


# --- what a list can be filtered on ---------------------------------------------------

Flag = Callable[[Figures, int], ColumnElement[bool]]
# name -> (the figure for today's figures and the zone's offset in hours). Labels: core.labels.FLAG_LABELS.
FLAGS: dict[str, Flag] = {
    "due_soon": lambda fig, hours: fig.due_soon,
    "lagging": lambda fig, hours: fig.lagging,
    "supervised": lambda fig, hours: supervised(),
    "interviewed": lambda fig, hours: interviewed(),
    "returned": lambda fig, hours: returned(),
    "extended": lambda fig, hours: extended(),
    "closed_on_time": lambda fig, hours: closed_on_time(hours),
    "late_report": lambda fig, hours: has_late_report(),
    "progress_full": lambda fig, hours: progress_full(),
    "unreported": lambda fig, hours: unreported(period_of(_today(fig))),
    "extension_decided": lambda fig, hours: extension_decided(news_since(_today(fig), hours)),
    "done_on_time": lambda fig, hours: done_on_time(hours),
    "done_after_extension": lambda fig, hours: done_after_extension(hours),
    "late": late,
}
# The three outcomes of an issue closed or due, in the order pages show them.
OUTCOMES = ("done_on_time", "done_after_extension", "late")


def late_periods_of(session: DbSession, issue_ids: Iterable[int]) -> dict[int, list[str]]:
    """The late report periods of each of these issues, oldest first (one query, for a page of the list)."""
    ids = list(issue_ids)
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for issue_id, period in session.execute(
                select(ReportLateness.issue_id, ReportLateness.period).where(ReportLateness.issue_id.in_(ids))
                .order_by(ReportLateness.issue_id, ReportLateness.period)):
            out[issue_id].append(period)
    return out


def late_periods(session: DbSession, issue_id: int) -> set[str]:
    """The report periods of an issue whose report came late or never (未按时报送)."""
    return set(session.scalars(select(ReportLateness.period).where(ReportLateness.issue_id == issue_id)))
