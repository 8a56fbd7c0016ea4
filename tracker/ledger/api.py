"""The ledger's API: export of the issue list, import of an Excel ledger, import of a plan's text.

- GET /api/v1/issues/export.xlsx with the issue list's filters: the workbook, or (a large export)
  202 with the task's JSON and `Location: /api/v1/jobs/<id>` to poll.
- POST /api/v1/imports/ledger: preview an Excel ledger, or with confirm=true apply it; a large file
  is previewed or applied by a background task (202 + Location).
- POST /api/v1/imports/plan: preview a plan's tasks, or with confirm=true create them as issues.
"""
from __future__ import annotations

from typing import IO, Any, Optional

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from tracker.accounts.models import User
from tracker.core import clock, tasks
from tracker.core.api import INT, STR, accepted, bad_request, bp, check_types, current_api_user, json_body
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.views import start
from tracker.issues.api import issue_list_args
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import
from tracker.ledger import plan_import
from tracker.ledger import tasks as ledger_tasks
from tracker.ledger.plans import Task
from tracker.ledger.views import xlsx_response


@bp.get("/issues/export.xlsx")
def export_issues_xlsx():
    """Every issue the caller may see that matches GET /issues' filters, as an Excel ledger (or a job)."""
    # The list's parser also checks page/per_page; an export has no pages and ignores them.
    filters, _page, _per_page = issue_list_args(db.session)
    user, today = current_api_user(), clock.today()
    total = ledger.count_rows(db.session, user, today, current_app.config, filters)
    if tasks.runs_in_background(ledger_tasks.EXPORT, total, current_app.config):
        job = ledger_tasks.create_export_job(db.session, user, clock.now(), "xlsx", filters, "deadline",
                                                today, total)
        start(current_app._get_current_object(), job)
        return accepted(job)
    rows = ledger.ledger_rows(db.session, user, today, current_app.config, filters)
    return xlsx_response(rows, today)


CONFIRM_VALUES = {"true": True, "1": True, "false": False, "0": False, "": False}


@bp.post("/imports/ledger")
def import_ledger():
    """Preview an Excel ledger (multipart `file`), or with `confirm=true` create and update its issues."""
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("请以 multipart/form-data 上传台账文件,字段名为 file。")
    confirm = CONFIRM_VALUES.get(request.form.get("confirm", "").strip().lower())
    if confirm is None:
        raise bad_request("字段 confirm 应为 true 或 false。")
    round_id = request.form.get("round_id", "").strip()
    if round_id and not round_id.isdigit():
        raise bad_request("字段 round_id 应为整数。")
    user, round_ = current_api_user(), int(round_id) if round_id else None
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if tasks.runs_in_background(ledger_tasks.PREVIEW, size, current_app.config):
        return _in_background(upload.stream, user, round_, confirm)
    preview = ledger_import.read_ledger(upload.stream, db.session, actor=user, round_id=round_,
                                        **ledger_import.limits(current_app.config))
    body = {"rows": len(preview.rows), "errors": preview.errors, "warnings": preview.warnings,
            **preview.counts()}
    if not confirm:
        return jsonify(body)
    if not preview.ok:
        # Nothing is written: the caller gets every error to fix at once.
        return jsonify(error=f"台账有 {len(preview.errors)} 处错误,请修改后重新上传;未写入任何数据。",
                       **body), 422
    if tasks.runs_in_background(ledger_tasks.IMPORT, len(preview.rows), current_app.config):
        # As on the pages: many rows are written by a job, which reads and checks the kept file again.
        upload.stream.seek(0)
        return _in_background(upload.stream, user, round_, confirm)
    created, updated = ledger_import.apply_ledger(db.session, user, clock.now(), clock.today(), preview)
    db.session.commit()
    return jsonify(created=created, updated=updated)


def _in_background(stream: IO[bytes], user: User, round_id: Optional[int], confirm: bool) -> Response:
    """Keep a large ledger and preview or import it in a job; a finished current preview answers at once."""
    app = current_app._get_current_object()
    upload_dir = app.config["UPLOAD_DIR"]
    sha256 = ledger_import.keep_upload(upload_dir, stream, user, app.config["MAX_UPLOAD_BYTES"])
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
        return jsonify(rows=page.row_count, errors=page.errors, warnings=page.warnings, error_count=page.error_count,
                       warning_count=page.warning_count, **page.counts())
    return accepted(job)


def _task_json(task: Task) -> dict[str, Any]:
    return {
        "number": task.number, "text": task.text,
        "lead_units": task.lead_units, "cooperating_units": task.cooperating_units,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "deadline_text": task.deadline_text, "damaged": task.damaged, "notes": task.notes,
    }


@bp.post("/imports/plan")
def import_plan():
    """Preview a plan's tasks (supervisor); with confirm=true and round_id, create them as issues."""
    body = json_body()
    data = check_types(body, {"text": STR, "year": INT, "round_id": INT, "category": STR, "rectify_type": STR,
                              "assigned_on": STR, "default_deadline": STR, "code_prefix": STR})
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise bad_request("字段 confirm 应为 true 或 false。")
    unit_map = body.get("unit_map") or {}
    if not isinstance(unit_map, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in unit_map.items()):
        raise bad_request("字段 unit_map 应为对象:{\"方案中的单位名称\": \"单位编码\" 或 \"+new\"}。")
    user = current_api_user()
    preview = plan_import.preview_plan(db.session, user, data.get("text"), data.get("year"), data.get("round_id"))
    plan = preview.plan
    if not confirm:
        return jsonify(year=plan.year, title=plan.title, tasks=[_task_json(t) for t in plan.tasks],
                       unassigned=[_task_json(t) for t in plan.unassigned], unknown_units=preview.unknown_units,
                       suggestions=preview.suggestions)
    if data.get("round_id") is None:
        raise Refusal("invalid", "创建问题需要指定督察轮次 round_id。", "round_id")
    today = clock.today()
    prefix = plan_import.check_code_prefix(data.get("code_prefix") or plan_import.default_code_prefix(plan))
    fallback = plan_import.read_date(data.get("default_deadline"), "default_deadline", "默认整改时限") or plan_import.default_deadline(plan, today)
    rows = plan_import.draft_rows(plan, prefix, data.get("rectify_type", plan_import.DEFAULT_RECTIFY_TYPE), fallback)
    options = plan_import.PlanOptions(
        round_id=data["round_id"], category=data.get("category", plan_import.DEFAULT_CATEGORY),
        assigned_on=plan_import.read_date(data.get("assigned_on"), "assigned_on", "交办日期") or plan_import.default_assigned_on(plan, today),
        plan_title=plan.title, unit_map=unit_map)
    issues = plan_import.apply_plan(db.session, user, clock.now(), today, options, rows)
    db.session.commit()
    return jsonify(created=len(issues), issue_ids=[i.id for i in issues], codes=[i.code for i in issues]), 201
