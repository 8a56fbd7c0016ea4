"""SQL helpers shared by every domain: date arithmetic that compiles on SQLite and PostgreSQL alike
(days between dates, the local date or month of a UTC timestamp), insert-or-ignore, and the column
type of an enum stored as a checked string."""
from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement


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


def string_enum(enum_class: type[StrEnum], name: str, length: int = 20) -> sa.Enum:
    """A column type storing a `StrEnum` as its string value (VARCHAR) with a CHECK constraint named
    `name` (ck_<table>_<name>): the database refuses any other value, and rows load as members."""
    return sa.Enum(enum_class, native_enum=False, values_callable=lambda members: [m.value for m in members],
                   length=length, create_constraint=True, validate_strings=True, name=name)


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
