"""SQL helpers shared by every domain: date arithmetic that compiles on SQLite and PostgreSQL alike
(days between dates, the local date or month of a UTC timestamp), insert-or-ignore, and the column
type of an enum stored as a checked string."""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.functions import FunctionElement

from tracker.core.extensions import DbSession


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second, as an integer."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)}) AS INTEGER)"
    )


class local_date_of(FunctionElement[date]):
    """The calendar date of a naive UTC timestamp shifted by a whole number of hours."""

    type = Date()
    inherit_cache = True
    name = "local_date_of"


@compiles(local_date_of)
def _local_date_default(element: local_date_of, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = list(element.clauses)
    return f"CAST({compiler.process(moment, **kw)} + make_interval(hours => {compiler.process(hours, **kw)}) AS DATE)"


@compiles(local_date_of, "sqlite")
def _local_date_sqlite(element: local_date_of, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = list(element.clauses)
    return f"date({compiler.process(moment, **kw)}, ({compiler.process(hours, **kw)}) || ' hours')"


class local_month_of(FunctionElement[str]):
    """The calendar month ("YYYY-MM") of a naive UTC timestamp shifted by a whole number of hours."""

    type = String()
    inherit_cache = True
    name = "local_month_of"


@compiles(local_month_of)
def _local_month_default(element: local_month_of, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = list(element.clauses)
    return (f"to_char({compiler.process(moment, **kw)} + make_interval(hours => {compiler.process(hours, **kw)}), "
            f"'YYYY-MM')")


@compiles(local_month_of, "sqlite")
def _local_month_sqlite(element: local_month_of, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(moment, **kw)}, ({compiler.process(hours, **kw)}) || ' hours')"


def string_enum(enum_class: type[StrEnum], name: str, length: int = 20) -> sa.Enum:
    """A column type storing a `StrEnum` as its string value (VARCHAR) with a CHECK constraint named
    `name` (ck_<table>_<name>): the database refuses any other value, and rows load as members."""
    return sa.Enum(enum_class, native_enum=False, values_callable=lambda members: [m.value for m in members],
                   length=length, create_constraint=True, validate_strings=True, name=name)


def insert_ignore(session: DbSession, model: Any) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the session's database (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model).on_conflict_do_nothing()
    raise NotImplementedError(f"insert-or-ignore is not implemented for {dialect}")  # pragma: no cover


class EncryptedText(sa.types.TypeDecorator[str]):
    """A short secret kept encrypted in the database (ASVS 2.8.2, 6.1.x): Fernet (AES-128-CBC with
    HMAC-SHA-256) under the app's FIELD_KEY, which lives outside the database (TRACKER_FIELD_KEY, or
    instance/field_key with mode 0600). A copy of the database alone gives no secret away.

    The model reads and writes plain text; the column holds "fernet:<token>". A value written before
    encryption (no prefix) is read as it is and encrypted when next written. A key that cannot open a
    value raises: losing the key must fail closed, never read as "no secret"."""

    impl = String(255)
    cache_ok = True
    PREFIX = "fernet:"

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        """Encrypt on the way in."""
        if value is None:
            return None
        return self.PREFIX + _fernet().encrypt(str(value).encode()).decode()

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        """Decrypt on the way out."""
        if value is None or not str(value).startswith(self.PREFIX):
            return value
        return _fernet().decrypt(str(value)[len(self.PREFIX):].encode()).decode()


def _fernet() -> Any:
    from cryptography.fernet import Fernet
    from flask import current_app

    return Fernet(current_app.config["FIELD_KEY"])
