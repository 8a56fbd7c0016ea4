"""The injectable clock: services take `now`; views read it from here."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """Return the current time as naive UTC, the form stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def now() -> datetime:
    """Return the app's current time (naive UTC); tests replace it via config CLOCK."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def local_date(moment: datetime, tz: str = "Asia/Shanghai") -> date:
    """Return the calendar date of a naive-UTC moment in the given zone."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()


def local_day_start(moment: datetime, tz: str = "Asia/Shanghai") -> datetime:
    """The naive-UTC moment the local day of the naive-UTC `moment` began (local midnight)."""
    day = local_date(moment, tz)
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def utc_offset_hours(day: date, tz: str = "Asia/Shanghai") -> int:
    """The zone's offset from UTC in whole hours on `day` (Asia/Shanghai: 8), for SQL date shifts."""
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(tz)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 3600)


def today() -> date:
    """Return today's date in the app's time zone, by the app's clock."""
    return local_date(now(), current_app.config.get("TIMEZONE", "Asia/Shanghai"))
