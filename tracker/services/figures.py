"""Derived figures (overdue, days overdue, lagging, light) as SQL expressions.

They are built for a given day so that lists can filter, count and sort on them
in the database, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Integer, String, and_, case, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from tracker import workflow
from tracker.models import Issue


class days_between(FunctionElement):
    """Whole days from the first date to the second, as an integer."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)}) AS INTEGER)"
    )


class local_date_of(FunctionElement):
    """The calendar date of a naive UTC timestamp shifted by a whole number of hours."""

    type = Date()
    inherit_cache = True
    name = "local_date_of"


@compiles(local_date_of)
def _local_date_default(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return f"CAST({compiler.process(moment, **kw)} + make_interval(hours => {compiler.process(hours, **kw)}) AS DATE)"


@compiles(local_date_of, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return f"date({compiler.process(moment, **kw)}, ({compiler.process(hours, **kw)}) || ' hours')"


class local_month_of(FunctionElement):
    """The calendar month ("YYYY-MM") of a naive UTC timestamp shifted by a whole number of hours."""

    type = String()
    inherit_cache = True
    name = "local_month_of"


@compiles(local_month_of)
def _local_month_default(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return (f"to_char({compiler.process(moment, **kw)} + make_interval(hours => {compiler.process(hours, **kw)}), "
            f"'YYYY-MM')")


@compiles(local_month_of, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(moment, **kw)}, ({compiler.process(hours, **kw)}) || ' hours')"


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
    is_open = and_(Issue.state.in_(workflow.OPEN_STATES), Issue.merged_into_id.is_(None))
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


LIGHT_LABELS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
