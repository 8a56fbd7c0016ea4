"""The ledger export (台账导出) of the issue list: GET /issues/export.xlsx and /issues/export.csv.

Both take the list's query arguments (filters and sort, page ignored) and export every
issue the user may see that matches them. An export of more than EXPORT_INLINE_MAX_ROWS rows
would keep a web worker busy too long: it becomes a background job instead, and the user is
sent to the job's page to follow it and download the file. The request still changes no
issue; it only records the job.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from flask import Response, current_app, redirect, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.models import Round, Unit
from tracker.services import background_jobs, ledger
from tracker.issues import bp
from tracker.web import attachment_headers, send_workbook
from tracker.issues.filters import parse_list_args

DEFAULT_INLINE_MAX_ROWS = 5000  # larger exports run as background jobs (config EXPORT_INLINE_MAX_ROWS)


def ledger_filename(today: date, extension: str) -> str:
    """The download's name, e.g. 整改台账-2020-07-15.xlsx."""
    return f"整改台账-{today.isoformat()}.{extension}"


def xlsx_response(rows: Iterable[list[Any]], today: date) -> Response:
    """The ledger as an Excel download, written while the rows are read."""
    return send_workbook(lambda spool: ledger.write_xlsx(rows, spool), ledger_filename(today, "xlsx"),
                         f"ledger-{today.isoformat()}.xlsx")


def csv_response(rows: Iterable[list[Any]], today: date) -> Response:
    """Stream the ledger as CSV, chunk by chunk, while the rows are read."""
    response = Response(stream_with_context(ledger.csv_chunks(rows)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return attachment_headers(response, ledger_filename(today, "csv"), f"ledger-{today.isoformat()}.csv")


def inline_max_rows() -> int:
    """The most rows an export streams in the request; more go to a background job."""
    return int(current_app.config.get("EXPORT_INLINE_MAX_ROWS", DEFAULT_INLINE_MAX_ROWS))


def _export(fmt: str) -> Response:
    """Stream the ledger of the list's filters and sort, or start a background job when it is large."""
    rounds = list(db.session.scalars(select(Round)))
    units = list(db.session.scalars(select(Unit)))
    args = parse_list_args(request.args, rounds, units)
    today = clock.today()
    config = current_app.config
    total = ledger.count_rows(db.session, current_user, today, config, args.filters)
    if total > inline_max_rows():
        from tracker.background.views import start

        job = background_jobs.create_export_job(db.session, current_user, clock.now(), fmt, args.filters,
                                                args.sort, today, total)
        start(current_app._get_current_object(), job)
        return redirect(url_for("background.show", job_id=job.id))
    rows = ledger.ledger_rows(db.session, current_user, today, config, args.filters, sort=args.sort)
    return xlsx_response(rows, today) if fmt == "xlsx" else csv_response(rows, today)


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    """The issue list as an Excel ledger (整改台账); a large one as a background job."""
    return _export("xlsx")


@bp.get("/export.csv")
@login_required
def export_csv():
    """The issue list as a CSV ledger (UTF-8 with BOM, for Excel); a large one as a background job."""
    return _export("csv")
