"""API views: parse the request, call one service, commit, answer JSON.

A refused action raises `Refusal`; the blueprint's error handler rolls the
session back, logs the refusal and answers {"error": "..."} with its status.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from tracker import clock
from tracker.extensions import db
from tracker.models import Issue
from tracker.services import accounts
from tracker.services import issues as issue_service
from tracker.services.queries import issue_row, search_issues
from tracker.workflow import Refusal
from tracker.api import bp, schemas
from tracker.api.auth import authenticate_request, current_api_token, current_api_user, unauthorized
from tracker.api.openapi import openapi_document
from tracker.api.schemas import INT, STR, STR_LIST, check_types, json_body

log = logging.getLogger("tracker.api")

bp.before_request(authenticate_request)


# --- errors ------------------------------------------------------------------

def _who() -> str:
    user = g.get("api_user")
    return user.username if user is not None else "-"


@bp.errorhandler(Refusal)
def refused(err: Refusal):
    """A refused call: nothing written stays, the caller gets the reason."""
    db.session.rollback()
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), err.status, err.message)
    details = getattr(err, "errors", None)  # a refusal listing every row's problems (plan import)
    return jsonify(error=err.message, **({"errors": details} if details is not None else {})), err.status


@bp.errorhandler(StaleDataError)
def stale(_err: StaleDataError):
    """Two writers on one issue at once: the later one loses and is told so."""
    db.session.rollback()
    log.warning("refused %s %s for %s: 409 stale", request.method, request.path, _who())
    return jsonify(error=issue_service.STALE_MESSAGE), 409


@bp.errorhandler(IntegrityError)
def integrity(_err: IntegrityError):
    """A uniqueness race the services' checks could not see (another caller won)."""
    db.session.rollback()
    log.warning("refused %s %s for %s: 409 integrity", request.method, request.path, _who())
    return jsonify(error="数据与他人同时提交的内容冲突,请检查后重试。"), 409


HTTP_MESSAGES = {
    400: "请求格式不正确。",
    404: "请求的资源不存在。",
    405: "不支持该请求方法。",
    413: "上传的内容太大,单个文件不能超过 {mb} MB。",
    415: "不支持的请求内容类型。",
}


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    """Werkzeug's errors (e.g. a body over MAX_CONTENT_LENGTH) in the API's JSON shape."""
    status = err.code or 500
    if status >= 500:
        db.session.rollback()
    mb = current_app.config.get("MAX_UPLOAD_BYTES", 0) // (1024 * 1024)
    message = HTTP_MESSAGES.get(status, "请求无法处理。").format(mb=mb)
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), status, err.name)
    return jsonify(error=message), status


# --- helpers -----------------------------------------------------------------

def _issue_payload(issue: Issue) -> dict[str, Any]:
    """One issue with its figures for today and its cooperating units."""
    row = issue_row(db.session, issue, clock.today(), current_app.config)
    coop = issue_service.cooperating_codes(db.session, [issue.id])[issue.id]
    return schemas.issue_json(row, coop)


def _visible_issue(issue_id: int) -> Issue:
    return issue_service.get_visible_issue(db.session, current_api_user(), issue_id)


# --- tokens ------------------------------------------------------------------

@bp.post("/auth/token")
def create_token():
    """Exchange a username and password for a bearer token."""
    data = check_types(json_body(), {"username": STR, "password": STR})
    if not data.get("username") or not data.get("password"):
        raise schemas.bad_request("请提供 username 和 password。")
    user = accounts.authenticate(db.session, data["username"], data["password"])
    if user is None:
        return unauthorized("用户名或密码不正确。")
    token = accounts.issue_token(db.session, user, clock.now())
    db.session.commit()
    response = jsonify(token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/auth/token")
def revoke_token():
    """Revoke the token this request was made with."""
    accounts.revoke_token(db.session, current_api_token(), clock.now())
    db.session.commit()
    return "", 204


# --- units, users, rounds ----------------------------------------------------

@bp.get("/units")
def list_units():
    """Every unit (codes are needed to register issues and users)."""
    return jsonify(items=schemas.all_units(db.session))


@bp.post("/units")
def create_unit():
    """Add a unit (admin)."""
    data = check_types(json_body(), {"code": STR, "name": STR, "parent_code": STR, "email": STR})
    unit = accounts.create_unit(db.session, current_api_user(), data.get("code"), data.get("name"),
                                data.get("parent_code"), data.get("email"))
    db.session.commit()
    return jsonify(schemas.unit_json(unit, unit.parent.code if unit.parent else None)), 201


@bp.post("/users")
def create_user():
    """Add a user (admin)."""
    data = check_types(json_body(), {"username": STR, "password": STR, "role": STR, "unit_code": STR,
                                     "email": STR, "display_name": STR})
    user = accounts.create_user(db.session, current_api_user(), data.get("username"), data.get("password"),
                                data.get("role"), data.get("unit_code"), data.get("email"),
                                data.get("display_name"))
    db.session.commit()
    return jsonify(schemas.user_json(user)), 201


@bp.post("/rounds")
def create_round():
    """Register an inspection round (admin, supervisor)."""
    data = check_types(json_body(), {"name": STR, "level": STR, "kind": STR, "feedback_date": STR,
                                     "document_no": STR})
    round_ = accounts.create_round(db.session, current_api_user(), data.get("name"), data.get("level"),
                                   data.get("kind"), data.get("feedback_date"), data.get("document_no"))
    db.session.commit()
    return jsonify(schemas.round_json(round_)), 201


# --- issues ------------------------------------------------------------------

ISSUE_TYPES = {
    "round_id": INT, "code": STR, "title": STR, "description": STR, "category": STR, "rectify_type": STR,
    "deadline": STR, "assigned_on": STR, "lead_unit": STR, "cooperating_units": STR_LIST, "target": STR,
    "measures": STR, "domain": STR, "responsible_leader": STR, "responsible_person": STR,
}


@bp.get("/issues")
def list_issues():
    """One page of the issues the caller may see, filtered, with the total."""
    filters, page, per_page = schemas.issue_list_args(db.session)
    rows, total = search_issues(db.session, current_api_user(), clock.today(), current_app.config,
                                filters, page=page, per_page=per_page)
    # All cooperating units of the page in one query, not one per issue.
    coop = issue_service.cooperating_codes(db.session, [row.issue.id for row in rows])
    items = [schemas.issue_json(row, coop[row.issue.id]) for row in rows]
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
    return jsonify(items=schemas.issue_events(db.session, issue))


@bp.post("/issues/<int:issue_id>/progress")
def report_progress(issue_id: int):
    """File this period's progress report (lead or cooperating unit)."""
    issue = _visible_issue(issue_id)
    data = check_types(json_body(), {"period": STR, "percent": INT, "text": STR})
    actor = current_api_user()
    report = issue_service.report_progress(db.session, actor, clock.now(), issue, data.get("period", ""),
                                           data.get("percent"), data.get("text", ""), current_app.config["TIMEZONE"])
    db.session.commit()
    return jsonify(schemas.report_json(report, actor)), 201


@bp.post("/issues/<int:issue_id>/attachments")
def add_attachment(issue_id: int):
    """Upload an evidence file (multipart field `file`)."""
    issue = _visible_issue(issue_id)
    upload = request.files.get("file")
    if upload is None:
        raise schemas.bad_request("请以 multipart/form-data 上传文件,字段名为 file。")
    attachment = issue_service.add_evidence(
        db.session, current_api_user(), clock.now(), issue, upload.filename or "", upload.stream,
        current_app.config["UPLOAD_DIR"], current_app.config["MAX_UPLOAD_BYTES"],
    )
    db.session.commit()
    return jsonify(schemas.attachment_json(attachment)), 201


@bp.post("/issues/<int:issue_id>/transitions")
def transition(issue_id: int):
    """Take a workflow action: submit, verify, approve, return, reopen, mark_basically_done, merge."""
    issue = _visible_issue(issue_id)
    data = check_types(json_body(), {"action": STR, "comment": STR, "summary": STR,
                                     "target_issue_id": INT, "target_code": STR, "version": INT})
    if not data.get("action"):
        raise schemas.bad_request("请提供 action(要执行的操作)。")
    issue_service.transition(db.session, current_api_user(), clock.now(), issue, data["action"],
                             comment=data.get("comment"), summary=data.get("summary"),
                             target_issue_id=data.get("target_issue_id"), version=data.get("version"),
                             target_code=data.get("target_code"))
    db.session.commit()
    return jsonify(_issue_payload(issue))


# --- description -------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 description of this API (no token needed)."""
    return jsonify(openapi_document())
