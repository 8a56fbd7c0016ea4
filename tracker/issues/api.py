"""The issues API: list, register, read, timeline, progress reports, evidence and workflow actions.

Views parse the request through a schema (tracker.issues.schemas), call one service, commit and
answer through a schema; a refusal answers {"error": "..."} with its status through the
blueprint's handler (tracker.core.api).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.core import clock
from tracker.core.antivirus import scanner_from_config
from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.extensions import db
from tracker.issues import chain
from tracker.issues import extensions as extension_service
from tracker.issues import services as issue_service
from tracker.issues.models import Attachment, Event, ExtensionRequest, Issue, ProgressReport
from tracker.issues.queries import issue_row, search_issues
from tracker.issues.schemas import (
    AttachmentSchema,
    EventListSchema,
    EvidenceUploadSchema,
    ExtensionCreateSchema,
    ExtensionDecisionSchema,
    ExtensionSchema,
    IssueCreateSchema,
    IssueDetailSchema,
    IssueListQuerySchema,
    IssueListSchema,
    IssueOut,
    IssueQuery,
    IssueSchema,
    IssueUpdateSchema,
    ProgressCreateSchema,
    ProgressReportSchema,
    TransitionSchema,
)
from tracker.issues.scoping import shown_events, visible_among
from tracker.units.models import Unit

blp = ApiBlueprint("issues_api", __name__, tag="issues", description="问题、进展、佐证材料与办理")

ISSUE_ID = {"in": "path", "name": "issue_id", "description": "问题 id"}
REQUEST_ID = {"in": "path", "name": "request_id", "description": "延期申请 id"}


# --- helpers -----------------------------------------------------------------

def issue_out(issue: Issue, *, with_history: bool = False) -> IssueOut:
    """One issue with its figures for today and its cooperating units, for `IssueSchema` (and
    with its deadline history, for `IssueDetailSchema`)."""
    row = issue_row(db.session, issue, clock.today(), current_app.config)
    coop = issue_service.cooperating_codes(db.session, [issue.id])[issue.id]
    history = issue_service.deadline_history(db.session, issue) if with_history else None
    requests = extension_service.requests_of(db.session, issue) if with_history else None
    seen = visible_among(db.session, current_api_user(), [issue.merged_into_id])
    return IssueOut(row, codes(coop), history, issue.merged_into_id if issue.merged_into_id in seen else None,
                    chain.waiting_for(issue) if with_history else None, requests)


def codes(units: list[Unit]) -> list[str]:
    """The units' codes, in order."""
    return [unit.code for unit in units]


def visible_issue(view: Callable[..., Any]) -> Callable[..., Any]:
    """Hand the view the path's issue instead of its id, looked up *before* the request body is
    parsed: an issue outside the caller's scope answers 404 whatever the body says."""
    @wraps(view)
    def wrapper(*args: Any, issue_id: int, **kwargs: Any) -> Any:
        issue = issue_service.get_visible_issue(db.session, current_api_user(), issue_id)
        return view(*args, issue=issue, **kwargs)

    return wrapper


# --- issues ------------------------------------------------------------------

@blp.get("/issues")
@blp.operation("listIssues", "调用者可见的问题列表", errors=(400, 401))
@blp.arguments(IssueListQuerySchema, location="query")
@blp.response(200, IssueListSchema, description="一页问题及总数")
def list_issues(query: IssueQuery) -> dict[str, Any]:
    """One page of the issues the caller may see, filtered, with the total."""
    rows, total = search_issues(db.session, current_api_user(), clock.today(), current_app.config,
                                query.filters, page=query.page, per_page=query.per_page)
    # All cooperating units of the page in one query, not one per issue.
    coop = issue_service.cooperating_codes(db.session, [row.issue.id for row in rows])
    # Merge targets the caller may see, in one query: one outside the scope is not named (ASVS 4.2.1).
    seen = visible_among(db.session, current_api_user(), [row.issue.merged_into_id for row in rows])
    items = [IssueOut(row, codes(coop[row.issue.id]), None,
                      row.issue.merged_into_id if row.issue.merged_into_id in seen else None) for row in rows]
    return {"items": items, "total": total, "page": query.page, "per_page": query.per_page}


@blp.post("/issues")
@blp.operation("createIssue", "登记问题(督察整改办)", errors=(400, 401, 403, 409, 422))
@blp.arguments(IssueCreateSchema)
@blp.response(201, IssueSchema, description="登记的问题")
def create_issue(data: dict[str, Any]) -> tuple[IssueOut, dict[str, str]]:
    """Register an issue (supervisor)."""
    issue = issue_service.create_issue(db.session, current_api_user(), clock.now(), data, clock.today())
    db.session.commit()
    return issue_out(issue), {"Location": url_for("issues_api.get_issue", issue_id=issue.id)}


@blp.get("/issues/<int:issue_id>", parameters=[ISSUE_ID])
@blp.operation("getIssue", "单个问题", errors=(401, 404))
@blp.response(200, IssueDetailSchema, description="问题及其整改时限调整记录")
@visible_issue
def get_issue(issue: Issue) -> IssueOut:
    """One issue with its deadline history (404 when outside the caller's scope)."""
    return issue_out(issue, with_history=True)


@blp.patch("/issues/<int:issue_id>", parameters=[ISSUE_ID])
@blp.operation("updateIssue", "修改问题(督察整改办);调整整改时限时写明理由,牵头单位会收到通知",
               errors=(400, 401, 403, 404, 409, 422))
@visible_issue
@blp.arguments(IssueUpdateSchema)
@blp.response(200, IssueDetailSchema, description="修改后的问题")
def update_issue(data: dict[str, Any], issue: Issue) -> IssueOut:
    """Change an issue's fields (the office); nothing changed writes nothing."""
    reason, version = data.pop("reason", None), data.pop("version", None)
    issue_service.update_issue(db.session, current_api_user(), clock.now(), issue, data, clock.today(),
                               version=version, reason=reason)
    db.session.commit()
    return issue_out(issue, with_history=True)


@blp.get("/issues/<int:issue_id>/events", parameters=[ISSUE_ID])
@blp.operation("listIssueEvents", "问题的流转记录(时间先后)", errors=(401, 404))
@blp.response(200, EventListSchema, description="流转记录")
@visible_issue
def issue_events(issue: Issue) -> dict[str, list[Any]]:
    """The issue's timeline, oldest first, with each actor loaded in the same query."""
    events = db.session.scalars(
        select(Event).where(Event.issue_id == issue.id)
        .options(joinedload(Event.actor)).order_by(Event.at, Event.id)
    ).all()
    return {"items": shown_events(db.session, current_api_user(), issue, events)}


@blp.post("/issues/<int:issue_id>/progress", parameters=[ISSUE_ID])
@blp.operation("reportProgress", "报送整改进展(牵头或配合单位);同一期次再次报送将替换前一次",
               errors=(400, 401, 403, 404, 409, 422))
@visible_issue
@blp.arguments(ProgressCreateSchema)
@blp.response(201, ProgressReportSchema, description="报送的进展")
def report_progress(data: dict[str, Any], issue: Issue) -> ProgressReport:
    """File this period's progress report (lead or cooperating unit)."""
    report = issue_service.report_progress(db.session, current_api_user(), clock.now(), issue,
                                           data.get("period", ""), data.get("percent"), data.get("text", ""),
                                           current_app.config["TIMEZONE"])
    db.session.commit()
    return report


@blp.post("/issues/<int:issue_id>/attachments", parameters=[ISSUE_ID])
@blp.operation("addAttachment", "上传佐证材料(PDF、图片、Office 文档或 ZIP)",
               description="每人每日上传总量有上限(TRACKER_UPLOAD_QUOTA_MB_PER_DAY,默认 500 MB):"
                           "超出时返回 429,不保存文件,次日(本地时间零点后)可再上传。",
               errors=(400, 401, 403, 404, 409, 413, 422, 429, 503))
@visible_issue
@blp.arguments(EvidenceUploadSchema, location="multipart")
@blp.response(201, AttachmentSchema, description="保存的材料")
def add_attachment(form: dict[str, Any], issue: Issue) -> Attachment:
    """Upload an evidence file (multipart field `file`)."""
    upload = form["file"]
    attachment = issue_service.add_evidence(
        db.session, current_api_user(), clock.now(), issue, upload.filename or "", upload.stream,
        current_app.config["UPLOAD_DIR"], current_app.config["MAX_UPLOAD_BYTES"],
        quota_bytes=current_app.config.get("UPLOAD_QUOTA_BYTES_PER_DAY"),
        timezone=current_app.config.get("TIMEZONE", "Asia/Shanghai"),
        scanner=scanner_from_config(current_app.config),
    )
    db.session.commit()
    return attachment


@blp.post("/issues/<int:issue_id>/transitions", parameters=[ISSUE_ID])
@blp.operation("transitionIssue", "办理:提交销号、验收、批准销号、退回、重新打开、标记基本完成、合并整改",
               errors=(400, 401, 403, 404, 409, 422))
@visible_issue
@blp.arguments(TransitionSchema)
@blp.response(200, IssueSchema, description="办理后的问题")
def transition(data: dict[str, Any], issue: Issue) -> IssueOut:
    """Take a workflow action: submit, verify, approve, return, reopen, mark_basically_done, merge."""
    issue_service.transition(db.session, current_api_user(), clock.now(), issue, data["action"],
                             comment=data.get("comment"), summary=data.get("summary"),
                             target_issue_id=data.get("target_issue_id"), version=data.get("version"),
                             target_code=data.get("target_code"))
    db.session.commit()
    return issue_out(issue)


@blp.post("/issues/<int:issue_id>/extensions", parameters=[ISSUE_ID])
@blp.operation("requestExtension", "申请延期(牵头单位负责人):申请延至的日期和理由,由督察整改办审批",
               description="问题须在整改中或基本完成且未合并整改;同一问题同时只能有一份待审批的申请;"
                           "批准的延期次数不能超过轮次的上限(max_extensions),超过时返回 409。",
               errors=(400, 401, 403, 404, 409, 422))
@visible_issue
@blp.arguments(ExtensionCreateSchema)
@blp.response(201, ExtensionSchema, description="提交的延期申请(待审批)")
def request_extension(data: dict[str, Any], issue: Issue) -> ExtensionRequest:
    """Ask for a later deadline (the lead unit's head)."""
    request = extension_service.request_extension(db.session, current_api_user(), clock.now(), issue,
                                                  data.get("new_deadline"), data.get("reason"))
    db.session.commit()
    return request


def visible_request(view: Callable[..., Any]) -> Callable[..., Any]:
    """Hand the view the path's extension request, looked up before the body is parsed: one of an
    issue outside the caller's scope answers 404 whatever the body says."""
    @wraps(view)
    def wrapper(*args: Any, request_id: int, **kwargs: Any) -> Any:
        request = extension_service.get_visible_request(db.session, current_api_user(), request_id)
        return view(*args, request=request, **kwargs)

    return wrapper


@blp.post("/extensions/<int:request_id>/decision", parameters=[REQUEST_ID])
@blp.operation("decideExtension", "审批延期申请(督察整改办):批准(按申请的日期或另定日期)或驳回(须写明理由)",
               description="批准时整改时限随即调整,记入整改时限调整记录(source 为 extension),"
                           "提醒与督办按新时限重新计算;已处理的申请返回 409。",
               errors=(400, 401, 403, 404, 409, 422))
@visible_request
@blp.arguments(ExtensionDecisionSchema)
@blp.response(200, ExtensionSchema, description="审批后的延期申请")
def decide_extension(data: dict[str, Any], request: ExtensionRequest) -> ExtensionRequest:
    """Approve or reject a pending extension request (the office whose area holds the lead unit)."""
    extension_service.decide_extension(db.session, current_api_user(), clock.now(), request, data.get("decision"),
                                       deadline=data.get("deadline"), reason=data.get("reason"))
    db.session.commit()
    return request
