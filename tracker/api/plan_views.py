"""API plan import: POST /api/v1/imports/plan reads a plan's text into a preview of its tasks."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from ..extensions import db
from ..plans import Task
from ..services import plan_import
from ..workflow import Refusal
from . import bp
from .auth import current_api_user
from .schemas import INT, STR, bad_request, check_types, json_body


def _task_json(task: Task) -> dict[str, Any]:
    return {
        "number": task.number, "text": task.text,
        "lead_units": task.lead_units, "cooperating_units": task.cooperating_units,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "deadline_text": task.deadline_text, "damaged": task.damaged, "notes": task.notes,
    }


@bp.post("/imports/plan")
def import_plan():
    """Preview a plan's tasks (supervisor): text, units, deadlines; nothing is written."""
    body = json_body()
    data = check_types(body, {"text": STR, "year": INT, "round_id": INT})
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise bad_request("字段 confirm 应为 true 或 false。")
    preview = plan_import.preview_plan(db.session, current_api_user(), data.get("text"), data.get("year"),
                                       data.get("round_id"))
    if confirm:
        # Creating issues needs each task's code, category and type, which a plan does not give.
        raise Refusal("invalid", "暂不支持直接创建:请先预览,再逐条登记问题。", "confirm")
    plan = preview.plan
    return jsonify(year=plan.year, title=plan.title, tasks=[_task_json(t) for t in plan.tasks],
                   unassigned=[_task_json(t) for t in plan.unassigned], unknown_units=preview.unknown_units)
