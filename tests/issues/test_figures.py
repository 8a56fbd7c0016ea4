"""Derived figures computed in SQL: overdue, days overdue, lagging and the light."""
from datetime import date

import pytest

from tests.support.factories import make_issue
from tracker.issues.queries import issue_row

CONFIG = {"LAGGING_MARGIN": 20, "DUE_SOON_DAYS": 7}


def figures_of(session, issue, today):
    return issue_row(session, issue, today, CONFIG)


def test_overdue_counts_days_after_deadline(session):
    issue = make_issue(deadline=date(2020, 6, 30), assigned_on=date(2020, 1, 1), progress_percent=90)
    row = figures_of(session, issue, date(2020, 7, 15))
    assert (row.overdue, row.days_overdue, row.light) == (True, 15, "red")


def test_on_deadline_day_is_not_overdue_but_due_soon(session):
    issue = make_issue(deadline=date(2020, 7, 15), assigned_on=date(2020, 1, 1), progress_percent=95)
    row = figures_of(session, issue, date(2020, 7, 15))
    assert (row.overdue, row.days_overdue, row.light) == (False, 0, "yellow")


@pytest.mark.parametrize("progress, lagging", [(29, True), (30, False), (80, False)])
def test_lagging_against_elapsed_share_with_margin(session, progress, lagging):
    # 100 days span, 50 elapsed: 50% of time gone; margin 20 points -> below 30% lags.
    issue = make_issue(assigned_on=date(2020, 1, 1), deadline=date(2020, 4, 10), progress_percent=progress)
    row = figures_of(session, issue, date(2020, 2, 20))
    assert row.lagging is lagging
    assert row.light == ("yellow" if lagging else "green")


def test_submitted_is_never_overdue_and_closed_has_no_light(session):
    submitted = make_issue(deadline=date(2020, 1, 31), state="submitted")
    closed = make_issue(deadline=date(2020, 1, 31), state="closed")
    today = date(2020, 7, 15)
    assert figures_of(session, submitted, today).overdue is False
    assert figures_of(session, closed, today).light is None
    assert figures_of(session, closed, today).days_overdue == 0


def test_merged_issue_is_measured_through_its_target(session):
    target = make_issue(deadline=date(2020, 6, 30))
    merged = make_issue(deadline=date(2020, 6, 30), merged_into_id=target.id)
    today = date(2020, 7, 15)
    assert figures_of(session, target, today).light == "red"
    row = figures_of(session, merged, today)
    assert (row.overdue, row.lagging, row.light) == (False, False, None)
