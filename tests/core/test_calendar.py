"""Working days under the Chinese holiday calendar: National Day 2020, adjusted weekends, unknown years."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from tracker.core import calendar as cal

# National Day and Mid-Autumn 2020: Oct 1-8 off; Sunday Sep 27 and Saturday Oct 10 were working days.
HOLIDAYS_2020 = [date(2020, 10, d) for d in range(1, 9)]


def test_national_day_2020_is_off_and_adjusted_weekends_are_on():
    assert not any(cal.is_working_day(d) for d in HOLIDAYS_2020)
    assert cal.is_working_day(date(2020, 9, 27))  # Sunday, adjusted working day (调休)
    assert cal.is_working_day(date(2020, 10, 10))  # Saturday, adjusted working day
    assert cal.is_working_day(date(2020, 9, 30)) and cal.is_working_day(date(2020, 10, 9))
    assert not cal.is_working_day(date(2020, 10, 11))  # an ordinary Sunday
    assert not cal.is_working_day(date(2020, 9, 26))  # an ordinary Saturday


def test_adding_working_days_across_the_holiday():
    assert cal.add_days(date(2020, 9, 30), 1, cal.WORKING) == date(2020, 10, 9)
    assert cal.add_days(date(2020, 9, 30), 2, cal.WORKING) == date(2020, 10, 10)  # the working Saturday
    assert cal.add_days(date(2020, 9, 30), 3, cal.WORKING) == date(2020, 10, 12)
    assert cal.add_days(date(2020, 10, 9), -1, cal.WORKING) == date(2020, 9, 30)
    assert cal.add_days(date(2020, 9, 25), 1, cal.WORKING) == date(2020, 9, 27)  # Friday -> working Sunday
    assert cal.add_days(date(2020, 10, 12), -1, cal.WORKING) == date(2020, 10, 10)
    assert cal.add_days(date(2020, 10, 5), 0, cal.WORKING) == date(2020, 10, 5)
    # Calendar days ignore all that.
    assert cal.add_days(date(2020, 9, 30), 1, cal.CALENDAR) == date(2020, 10, 1)


def test_counting_working_days_between():
    assert cal.working_days_between(date(2020, 9, 30), date(2020, 10, 10)) == 2
    assert cal.working_days_between(date(2020, 10, 10), date(2020, 9, 30)) == -2
    assert cal.days_between(date(2020, 9, 30), date(2020, 10, 10), cal.CALENDAR) == 10
    assert cal.days_between(date(2020, 9, 25), date(2020, 9, 28), cal.WORKING) == 2  # Sun 27 + Mon 28


@pytest.mark.parametrize("mode", [cal.CALENDAR, cal.WORKING])
@pytest.mark.parametrize("offset", [-7, -1, 0, 1, 3, 15, 30])
def test_threshold_is_the_latest_deadline_that_reached_the_level(mode, offset):
    day = date(2020, 9, 20)
    while day <= date(2020, 10, 20):
        threshold = cal.deadline_threshold(day, offset, mode)
        assert cal.add_days(threshold, offset, mode) <= day
        assert cal.add_days(threshold + timedelta(days=1), offset, mode) > day
        day += timedelta(days=1)


def test_overdue_by_one_working_day_falls_after_the_holiday():
    deadline = date(2020, 9, 30)
    # Day by day, the level "1 working day overdue" is reached on Oct 9 and not before.
    reached = [d for d in (date(2020, 10, 1) + timedelta(days=n) for n in range(10))
               if deadline <= cal.deadline_threshold(d, 1, cal.WORKING)]
    assert reached[0] == date(2020, 10, 9)


def test_outside_the_known_years_weekdays_are_working_days_with_a_warning(caplog):
    cal.is_working_day.cache_clear()
    cal._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="tracker.calendar"):
        monday, saturday = date(2099, 6, 1), date(2099, 6, 6)
        assert cal.is_working_day(monday)
        assert not cal.is_working_day(saturday)
        assert cal.is_working_day(date(2099, 6, 2))
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
    assert cal.add_days(date(2099, 6, 5), 1, cal.WORKING) == date(2099, 6, 8)
