"""What pages read of escalations: the leaders' board on the home page (interviews / public notices
and supervision orders to units), scoped by `visible_issues`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from tracker.accounts.models import User
from tracker.core import permissions, workflow
from tracker.core.extensions import DbSession
from tracker.core.labels import ESCALATION_LABELS
from tracker.core.permissions import Permission
from tracker.escalation.models import UnitEscalation
from tracker.issues.models import Escalation, Issue
from tracker.issues.scoping import area_units, visible_issues
from tracker.units.models import Unit

# --- the home page -----------------------------------------------------------

@dataclass
class LeaderBoard:
    """For leaders and the office: interview / public notice items and unit supervision orders."""

    items: list[EscalationItem]
    total: int
    orders: list[tuple[Unit, UnitEscalation]]


def leader_board(session: DbSession, user: User, limit: int = 10) -> Optional[LeaderBoard]:
    """The home page's escalation board for leaders and supervisors; None for other roles."""
    if not permissions.can(user, Permission.SEE_BOARD):
        return None
    items, total = escalation_items(session, user, limit=limit)
    return LeaderBoard(items=items, total=total, orders=unit_orders(session, limit=limit, user=user))


@dataclass(frozen=True)
class EscalationItem:
    """An escalated issue for the leaders' list."""

    issue: Issue
    kind: str
    fired_on: date

    @property
    def kind_label(self) -> str:
        """The escalation's kind in Chinese."""
        return ESCALATION_LABELS.get(self.kind, self.kind)


def escalation_items(session: DbSession, user: User, kinds: tuple[str, ...] = ("interview",),
                     limit: int = 20, open_only: bool = True) -> tuple[list[EscalationItem], int]:
    """Escalated issues the user may see (default: interview / public notice 约谈/通报), newest first, and the total."""
    cond = [Escalation.kind.in_(kinds), visible_issues(user)]
    if open_only:
        cond.append(Issue.state != workflow.CLOSED)
    base = select(Escalation.id).join(Issue, Issue.id == Escalation.issue_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        select(Issue, Escalation.kind, Escalation.fired_on).join(Escalation, Escalation.issue_id == Issue.id)
        .where(*cond).options(joinedload(Issue.lead_unit))
        .order_by(Escalation.fired_on.desc(), Escalation.id.desc()).limit(limit)
    ).all()
    return [EscalationItem(i, k, f) for i, k, f in rows], int(total)


def unit_orders(session: DbSession, period: Optional[str] = None, limit: int = 50,
                user: Optional[User] = None) -> list[tuple[Unit, UnitEscalation]]:
    """Supervision orders to units for yellow lights (newest first), optionally of one month; for `user`,
    only the units in their jurisdiction (an office serving an area)."""
    stmt = select(Unit, UnitEscalation).join(UnitEscalation, UnitEscalation.unit_id == Unit.id)
    area = area_units(user) if user is not None else None
    if area is not None:
        stmt = stmt.where(Unit.id.in_(area))
    if period:
        stmt = stmt.where(UnitEscalation.period == period)
    return [(u, e) for u, e in session.execute(
        stmt.order_by(UnitEscalation.fired_on.desc(), UnitEscalation.id.desc()).limit(limit))]
