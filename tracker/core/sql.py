"""Derived figures (overdue, days overdue, lagging, light) as SQL expressions.

They are built for a given day so that lists can filter, count and sort on them
in the database, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from typing import Any
from sqlalchemy.orm import Session


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


def insert_ignore(session: Session, model: Any):
    """INSERT ... ON CONFLICT DO NOTHING for the session's database (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the tracker runs on these two
        raise NotImplementedError(f"insert-or-ignore is not implemented for {dialect}")
    return insert(model).on_conflict_do_nothing()
