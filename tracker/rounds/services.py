"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from sqlalchemy import select

from tracker.core import labels, permissions
from tracker.core.enums import CHAIN_ROLES, LEVEL_RANK, UNIT_LEVELS
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Actor, Permission
from tracker.rounds.models import DEFAULT_CHAIN, Round, StepSpec, chain_steps

# An approval chain has one to MAX_STEPS steps, each label up to LABEL_MAX characters.
MAX_STEPS = 6
LABEL_MAX = 20


def parse_chain(raw: Any) -> list[StepSpec]:
    """A chain as given (a list of {level, role, label}; None for today's default), checked: one to six
    steps, each role one that takes chain steps, each level a unit level or empty (any level), labels
    given and distinct, and no step at a lower level than the one before it (a chain climbs)."""
    if raw is None:
        return list(DEFAULT_CHAIN)
    if not isinstance(raw, (list, tuple)) or not 1 <= len(raw) <= MAX_STEPS:
        raise Refusal("invalid", f"审核链应有 1 到 {MAX_STEPS} 个环节。", "chain")
    steps: list[StepSpec] = []
    for n, item in enumerate(raw, start=1):
        if isinstance(item, StepSpec):
            item = {"level": item.level, "role": item.role, "label": item.label}
        if not isinstance(item, dict):
            raise Refusal("invalid", f"审核链第 {n} 个环节的格式不对,应为 {{level, role, label}}。", "chain")
        level = item.get("level") or None
        role = str(item.get("role") or "").strip()
        label = str(item.get("label") or "").strip()
        if level is not None and level not in UNIT_LEVELS:
            raise Refusal("invalid", f"审核链第 {n} 个环节的层级应为 province、city、county、town 之一,"
                                     "或留空表示不限。", "chain")
        if role not in CHAIN_ROLES:
            raise Refusal("invalid", f"审核链第 {n} 个环节的办理角色应为 supervisor 或 approver。", "chain")
        if not label or len(label) > LABEL_MAX:
            raise Refusal("invalid", f"请填写审核链第 {n} 个环节的名称(不超过 {LABEL_MAX} 个字)。", "chain")
        if any(step.label == label for step in steps):
            raise Refusal("invalid", f"审核链的环节名称「{label}」重复了。", "chain")
        earlier = [LEVEL_RANK[step.level] for step in steps if step.level is not None]
        if level is not None and earlier and LEVEL_RANK[level] < max(earlier):
            raise Refusal("invalid", f"审核链第 {n} 个环节「{label}」的层级低于前面的环节:审核链应逐级向上。", "chain")
        steps.append(StepSpec(level, role, label))
    return steps


def replace_chain(round_: Round, steps: list[StepSpec]) -> None:
    """Put a checked chain on a round (the caller made sure no issue is in the old one). Rows are
    rewritten in place by position (a flush inserts before it deletes: new rows at the positions of
    removed ones would break the round's unique positions)."""
    existing = list(round_.steps)
    for row, spec in zip(existing, steps, strict=False):  # the shorter of the two is rewritten
        row.level, row.role, row.label = spec.level, spec.role, spec.label
    for extra in existing[len(steps):]:
        round_.steps.remove(extra)
    round_.steps.extend(chain_steps(steps)[len(existing):])


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
                 feedback_date: Any = None, document_no: Any = None, chain: Any = None,
                 max_extensions: Any = None) -> Round:
    """Register an inspection round (admin or supervisor), with its approval chain (today's default
    when none is given); `max_extensions` defaults to the model's."""
    permissions.require(actor, Permission.MANAGE_ROUNDS, message="您的角色无权登记督察轮次。")
    round_ = Round(**round_fields(session, name, level, kind, feedback_date, document_no))
    replace_chain(round_, parse_chain(chain))
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
