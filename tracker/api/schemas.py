"""Request parsing and JSON serialisation for the API.

Parsing here checks only the shape of a request (JSON object, field types, query
values); the meaning of the values (required fields, existing codes, the
workflow) is judged by the services, which answer 409/422 through `Refusal`.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Optional

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, joinedload

from tracker import workflow
from tracker.models import Attachment, Event, Issue, ProgressReport, Round, Unit, User
from tracker.services.queries import IssueFilters, IssueRow
from tracker.workflow import Refusal

STR = "string"
INT = "integer"
STR_LIST = "string list"
TYPE_LABELS = {STR: "字符串", INT: "整数", STR_LIST: "字符串数组"}

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
LIGHTS = ("red", "yellow", "green")
# Besides the workflow states, the issue list knows "open" (not closed) and "merged".
STATE_FILTERS = (*workflow.STATES, "open", "merged")


def bad_request(message: str) -> Refusal:
    """A 400 refusal: the request itself is malformed."""
    return Refusal("bad_request", message)


# --- request bodies ----------------------------------------------------------

def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 refusal saying what is wrong."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise bad_request("请求体为空:应为 JSON 对象。")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("请求体不是合法的 JSON。") from None
    if not isinstance(data, dict):
        raise bad_request("请求体必须是 JSON 对象(形如 {\"字段\": 值})。")
    return data


def _has_type(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        # JSON true/false are bools, which Python also counts as ints.
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STR_LIST:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    raise ValueError(kind)


def check_types(data: dict[str, Any], spec: dict[str, str]) -> dict[str, Any]:
    """Refuse (400) fields present with the wrong JSON type; null counts as absent.

    Returns only the fields named in `spec`, without the nulls, so services see
    missing values the same way whether they were left out or sent as null.
    """
    clean = {}
    for name, kind in spec.items():
        value = data.get(name)
        if value is None:
            continue
        if not _has_type(value, kind):
            raise bad_request(f"字段 {name} 应为{TYPE_LABELS[kind]}。")
        clean[name] = value
    return clean


# --- query strings -----------------------------------------------------------

def _int_arg(name: str, default: Optional[int], minimum: int, maximum: Optional[int] = None) -> Optional[int]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"参数 {name} 应为整数。") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum} 到 {maximum}" if maximum is not None else f"不小于 {minimum}"
        raise bad_request(f"参数 {name} 应为{bounds}的整数。")
    return value


def _choice_arg(name: str, choices: tuple[str, ...]) -> Optional[str]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise bad_request(f"参数 {name} 应为 {'、'.join(choices)} 之一。")
    return raw


def _bool_arg(name: str) -> Optional[bool]:
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise bad_request(f"参数 {name} 应为 true 或 false。")


def issue_list_args(session: Session) -> tuple[IssueFilters, int, int]:
    """Parse GET /issues' query string into filters, page and page size (400 when bad)."""
    unit_id = None
    unit_code = request.args.get("unit", "").strip()
    if unit_code:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise bad_request(f"参数 unit:单位编码「{unit_code}」不存在。")
    filters = IssueFilters(
        round_id=_int_arg("round_id", None, 1),
        state=_choice_arg("state", STATE_FILTERS),
        unit_id=unit_id,
        light=_choice_arg("light", LIGHTS),
        overdue=_bool_arg("overdue"),
        q=request.args.get("q", "").strip() or None,
    )
    page = _int_arg("page", 1, 1)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return filters, page or 1, per_page or DEFAULT_PER_PAGE


# --- serialisation -----------------------------------------------------------

def iso_date(value: Optional[date]) -> Optional[str]:
    """A date as YYYY-MM-DD."""
    return value.isoformat() if value else None


def iso_time(value: Optional[datetime]) -> Optional[str]:
    """A stored (naive UTC) moment as ISO 8601 with an explicit Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


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


def unit_json(unit: Unit, parent_code: Optional[str]) -> dict[str, Any]:
    """A unit: its code, name, parent's code and mail address."""
    return {"code": unit.code, "name": unit.name, "parent_code": parent_code, "email": unit.email}


def all_units(session: Session) -> list[dict[str, Any]]:
    """Every unit with its parent's code, in one query, ordered by code."""
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit, parent.code).outerjoin(parent, Unit.parent_id == parent.id).order_by(Unit.code)
    ).all()
    return [unit_json(unit, parent_code) for unit, parent_code in rows]


def user_json(user: User) -> dict[str, Any]:
    """A user, never with the password hash."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "unit_code": user.unit.code if user.unit else None,
        "email": user.email,
        "display_name": user.display_name,
        "active": bool(user.active),
    }


def round_json(round_: Round) -> dict[str, Any]:
    """An inspection round."""
    return {
        "id": round_.id,
        "name": round_.name,
        "level": round_.level,
        "kind": round_.kind,
        "feedback_date": iso_date(round_.feedback_date),
        "document_no": round_.document_no,
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


def issue_events(session: Session, issue: Issue) -> list[dict[str, Any]]:
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
