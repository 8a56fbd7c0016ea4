"""API ledger export: GET /api/v1/issues/export.xlsx with the issue list's filters.

Up to EXPORT_INLINE_MAX_ROWS rows the workbook comes back at once; a larger export becomes a
background job: 202 with the job's JSON and `Location: /api/v1/jobs/<id>` to poll.
"""
from __future__ import annotations

from flask import current_app

from tracker import clock
from tracker.background.views import start
from tracker.extensions import db
from tracker.issues.export_views import inline_max_rows, xlsx_response
from tracker.services import background_jobs, ledger
from tracker.api import bp, schemas
from tracker.api.auth import current_api_user
from tracker.api.job_views import accepted


@bp.get("/issues/export.xlsx")
def export_issues_xlsx():
    """Every issue the caller may see that matches GET /issues' filters, as an Excel ledger (or a job)."""
    # The list's parser also checks page/per_page; an export has no pages and ignores them.
    filters, _page, _per_page = schemas.issue_list_args(db.session)
    user, today = current_api_user(), clock.today()
    total = ledger.count_rows(db.session, user, today, current_app.config, filters)
    if total > inline_max_rows():
        job = background_jobs.create_export_job(db.session, user, clock.now(), "xlsx", filters, "deadline",
                                                today, total)
        start(current_app._get_current_object(), job)
        return accepted(job)
    rows = ledger.ledger_rows(db.session, user, today, current_app.config, filters)
    return xlsx_response(rows, today)
