"""The issues API: list, register, read, timeline, progress reports, evidence and workflow actions.

Views parse the request, call one service, commit and answer JSON; a refusal answers
{"error": "..."} with its status through the blueprint's handler (tracker.core.api).
"""
from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from tracker.accounts.models import User
from tracker.core import clock, enums
from tracker.core.api import (
    INT,
    STR,
    STR_LIST,
    bad_request,
    bool_arg,
    bp,
    check_types,
    choice_arg,
    current_api_user,
    int_arg,
    iso_date,
    iso_time,
    json_body,
)
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.issues.models import Attachment, Event, Issue, ProgressReport
from tracker.issues.queries import IssueFilters, IssueRow, issue_row, search_issues
from tracker.units.models import Unit

# --- helpers -----------------------------------------------------------------

def _issue_payload(issue: Issue) -> dict[str, Any]:
    """One issue with its figures for today and its cooperating units."""
    row = issue_row(db.session, issue, clock.today(), current_app.config)
    coop = issue_service.cooperating_codes(db.session, [issue.id])[issue.id]
    return issue_json(row, coop)


def _visible_issue(issue_id: int) -> Issue:
    return issue_service.get_visible_issue(db.session, current_api_user(), issue_id)


# --- issues ------------------------------------------------------------------

ISSUE_TYPES = {
    "round_id": INT, "code": STR, "title": STR, "description": STR, "category": STR, "rectify_type": STR,
    "deadline": STR, "assigned_on": STR, "lead_unit": STR, "cooperating_units": STR_LIST, "target": STR,
    "measures": STR, "domain": STR, "responsible_leader": STR, "responsible_person": STR,
}


@bp.get("/issues")
def list_issues():
    """One page of the issues the caller may see, filtered, with the total."""
    filters, page, per_page = issue_list_args(db.session)
    rows, total = search_issues(db.session, current_api_user(), clock.today(), current_app.config,
                                filters, page=page, per_page=per_page)
    # All cooperating units of the page in one query, not one per issue.
    coop = issue_service.cooperating_codes(db.session, [row.issue.id for row in rows])
    items = [issue_json(row, coop[row.issue.id]) for row in rows]
    return jsonify(items=items, total=total, page=page, per_page=per_page)


@bp.post("/issues")
def create_issue():
    """Register an issue (supervisor)."""
    data = check_types(json_body(), ISSUE_TYPES)
    issue = issue_service.create_issue(db.session, current_api_user(), clock.now(), data, clock.today())
    db.session.commit()
    response = jsonify(_issue_payload(issue))
    response.headers["Location"] = url_for("api.get_issue", issue_id=issue.id)
    return response, 201


@bp.get("/issues/<int:issue_id>")
def get_issue(issue_id: int):
    """One issue (404 when outside the caller's scope)."""
    return jsonify(_issue_payload(_visible_issue(issue_id)))


@bp.get("/issues/<int:issue_id>/events")
def issue_events(issue_id: int):
    """The issue's timeline, oldest first."""
    issue = _visible_issue(issue_id)
    return jsonify(items=events_json(db.session, issue))


@bp.post("/issues/<int:issue_id>/progress")
def report_progress(issue_id: int):
    """File this period's progress report (lead or cooperating unit)."""
    issue = _visible_issue(issue_id)
    data = check_types(json_body(), {"period": STR, "percent": INT, "text": STR})
    actor = current_api_user()
    report = issue_service.report_progress(db.session, actor, clock.now(), issue, data.get("period", ""),
                                           data.get("percent"), data.get("text", ""), current_app.config["TIMEZONE"])
    db.session.commit()
    return jsonify(report_json(report, actor)), 201


@bp.post("/issues/<int:issue_id>/attachments")
def add_attachment(issue_id: int):
    """Upload an evidence file (multipart field `file`)."""
    issue = _visible_issue(issue_id)
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("请以 multipart/form-data 上传文件,字段名为 file。")
    attachment = issue_service.add_evidence(
        db.session, current_api_user(), clock.now(), issue, upload.filename or "", upload.stream,
        current_app.config["UPLOAD_DIR"], current_app.config["MAX_UPLOAD_BYTES"],
    )
    db.session.commit()
    return jsonify(attachment_json(attachment)), 201


@bp.post("/issues/<int:issue_id>/transitions")
def transition(issue_id: int):
    """Take a workflow action: submit, verify, approve, return, reopen, mark_basically_done, merge."""
    issue = _visible_issue(issue_id)
    data = check_types(json_body(), {"action": STR, "comment": STR, "summary": STR,
                                     "target_issue_id": INT, "target_code": STR, "version": INT})
    if not data.get("action"):
        raise bad_request("请提供 action(要执行的操作)。")
    issue_service.transition(db.session, current_api_user(), clock.now(), issue, data["action"],
                             comment=data.get("comment"), summary=data.get("summary"),
                             target_issue_id=data.get("target_issue_id"), version=data.get("version"),
                             target_code=data.get("target_code"))
    db.session.commit()
    return jsonify(_issue_payload(issue))


MAX_PER_PAGE = 100


DEFAULT_PER_PAGE = 20


LIGHTS = ("red", "yellow", "green")


# Besides the workflow states, the issue list knows "open" (not closed) and "merged".
STATE_FILTERS = (*enums.STATES, "open", "merged")


def issue_list_args(session: Session) -> tuple[IssueFilters, int, int]:
    """Parse GET /issues' query string into filters, page and page size (400 when bad)."""
    unit_id = None
    unit_code = request.args.get("unit", "").strip()
    if unit_code:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise bad_request(f"参数 unit:单位编码「{unit_code}」不存在。")
    filters = IssueFilters(
        round_id=int_arg("round_id", None, 1),
        state=choice_arg("state", STATE_FILTERS),
        unit_id=unit_id,
        light=choice_arg("light", LIGHTS),
        overdue=bool_arg("overdue"),
        q=request.args.get("q", "").strip() or None,
    )
    page = int_arg("page", 1, 1)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return filters, page or 1, per_page or DEFAULT_PER_PAGE


def issue_json(row: IssueRow, cooperating: list[Unit]) -> dict[str, Any]:
    """An issue with its figures for the day, in the API's contract shape."""
    issue = row.issue
    return {
        "id": issue.id,
        "code": issue.code,
        "title": issue.title,
        "round_id": issue.round_id,
        "category": issue.category,
        "rectify_type": issue.rectify_type,
        "deadline": iso_date(issue.deadline),
        "lead_unit": issue.lead_unit.code,
        "cooperating_units": [unit.code for unit in cooperating],
        "state": issue.state,
        "progress_percent": issue.progress_percent,
        "overdue": row.overdue,
        "days_overdue": row.days_overdue,
        "lagging": row.lagging,
        "light": row.light,
        "merged_into": issue.merged_into_id,
        "version": issue.version,
        "created_at": iso_time(issue.created_at),
        "updated_at": iso_time(issue.updated_at),
    }


def report_json(report: ProgressReport, author: User) -> dict[str, Any]:
    """A progress report just filed."""
    return {
        "id": report.id,
        "issue_id": report.issue_id,
        "period": report.period,
        "percent": report.percent,
        "text": report.text,
        "author": author.username,
        "created_at": iso_time(report.created_at),
    }


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """An evidence file: id, the cleaned name, size and content hash."""
    return {"id": attachment.id, "filename": attachment.filename, "size": attachment.size,
            "sha256": attachment.sha256}


def events_json(session: Session, issue: Issue) -> list[dict[str, Any]]:
    """The issue's timeline, oldest first, with each actor loaded in the same query."""
    events = session.scalars(
        select(Event).where(Event.issue_id == issue.id)
        .options(joinedload(Event.actor)).order_by(Event.at, Event.id)
    ).all()
    return [
        {
            "at": iso_time(event.at),
            "actor": event.actor.username if event.actor else None,
            "action": event.action,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "comment": event.comment,
        }
        for event in events
    ]
