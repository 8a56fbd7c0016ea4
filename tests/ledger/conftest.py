"""Fixtures of the ledger's background-job tests (test_background_jobs, test_import_preview_job).

`bg` makes large exports and imports run as jobs inside the request; `world` is their cast
(units, five issues, the office and a unit clerk). A module here that needs another cast defines
its own `world`, which takes precedence over this one.
"""
from __future__ import annotations

from datetime import date

import pytest

from tests.support.background_jobs import ROUND
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user


@pytest.fixture
def bg(app):
    """Jobs run inside the request, exports of more than 2 rows and imports of more than 2 rows are jobs."""
    app.config.update(BACKGROUND_JOBS_INLINE=True, EXPORT_INLINE_MAX_ROWS=2, IMPORT_INLINE_MAX_ROWS=2,
                      BACKGROUND_PROGRESS_SECONDS=0)
    return app


@pytest.fixture
def world(session):
    """Two units, five issues (three led by LEAD, one of them shared with COOP), their staff and the office."""
    lead = make_unit("LEAD", "市生态环境分局")
    coop = make_unit("COOP", "市住建局")
    make_unit("OTHER", "市水务局")
    round_ = make_round(ROUND)
    issues = [
        make_issue(lead_unit=lead, round=round_, code="A-01", cooperating=(coop,), deadline=date(2020, 6, 30),
                   measures="=加强巡查"),
        make_issue(lead_unit=lead, round=round_, code="A-02", deadline=date(2020, 9, 30)),
        make_issue(lead_unit=lead, round=round_, code="A-03", deadline=date(2021, 3, 31)),
        make_issue(lead_unit=coop, round=round_, code="C-01", deadline=date(2020, 5, 31)),
        make_issue(lead_unit=coop, round=round_, code="C-02", deadline=date(2020, 12, 31)),
    ]
    make_report(issues[0], period="2020-06", text="六月进展")
    users = {
        "supervisor": make_user("supervisor", username="super"),
        "other_supervisor": make_user("supervisor", username="super2"),
        "lead_staff": make_user("unit_staff", lead, username="lead_staff"),
    }
    session.commit()
    return {"lead": lead, "coop": coop, "round": round_, "issues": issues, **users}
