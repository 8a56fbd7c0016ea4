"""What escalations mean for lists and pages: the 挂牌督办 flag, leaders' items, an issue's escalations.

For the issue list (filter/badge), the home page (leaders' interview and public
notice items) and the issue page; every list is scoped by `visible_issues`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Optional

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from tracker import workflow
from tracker.models import Issue, Unit, User
from tracker.notify_models import Escalation, ReportLateness, UnitEscalation
from tracker.services.scoping import visible_issues
from tracker.jobs.settings import KINDS

# Escalations that put an issue under supervision (挂牌督办): the order itself, and the
# interview / public notice beyond it (which may have superseded the order).
SUPERVISION_KINDS = ("supervision_order", "interview")
SUPERVISED_LABEL = "挂牌督办"
ESCALATION_LABELS = {
    **KINDS,
    "report_reminder": "报送提醒",
    "report_late": "未按时报送",
}


def supervised() -> ColumnElement[bool]:
    """WHERE clause: the issue is under supervision (挂牌督办) and not yet closed (摘牌 on closure)."""
    return and_(
        Issue.state != workflow.CLOSED,
        exists().where(and_(Escalation.issue_id == Issue.id, Escalation.kind.in_(SUPERVISION_KINDS))),
    )


def supervised_ids(session: Session, issue_ids: Iterable[int]) -> set[int]:
    """Which of these issues are flagged 挂牌督办 (one query, for a page of the list)."""
    ids = list(issue_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Issue.id).where(Issue.id.in_(ids), supervised())))


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


def escalation_items(session: Session, user: User, kinds: tuple[str, ...] = ("interview",),
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


def late_periods(session: Session, issue_id: int) -> set[str]:
    """The report periods of an issue whose report came late (未按时报送)."""
    return set(session.scalars(select(ReportLateness.period).where(ReportLateness.issue_id == issue_id)))


def unit_orders(session: Session, period: Optional[str] = None, limit: int = 50) -> list[tuple[Unit, UnitEscalation]]:
    """Supervision orders to units for yellow lights (newest first), optionally of one month."""
    stmt = select(Unit, UnitEscalation).join(UnitEscalation, UnitEscalation.unit_id == Unit.id)
    if period:
        stmt = stmt.where(UnitEscalation.period == period)
    return [(u, e) for u, e in session.execute(
        stmt.order_by(UnitEscalation.fired_on.desc(), UnitEscalation.id.desc()).limit(limit))]
