"""Plan import: read a plan's text into tasks for the user to check before anything is created."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..models import Round, Unit, User
from ..plans import Plan, parse_plan
from ..workflow import Refusal

MAX_PLAN_CHARS = 1_000_000  # a long plan is some 50,000 characters
MIN_YEAR, MAX_YEAR = 1949, 2100


@dataclass
class PlanPreview:
    """A parsed plan, with the unit names the tracker does not know (to map or create)."""

    plan: Plan
    unknown_units: list[str] = field(default_factory=list)


def preview_plan(session: Session, actor: User, text: Any, year: Optional[int] = None,
                 round_id: Optional[int] = None) -> PlanPreview:
    """Parse a plan's text for the preview (supervisor); nothing is written."""
    if not workflow.may_manage_issues(actor.role):
        raise Refusal("forbidden", "只有督察整改办可以导入整改方案。")
    if not isinstance(text, str) or not text.strip():
        raise Refusal("invalid", "请粘贴或上传整改方案的文本。", "text")
    if len(text) > MAX_PLAN_CHARS:
        raise Refusal("too_large", f"方案文本过长:不能超过 {MAX_PLAN_CHARS:,} 个字。", "text")
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise Refusal("invalid", f"年份应在 {MIN_YEAR} 至 {MAX_YEAR} 之间。", "year")
    if round_id is not None and session.get(Round, round_id) is None:
        raise Refusal("invalid", "请选择存在的督察轮次。", "round_id")
    plan = parse_plan(text, year)
    names: list[str] = []
    for task in plan.tasks:
        for name in task.units:
            if name not in names:
                names.append(name)
    # One query for all names, however many tasks the plan has.
    known = set(session.scalars(select(Unit.name).where(Unit.name.in_(names)))) if names else set()
    return PlanPreview(plan=plan, unknown_units=[n for n in names if n not in known])
