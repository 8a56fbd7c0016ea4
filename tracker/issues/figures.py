"""The issues' figures as SQL expressions: overdue, days overdue, lagging, due soon, light, and the
supervision flag (挂牌督办).

They are built for a given day so that lists can filter, count and sort on them in the
database, on SQLite and PostgreSQL alike; every page, export, mail and the API read them here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from sqlalchemy import and_, case, literal, or_
from sqlalchemy.sql.elements import ColumnElement
from tracker.core import workflow
from tracker.issues.models import Issue
from typing import Any, Iterable
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from tracker.issues.models import Escalation, Event, ReportLateness
from tracker.core import enums
from tracker.core.enums import SUPERVISION_KINDS
from tracker.core.sql import days_between


@dataclass(frozen=True)
class Figures:
    """The derived columns of an issue on one day."""

    overdue: ColumnElement
    days_overdue: ColumnElement
    lagging: ColumnElement
    due_soon: ColumnElement
    light: ColumnElement
    elapsed_percent: ColumnElement


def figures(today: date, margin: int = 20, due_soon_days: int = 7) -> Figures:
    """Build the SQL expressions of the derived figures for `today`."""
    today_lit = literal(today)
    # A merged issue is rectified, and so measured, through the issue it was merged into.
    is_open = and_(Issue.state.in_(enums.OPEN_STATES), Issue.merged_into_id.is_(None))
    overdue = and_(is_open, Issue.deadline < today_lit)
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
        is_open,
        or_(
            and_(span <= 0, Issue.progress_percent + margin < 100),
            and_(
                span > 0,
                (Issue.progress_percent + margin) * span
                < 100 * case((elapsed > span, span), (elapsed < 0, 0), else_=elapsed),
            ),
        ),
    )
    due_soon = and_(is_open, Issue.deadline >= today_lit, days_between(today_lit, Issue.deadline) <= due_soon_days)
    light = case(
        (or_(Issue.state == workflow.CLOSED, Issue.merged_into_id.is_not(None)), None),
        (overdue, "red"),
        (or_(due_soon, lagging), "yellow"),
        else_="green",
    )
    return Figures(overdue, days_over, lagging, due_soon, light, elapsed_percent)


# Escalations that put an issue under supervision (挂牌督办): the order itself, and the
# interview / public notice beyond it (which may have superseded the order).


def supervised() -> ColumnElement[bool]:
    """WHERE clause: the issue is under supervision (挂牌督办) and not yet closed (摘牌 on closure)."""
    return and_(
        Issue.state != workflow.CLOSED,
        exists().where(and_(Escalation.issue_id == Issue.id, Escalation.kind.in_(SUPERVISION_KINDS))),
    )


def supervised_ids(session: Session, issue_ids: Iterable[int]) -> set[int]:
    """Which of these issues are flagged 挂牌督办 (one query, for a page of the list)."""
    ids = list(issue_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Issue.id).where(Issue.id.in_(ids), supervised())))


def late_periods(session: Session, issue_id: int) -> set[str]:
    """The report periods of an issue whose report came late (未按时报送)."""
    return set(session.scalars(select(ReportLateness.period).where(ReportLateness.issue_id == issue_id)))


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
        Issue.state.in_(enums.OPEN_STATES), Issue.merged_into_id.is_(None),
        exists().where(Event.id == last_turn(), Event.action.in_(SENT_BACK)),
    )
