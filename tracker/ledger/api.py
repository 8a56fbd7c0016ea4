"""The ledger's API: export of the issue list, import of an Excel ledger, import of a plan's text.

- GET /api/v1/issues/export.xlsx with the issue list's filters: the workbook, or (a large export)
  202 with the task's JSON and `Location: /api/v1/jobs/<id>` to poll.
- POST /api/v1/imports/ledger: preview an Excel ledger, or with confirm=true apply it; a large file
  is previewed or applied by a background task (202 + Location).
- POST /api/v1/imports/plan: preview a plan's tasks, or with confirm=true create them as issues.
"""
from __future__ import annotations

from typing import IO, Any, Optional

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from tracker.accounts.models import User
from tracker.core import clock, tasks
from tracker.core.antivirus import scanner_from_config
from tracker.core.api import FILE, ApiBlueprint, accepted, accepted_response, current_api_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.files import archive_limits
from tracker.core.views import MIMETYPES, start
from tracker.core.web import app_object
from tracker.issues.schemas import IssueQuery
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import
from tracker.ledger import plan_import
from tracker.ledger import tasks as ledger_tasks
from tracker.ledger.schemas import (
    ExportQuerySchema,
    LedgerResultSchema,
    LedgerUploadSchema,
    PlanCreatedSchema,
    PlanImportSchema,
    PlanPreviewSchema,
)
from tracker.ledger.views import xlsx_response

blp = ApiBlueprint("ledger_api", __name__, tag="imports", description="整改台账的导出与导入、整改方案的导入")


@blp.get("/issues/export.xlsx")
@blp.operation("exportIssuesXlsx", "导出整改台账(Excel):调用者可见且符合筛选条件的全部问题", errors=(400, 401),
               tag="issues")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, FILE, content_type=MIMETYPES["xlsx"], description="整改台账工作簿(附件 整改台账-YYYY-MM-DD.xlsx)")
@blp.alt_response(202, **accepted_response("行数超过 EXPORT_INLINE_MAX_ROWS:已转为后台任务,按 Location 查询进度"))
def export_issues_xlsx(query: IssueQuery) -> Response:
    """Every issue the caller may see that matches GET /issues' filters, as an Excel ledger (or a job)."""
    user, today = current_api_user(), clock.today()
    total = ledger.count_rows(db.session, user, today, current_app.config, query.filters)
    if tasks.runs_in_background(ledger_tasks.EXPORT, total, current_app.config):
        job = ledger_tasks.create_export_job(db.session, user, clock.now(), "xlsx", query.filters, "deadline",
                                             today, total)
        start(app_object(), job)
        return accepted(job)
    rows = ledger.ledger_rows(db.session, user, today, current_app.config, query.filters)
    return xlsx_response(rows, today)


LEDGER_RESULT = LedgerResultSchema()


@blp.post("/imports/ledger")
@blp.operation("importLedger", "导入整改台账(Excel):预览每行的错误;确认后登记新问题、更新已有问题(督察整改办)",
               errors=(400, 401, 403, 413, 422, 503))
@blp.arguments(LedgerUploadSchema, location="multipart")
@blp.response(200, LedgerResultSchema, description="预览(未写入任何数据)或导入结果")
@blp.alt_response(202, **accepted_response("文件超过 PREVIEW_INLINE_MAX_BYTES:预览或导入已转为后台任务,按 Location "
                                           "查询进度;预览完成后再次提交同一文件即返回预览"))
def import_ledger(form: dict[str, Any]) -> Any:
    """Preview an Excel ledger (multipart `file`), or with `confirm=true` create and update its issues."""
    upload, confirm, round_id = form["file"], form["confirm"], form.get("round_id")
    user = current_api_user()
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if tasks.runs_in_background(ledger_tasks.PREVIEW, size, current_app.config):
        return _in_background(upload.stream, user, round_id, confirm)
    preview = ledger_import.read_ledger(upload.stream, db.session, actor=user, round_id=round_id,
                                        scanner=scanner_from_config(current_app.config),
                                        **ledger_import.limits(current_app.config))
    body = {"rows": len(preview.rows), "errors": preview.errors, "warnings": preview.warnings,
            **preview.counts()}
    if not confirm:
        return body
    if not preview.ok:
        # Nothing is written: the caller gets every error to fix at once.
        return jsonify(error=f"台账有 {len(preview.errors)} 处错误,请修改后重新上传;未写入任何数据。",
                       **LEDGER_RESULT.dump(body)), 422
    if tasks.runs_in_background(ledger_tasks.IMPORT, len(preview.rows), current_app.config):
        # As on the pages: many rows are written by a job, which reads and checks the kept file again.
        upload.stream.seek(0)
        return _in_background(upload.stream, user, round_id, confirm)
    created, updated = ledger_import.apply_ledger(db.session, user, clock.now(), clock.today(), preview)
    db.session.commit()
    return {"created": created, "updated": updated}


def _in_background(stream: IO[bytes], user: User, round_id: Optional[int], confirm: bool) -> Any:
    """Keep a large ledger and preview or import it in a job; a finished current preview answers at once."""
    app = app_object()
    upload_dir = app.config["UPLOAD_DIR"]
    sha256 = ledger_import.keep_upload(upload_dir, stream, user, app.config["MAX_UPLOAD_BYTES"],
                                       archive_limits(app.config), scanner_from_config(app.config))
    if confirm:
        # The job reads and checks the whole file again and writes nothing if it has an error.
        job = ledger_tasks.create_import_job(db.session, user, clock.now(), upload_dir, sha256, round_id, 0)
        start(app, job)
        return accepted(job)
    job, new = ledger_tasks.preview_job(db.session, user, clock.now(), upload_dir, sha256, round_id)
    if new:
        start(app, job)
    elif job.state == tasks.DONE:
        page = ledger_tasks.stored_preview(job)
        return {"rows": page.row_count, "errors": page.errors, "warnings": page.warnings,
                "error_count": page.error_count, "warning_count": page.warning_count, **page.counts()}
    return accepted(job)


@blp.post("/imports/plan")
@blp.operation("importPlan", "导入整改方案:从方案文本中识别任务、责任单位和时限(督察整改办);确认后创建为问题",
               errors=(400, 401, 403, 413, 422))
@blp.arguments(PlanImportSchema)
@blp.response(200, PlanPreviewSchema, description="识别出的任务(未写入任何数据)")
@blp.alt_response(201, schema=PlanCreatedSchema, description="已按方案创建的问题", success=True)
def import_plan(data: dict[str, Any]) -> Any:
    """Preview a plan's tasks (supervisor); with confirm=true and round_id, create them as issues."""
    user = current_api_user()
    preview = plan_import.preview_plan(db.session, user, data.get("text"), data.get("year"), data.get("round_id"))
    plan = preview.plan
    if not data["confirm"]:
        return {"year": plan.year, "title": plan.title, "tasks": plan.tasks, "unassigned": plan.unassigned,
                "unknown_units": preview.unknown_units, "suggestions": preview.suggestions}
    if data.get("round_id") is None:
        raise Refusal("invalid", "创建问题需要指定督察轮次 round_id。", "round_id")
    today = clock.today()
    prefix = plan_import.check_code_prefix(data.get("code_prefix") or plan_import.default_code_prefix(plan))
    fallback = (plan_import.read_date(data.get("default_deadline"), "default_deadline", "默认整改时限")
                or plan_import.default_deadline(plan, today))
    rows = plan_import.draft_rows(plan, prefix, data["rectify_type"], fallback)
    options = plan_import.PlanOptions(
        round_id=data["round_id"], category=data["category"],
        assigned_on=(plan_import.read_date(data.get("assigned_on"), "assigned_on", "交办日期")
                     or plan_import.default_assigned_on(plan, today)),
        plan_title=plan.title, unit_map=data["unit_map"])
    issues = plan_import.apply_plan(db.session, user, clock.now(), today, options, rows)
    db.session.commit()
    created = {"created": len(issues), "issue_ids": [i.id for i in issues], "codes": [i.code for i in issues]}
    return jsonify(PlanCreatedSchema().dump(created)), 201
