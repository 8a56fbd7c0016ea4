"""API plan import: POST /api/v1/imports/plan previews a plan's tasks, or creates them as issues."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from tracker import clock
from tracker.extensions import db
from tracker.plans import Task
from tracker.services import plan_import
from tracker.workflow import Refusal
from tracker.api import bp
from tracker.api.auth import current_api_user
from tracker.api.schemas import INT, STR, bad_request, check_types, json_body


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
