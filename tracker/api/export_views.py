"""API ledger export: GET /api/v1/issues/export.xlsx with the issue list's filters."""
from __future__ import annotations

from flask import current_app

from .. import clock
from ..extensions import db
from ..issues.export_views import xlsx_response
from ..services import ledger
from . import bp, schemas
from .auth import current_api_user


@bp.get("/issues/export.xlsx")
def export_issues_xlsx():
    """Every issue the caller may see that matches GET /issues' filters, as an Excel ledger."""
    # The list's parser also checks page/per_page; an export has no pages and ignores them.
    filters, _page, _per_page = schemas.issue_list_args(db.session)
    rows = ledger.ledger_rows(db.session, current_api_user(), clock.today(), current_app.config, filters)
    return xlsx_response(rows, clock.today())
