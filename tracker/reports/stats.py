"""Statistics for the statistics page and GET /api/v1/stats: per round and per lead unit.

Every figure is counted in the database with GROUP BY, scoped by
`scoping.visible_issues`, so the number of queries is the same whatever the
number of issues, rounds or units. The per-round totals are the home page's
(`dashboard.round_totals`), with the supervision count added.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from sqlalchemy import and_, func, select

from tracker.accounts.models import User
from tracker.core import enums, labels, workflow
from tracker.core.clock import utc_offset_hours
from tracker.core.extensions import DbSession
from tracker.issues import figures
from tracker.issues.chain import CHAIN_STATES
from tracker.issues.figures import supervised
from tracker.issues.models import Issue, ReportLateness
from tracker.issues.queries import day_figures
from tracker.issues.scoping import area_units, visible_issues
from tracker.reports.dashboard import RoundStats, _flag, round_totals
from tracker.rounds.models import Round, RoundStep
from tracker.units.models import Unit

# The order of categories in the leaders' sentence (重点关注问题 first, as the leaders write it).
SENTENCE_ORDER = ("key_concern", "feedback", "petition", "self_found")
# How the unit table may be ordered (?sort=): by unit code, or most overdue first.
UNIT_ORDERS = ("unit", "overdue")


@dataclass
class RoundFigures:
    """One round's statistics: the home page's totals plus those under supervision order."""

    totals: RoundStats
    supervised: int = 0
    # The outcomes of issues closed or due (figures.OUTCOMES): 按期完成, 延期后完成, 逾期.
    done_on_time: int = 0
    done_after_extension: int = 0
    late: int = 0
    # Where its issues in the approval chain wait: (step position, "待市级验收", how many), in chain order.
    waiting: list[tuple[int, str, int]] = field(default_factory=list)

    @property
    def round(self) -> Round:
        """The round."""
        return self.totals.round

    @property
    def in_progress(self) -> int:
        """Issues being rectified (整改中)."""
        return self.totals.by_state.get(workflow.IN_PROGRESS, 0)

    @property
    def basically_done(self) -> int:
        """Issues basically done (基本完成)."""
        return self.totals.by_state.get(workflow.BASICALLY_DONE, 0)

    def sentence(self) -> str:
        """The leaders' sentence, e.g. "共涉及问题13个(重点关注问题6个、反馈问题7个)。目前,已完成整改8个,
        剩余5个正在积极推进中。" — "completed" means closed (已销号)."""
        return summary_sentence(self.totals.total, self.totals.closed,
                                {c: n for c, (n, _closed) in self.totals.by_category.items()})

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        t = self.totals
        return {
            "round": {"id": t.round.id, "name": t.round.name, "level": t.round.level, "kind": t.round.kind,
                      "feedback_date": t.round.feedback_date.isoformat() if t.round.feedback_date else None},
            "total": t.total,
            "by_category": {c: {"total": n, "closed": k} for c, (n, k) in sorted(t.by_category.items())},
            "by_state": {s: t.by_state.get(s, 0) for s in enums.STATES},
            "closed": t.closed,
            "basically_done": self.basically_done,
            "in_progress": self.in_progress,
            "overdue": t.overdue,
            "supervised": self.supervised,
            "done_on_time": self.done_on_time,
            "done_after_extension": self.done_after_extension,
            "late": self.late,
            "completion_rate": t.completion_rate,
            "summary": self.sentence(),
        }


@dataclass
class UnitFigures:
    """A lead unit's figures over the issues in scope."""

    unit_id: int
    code: str
    name: str
    assigned: int = 0
    closed: int = 0
    closed_on_time: int = 0  # 按期销号: closed by the deadline in force (extended or not)
    overdue: int = 0
    late_reports: int = 0  # 未按时报送: (issue, period) marks
    supervision_orders: int = 0  # issues under supervision order (挂牌督办), interviewed ones included
    interviews: int = 0  # issues called to an interview or publicly named (约谈/通报)
    extended: int = 0  # issues whose deadline was moved later (延期)
    # The outcomes of issues closed or due (figures.OUTCOMES): 按期完成, 延期后完成, 逾期.
    done_on_time: int = 0
    done_after_extension: int = 0
    late: int = 0

    @property
    def escalations(self) -> int:
        """Issues under supervision order (挂牌督办; an interview is the step beyond the order)."""
        return self.supervision_orders

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"unit": {"id": self.unit_id, "code": self.code, "name": self.name},
                "assigned": self.assigned, "closed": self.closed, "closed_on_time": self.closed_on_time,
                "overdue": self.overdue, "late_reports": self.late_reports, "escalations": self.escalations,
                "supervised": self.supervision_orders, "interviewed": self.interviews, "extended": self.extended,
                "done_on_time": self.done_on_time, "done_after_extension": self.done_after_extension,
                "late": self.late}


def summary_sentence(total: int, closed: int, by_category: dict[str, int]) -> str:
    """The leaders' sentence from the figures (categories with no issue are left out)."""
    if not total:
        return "暂无问题。"
    order = list(SENTENCE_ORDER) + sorted(set(by_category) - set(SENTENCE_ORDER))
    parts = [f"{labels.CATEGORY_LABELS.get(c, c)}{by_category[c]}个" for c in order if by_category.get(c)]
    head = f"共涉及问题{total}个({'、'.join(parts)})。" if parts else f"共涉及问题{total}个。"
    if closed >= total:
        return head + "目前,已全部完成整改。"
    return head + f"目前,已完成整改{closed}个,剩余{total - closed}个正在积极推进中。"


def round_stats(session: DbSession, user: User, today: date, config: dict,
                round_id: Optional[int] = None) -> list[RoundFigures]:
    """Per round (newest first) in the user's scope: totals by category and state, closed, basically
    done, in progress, overdue, under supervision order (挂牌督办), the outcomes (按期完成, 延期后完成,
    逾期), the completion rate, and where its issues in the approval chain wait. Four queries (and the
    rounds' chains).
    """
    fig = day_figures(today, config)
    totals = round_totals(session, user, fig, round_id)
    if not totals:
        return []
    hours = utc_offset_hours(today, config.get("TIMEZONE", "Asia/Shanghai"))
    stmt = (select(Issue.round_id, func.sum(_flag(supervised())),
                   *(func.sum(_flag(figures.FLAGS[name](fig, hours))) for name in figures.OUTCOMES))
            .where(visible_issues(user)).group_by(Issue.round_id))
    if round_id is not None:
        stmt = stmt.where(Issue.round_id == round_id)
    flagged = {rid: [int(n or 0) for n in counts] for rid, *counts in session.execute(stmt).all()}
    waiting = waiting_by_step(session, user, round_id)
    out = []
    for rid, t in totals.items():
        sv, on_time, after, late = flagged.get(rid, [0, 0, 0, 0])
        out.append(RoundFigures(t, sv, on_time, after, late, waiting.get(rid, [])))
    return out


def waiting_by_step(session: DbSession, user: User,
                    round_id: Optional[int] = None) -> dict[int, list[tuple[int, str, int]]]:
    """Per round, how many issues in the user's scope wait at each step of its approval chain
    ({round id: [(position, "待市级验收", count), ...]} in chain order): one query, the steps' labels
    joined in. Each count is the list `?round=&step=` holds."""
    stmt = (select(Issue.round_id, Issue.chain_step, RoundStep.label, func.count())
            .join(RoundStep, and_(RoundStep.round_id == Issue.round_id, RoundStep.position == Issue.chain_step))
            .where(visible_issues(user), Issue.state.in_(CHAIN_STATES))
            .group_by(Issue.round_id, Issue.chain_step, RoundStep.label)
            .order_by(Issue.round_id, Issue.chain_step))
    if round_id is not None:
        stmt = stmt.where(Issue.round_id == round_id)
    found: dict[int, list[tuple[int, str, int]]] = {}
    for rid, position, label, n in session.execute(stmt).all():
        found.setdefault(rid, []).append((int(position or 0), f"待{label}", int(n)))  # joined: never null
    return found


def unit_stats(session: DbSession, user: User, today: date, config: dict, round_id: Optional[int] = None,
               order: str = "unit", lead_unit_id: Optional[int] = None) -> list[UnitFigures]:
    """Per lead unit, over the issues in the user's scope (and round): assigned, closed, closed on time,
    overdue, under supervision order, interviewed, extended (each its `figures` definition) and late
    reports (未按时报送 marks). Two queries.

    `order` is "unit" (by unit code) or "overdue" (most overdue first, then by code);
    `lead_unit_id` narrows to the issues that one unit leads. An office serving an area lists only
    the lead units inside it (an issue it sees through a cooperating unit of its own, led from
    outside, does not rank the outside unit).
    """
    fig = day_figures(today, config)
    scope = [visible_issues(user)]
    area = area_units(user)
    if area is not None:
        scope.append(Issue.lead_unit_id.in_(area))
    if round_id is not None:
        scope.append(Issue.round_id == round_id)
    if lead_unit_id is not None:
        scope.append(Issue.lead_unit_id == lead_unit_id)
    closed = Issue.state == workflow.CLOSED
    hours = utc_offset_hours(today, config.get("TIMEZONE", "Asia/Shanghai"))
    overdue = func.sum(_flag(fig.overdue))
    stmt = (
        select(Unit.id, Unit.code, Unit.name, func.count(Issue.id), func.sum(_flag(closed)),
               func.sum(_flag(figures.closed_on_time(hours))), overdue, func.sum(_flag(figures.supervised())),
               func.sum(_flag(figures.interviewed())), func.sum(_flag(figures.extended())),
               *(func.sum(_flag(figures.FLAGS[name](fig, hours))) for name in figures.OUTCOMES))
        .join(Unit, Unit.id == Issue.lead_unit_id)
        .where(*scope)
        .group_by(Unit.id, Unit.code, Unit.name)
    )
    stmt = stmt.order_by(overdue.desc(), Unit.code) if order == "overdue" else stmt.order_by(Unit.code)
    units = [UnitFigures(uid, code, name, int(n), int(c or 0), int(t or 0), int(o or 0),
                         supervision_orders=int(sv or 0), interviews=int(iv or 0), extended=int(ex or 0),
                         done_on_time=int(ot or 0), done_after_extension=int(ae or 0), late=int(lt or 0))
             for uid, code, name, n, c, t, o, sv, iv, ex, ot, ae, lt in session.execute(stmt).all()]
    if not units:
        return []
    late = dict(session.execute(
        select(Issue.lead_unit_id, func.count(ReportLateness.id))
        .join(Issue, Issue.id == ReportLateness.issue_id).where(*scope).group_by(Issue.lead_unit_id)
    ).all())
    for unit in units:
        unit.late_reports = int(late.get(unit.unit_id, 0))
    return units


def round_exists(session: DbSession, round_id: int) -> bool:
    """Whether the round exists (a stats filter on an unknown round is refused)."""
    return session.get(Round, round_id) is not None
