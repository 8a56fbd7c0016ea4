"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from sqlalchemy import select

from tracker.core import labels, permissions
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Actor, Permission
from tracker.rounds.models import Round


def round_fields(session: DbSession, name: Any, level: Any, kind: Any, feedback_date: Any = None,
                 document_no: Any = None, round_id: Optional[int] = None) -> dict[str, Any]:
    """A round's checked fields (for creating it, or correcting round `round_id`); refusals name the field."""
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise Refusal("invalid", "请填写轮次名称(不超过 200 个字)。", "name")
    if session.scalar(select(Round.id).where(Round.name == name, Round.id != (round_id or 0))):
        raise Refusal("conflict", f"轮次「{name}」已存在。", "name")
    if level not in labels.LEVEL_LABELS:
        raise Refusal("invalid", "层级应为 central、provincial 或 municipal。", "level")
    if kind not in labels.ROUND_KIND_LABELS:
        raise Refusal("invalid", "类型应为 regular、look_back 或 special。", "kind")
    fb: Optional[date] = None
    if feedback_date:
        if isinstance(feedback_date, date):
            fb = feedback_date
        else:
            try:
                fb = date.fromisoformat(str(feedback_date))
            except ValueError:
                raise Refusal("invalid", "反馈日期格式应为 YYYY-MM-DD。", "feedback_date") from None
    document_no = str(document_no or "").strip()
    if len(document_no) > 100:
        raise Refusal("invalid", "文号不能超过 100 个字。", "document_no")
    return {"name": name, "level": level, "kind": kind, "feedback_date": fb, "document_no": document_no or None}


MAX_EXTENSIONS_LIMIT = 10


def max_extensions_value(value: Any) -> Optional[int]:
    """How many extensions (延期) an issue of the round may have, 0..10; None (not given) keeps what is set."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = "x"
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_EXTENSIONS_LIMIT:
        raise Refusal("invalid", f"每个问题最多延期次数应为 0 到 {MAX_EXTENSIONS_LIMIT} 的整数。", "max_extensions")
    return number


def create_round(session: DbSession, actor: Optional[Actor], name: Any, level: Any, kind: Any,
                 feedback_date: Any = None, document_no: Any = None, max_extensions: Any = None) -> Round:
    """Register an inspection round (admin or supervisor); `max_extensions` defaults to the model's."""
    permissions.require(actor, Permission.MANAGE_ROUNDS, message="您的角色无权登记督察轮次。")
    round_ = Round(**round_fields(session, name, level, kind, feedback_date, document_no))
    limit = max_extensions_value(max_extensions)
    if limit is not None:
        round_.max_extensions = limit
    session.add(round_)
    session.flush()
    return round_


def rounds_newest_first(session: DbSession) -> list[Round]:
    """Every round, newest feedback first (rounds without a date last): the order of every round list."""
    return list(session.scalars(select(Round).order_by(Round.feedback_date.desc().nulls_last(), Round.id.desc())))


def update_round(session: DbSession, actor: Actor, round_: Round, name: Any, level: Any, kind: Any,
                 feedback_date: Any = None, document_no: Any = None, max_extensions: Any = None) -> Round:
    """Correct an inspection round's name, level, kind, feedback date, document number or limit of
    extensions per issue (an issue already extended more often keeps its extensions, and gets no more)."""
    permissions.require(actor, Permission.MANAGE_ROUNDS, message="您的角色无权管理督察轮次。")
    fields = round_fields(session, name, level, kind, feedback_date, document_no, round_id=round_.id)
    limit = max_extensions_value(max_extensions)
    for field, value in fields.items():
        setattr(round_, field, value)
    if limit is not None:
        round_.max_extensions = limit
    session.flush()
    return round_
