"""Working days (工作日) under the Chinese holiday calendar, and day arithmetic for deadlines.

Statutory holidays are off and adjusted working weekends (调休) are on, as the
`chinese-calendar` package knows them. For a year the package does not know, the
week is Monday to Friday and a warning is logged once per year.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

from tracker.core.enums import DayMode

log = logging.getLogger(__name__)

CALENDAR, WORKING = DayMode.CALENDAR, DayMode.WORKING

_warned_years: set[int] = set()


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    """Whether `day` is a working day: Chinese holidays off, adjusted weekends on.

    Outside the years the holiday data covers, Monday to Friday are working days.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no holiday data for %s: counting Monday to Friday as working days", day.year)
        return day.weekday() < 5


def add_days(day: date, offset: int, mode: str = CALENDAR) -> date:
    """The day `offset` days after `day` (before it when negative), counted in `mode`.

    In working-day mode the result is the |offset|-th working day strictly after
    (or before) `day`; an offset of 0 gives `day` itself whatever it is.
    """
    if mode == CALENDAR or offset == 0:
        return day + timedelta(days=offset)
    step = timedelta(days=1 if offset > 0 else -1)
    remaining = abs(offset)
    current = day
    while remaining:
        current += step
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def days_between(start: date, end: date, mode: str = CALENDAR) -> int:
    """Days from `start` to `end`, counted in `mode` (negative when end is earlier)."""
    if mode == CALENDAR:
        return (end - start).days
    return working_days_between(start, end)


def deadline_threshold(today: date, offset: int, mode: str = CALENDAR) -> date:
    """The latest deadline D for which the day `offset` days from D has come by `today`.

    `add_days(D, offset, mode)` never decreases as D grows, so an issue has reached
    a ladder level exactly when its deadline is on or before this threshold; the
    database can then select the issues with a plain `deadline <= threshold`.
    """
    if mode == CALENDAR or offset == 0:
        return today - timedelta(days=offset)
    # Start from the calendar answer, which is an upper bound for positive offsets
    # (N working days span at least N calendar days) and a lower bound for negative ones.
    candidate = today - timedelta(days=offset)
    one = timedelta(days=1)
    if offset > 0:
        while add_days(candidate, offset, mode) > today:
            candidate -= one
        return candidate
    while add_days(candidate + one, offset, mode) <= today:
        candidate += one
    return candidate
