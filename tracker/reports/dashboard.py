"""The home page's figures: my to-do and the per-round totals.

Every figure is counted in the database with GROUP BY, scoped by
`scoping.visible_issues`, so the number of queries stays the same whatever
the number of issues, rounds or units.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Optional

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from tracker.accounts.models import User
from tracker.core import permissions, workflow
from tracker.core.calendar import CALENDAR, deadline_threshold
from tracker.core.enums import CHAIN_ROLES, SUPERVISION_KINDS
from tracker.core.extensions import DbSession
from tracker.escalation.settings import JobSettings, Level, get_settings
from tracker.issues import chain
from tracker.issues.figures import Figures, last_turn, returned
from tracker.issues.models import Event, Issue
from tracker.issues.queries import IssueRow, day_figures
from tracker.issues.scoping import area_units, visible_issues
from tracker.rounds.models import Round
from tracker.units.models import Unit

# How many issues a to-do list shows, and how many units a round's overdue table ranks.
TODO_LIMIT = 20
TOP_UNITS = 10
# The issue list's arguments of a signer's queue: the issues waiting for a step they may sign.
QUEUE_ARGS = {"waiting": "mine"}


@dataclass
class Todo:
    """What the user has to deal with: a queue of issues and a few counts."""

    # "unit", "queue" (the issues waiting for a step of the approval chain the user may sign: the
    # supervisors' and approvers' queue, `chain.awaiting`) or "overview".
    kind: str
    counts: dict[str, int]
    items: list[IssueRow] = field(default_factory=list)
    # The issue list's arguments that show the whole queue (`counts["awaiting"]` issues), if any.
    queue_args: Optional[dict[str, str]] = None
    # The configured ladder's escalated rungs, with how many issues reached each.
    rungs: list[Rung] = field(default_factory=list)


@dataclass
class UnitOverdue:
    """A lead unit's figures in one round, for the overdue ranking."""

    unit_id: int
    unit_name: str
    unit_code: str
    total: int
    closed: int
    overdue: int


@dataclass
class RoundStats:
    """One round's totals as the user may see them."""

    round: Round
    total: int = 0
    closed: int = 0
    overdue: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, tuple[int, int]] = field(default_factory=dict)  # category -> (total, closed)
    overdue_units: list[UnitOverdue] = field(default_factory=list)

    @property
    def open(self) -> int:
        """Issues not yet closed (未销号)."""
        return self.total - self.closed

    @property
    def completion_rate(self) -> float:
        """Share of issues closed, in percent (0 for a round with no issues)."""
        return round(100.0 * self.closed / self.total, 1) if self.total else 0.0


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition holds, else 0: summed to count within a GROUP BY."""
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class Rung:
    """A rung of the configured escalation ladder beyond the overdue notice, as a home page count:
    the issues overdue long enough to have reached it (their deadline on or before `deadline_to`)."""

    level: Level
    deadline_to: date
    count: int = 0
    day_mode: str = CALENDAR

    @property
    def label(self) -> str:
        """E.g. 逾期 15 天以上(挂牌督办), in the ladder's own day counting."""
        unit = "天" if self.day_mode == CALENDAR else "个工作日"
        return f"逾期 {self.level.offset} {unit}以上({self.level.kind_label})"


def escalated_rungs(settings: JobSettings, today: date) -> list[Rung]:
    """The ladder's supervision-order and interview rungs, each with the last deadline that has reached it."""
    return [Rung(level, deadline_threshold(today, level.offset, settings.day_mode), day_mode=settings.day_mode)
            for level in settings.ladder if level.kind in SUPERVISION_KINDS]


def _counts(session: DbSession, user: User, fig: Figures, rungs: list[Rung]) -> tuple[dict[str, int], list[Rung]]:
    """Counts over the user's scope in one query: open (not closed), overdue, due soon, lagging, yellow
    light, the user's queue (waiting for a step they may sign), and how many issues reached each
    escalated rung."""
    names = ("total", "open", "overdue", "due_soon", "lagging", "yellow", "awaiting")
    stmt = select(
        func.count(),
        func.sum(_flag(Issue.state != workflow.CLOSED)),
        func.sum(_flag(fig.overdue)),
        func.sum(_flag(fig.due_soon)),
        func.sum(_flag(fig.lagging)),
        func.sum(_flag(fig.light == "yellow")),
        func.sum(_flag(chain.awaiting(user))),
        *(func.sum(_flag(and_(fig.overdue, Issue.deadline <= rung.deadline_to))) for rung in rungs),
    ).where(visible_issues(user))
    row = session.execute(stmt).one()
    counts = {name: int(value or 0) for name, value in zip(names, row[:len(names)], strict=True)}
    reached = [replace(rung, count=int(value or 0)) for rung, value in zip(rungs, row[len(names):], strict=True)]
    return counts, reached


def _rows(session: DbSession, stmt) -> list[IssueRow]:
    return [IssueRow(i, bool(o), int(d or 0), bool(lg), li, due_soon=bool(ds))
            for i, o, d, lg, li, ds in session.execute(stmt).all()]


@dataclass(frozen=True)
class SentBack:
    """An issue sent back to its unit (退回, or 重新打开 after closure), with who did it, when and why."""

    issue: Issue
    action: str
    reason: Optional[str]
    at: datetime
    by: Optional[User]


def sent_back(session: DbSession, user: User, limit: int = TODO_LIMIT) -> tuple[list[SentBack], int]:
    """The issues the user's unit leads that were sent back to it and not yet submitted again, newest
    first, with the reason, and how many there are: the top of a unit's home page. Two queries;
    none for users who do not act for a unit."""
    if not permissions.acts_for_unit(user) or user.unit_id is None:
        return [], 0
    cond = and_(visible_issues(user), Issue.lead_unit_id == user.unit_id, returned())
    total = session.scalar(select(func.count()).select_from(Issue).where(cond)) or 0
    if not total:
        return [], 0
    rows = session.execute(
        select(Issue, Event).join(Event, Event.id == last_turn()).where(cond)
        .options(joinedload(Event.actor)).order_by(Event.at.desc(), Event.id.desc()).limit(limit)).all()
    return [SentBack(issue, event.action, event.comment, event.at, event.actor) for issue, event in rows], int(total)


def todo(session: DbSession, user: User, today: date, config: dict) -> Todo:
    """The user's to-do: two queries (the counts, then the first items of the queue).

    Unit users: their unit's open issues that are overdue, due soon or lagging.
    Supervisors and approvers: the issues waiting for a step of the approval chain they may sign
    (`chain.awaiting`; for approvers usually the last step, 销号).
    Leaders and admins: the overdue counts (their list is the issue list itself).
    """
    fig = day_figures(today, config)
    counts, rungs = _counts(session, user, fig, escalated_rungs(get_settings(session), today))
    select_rows = (
        select(Issue, fig.overdue, fig.days_overdue, fig.lagging, fig.light, fig.due_soon)
        .where(visible_issues(user))
        # The rounds' chains in one more query: each queued issue's state says where it waits (待市级验收).
        .options(joinedload(Issue.lead_unit), joinedload(Issue.round).selectinload(Round.steps))
        .limit(TODO_LIMIT)
    )
    if permissions.acts_for_unit(user):
        stmt = select_rows.where(or_(fig.overdue, fig.due_soon, fig.lagging)).order_by(
            fig.days_overdue.desc(), Issue.deadline.asc(), Issue.id.asc())
        return Todo("unit", counts, _rows(session, stmt), rungs=rungs)
    if user.role in CHAIN_ROLES:
        # The issues waiting for a step this user may sign, oldest closure request first.
        stmt = select_rows.where(chain.awaiting(user)).order_by(Issue.submitted_at.asc(), Issue.id.asc())
        return Todo("queue", counts, _rows(session, stmt), dict(QUEUE_ARGS), rungs)
    return Todo("overview", counts, rungs=rungs)


def round_totals(session: DbSession, user: User, fig: Figures, round_id: Optional[int] = None) -> dict[int, RoundStats]:
    """Per round (newest first), the totals by state and category, closed and overdue, in the
    user's scope: two queries. With `round_id`, that round only (listed even when it has no
    issue in scope, if it exists); without, the rounds that have issues in scope.
    """
    # One scan: counts by round, state and category; the few result rows are folded in Python.
    stmt = (
        select(Issue.round_id, Issue.state, Issue.category, func.count(), func.sum(_flag(fig.overdue)))
        .where(visible_issues(user))
        .group_by(Issue.round_id, Issue.state, Issue.category)
    )
    if round_id is not None:
        stmt = stmt.where(Issue.round_id == round_id)
    grouped = session.execute(stmt).all()
    round_ids = {round_id} if round_id is not None else {row[0] for row in grouped}
    if not round_ids:
        return {}
    stats: dict[int, RoundStats] = {}
    rounds = session.scalars(select(Round).where(Round.id.in_(sorted(round_ids)))).all()
    for round_ in sorted(rounds, key=lambda r: (r.feedback_date or date.min, r.id), reverse=True):
        stats[round_.id] = RoundStats(round_)
    for round_id_, state, category, count, overdue in grouped:
        entry, count, closed = stats[round_id_], int(count), state == workflow.CLOSED
        entry.by_state[state] = entry.by_state.get(state, 0) + count
        total, closed_count = entry.by_category.get(category, (0, 0))
        entry.by_category[category] = (total + count, closed_count + (count if closed else 0))
        entry.total += count
        entry.overdue += int(overdue or 0)
        if closed:
            entry.closed += count
    return stats


def round_stats(session: DbSession, user: User, today: date, config: dict) -> list[RoundStats]:
    """Per round (newest first): totals by state and category, closed, overdue, and the
    lead units ranked by overdue issues. Three queries whatever the number of rounds.
    """
    fig = day_figures(today, config)
    scope = visible_issues(user)
    area = area_units(user)
    if area is not None:  # an office ranks only the lead units it serves
        scope = and_(scope, Issue.lead_unit_id.in_(area))
    stats = round_totals(session, user, fig)
    if not stats:
        return []

    # Rank lead units by overdue issues within each round; the window function keeps the top N.
    overdue_sum = func.sum(_flag(fig.overdue))
    per_unit = (
        select(
            Issue.round_id.label("round_id"),
            Issue.lead_unit_id.label("unit_id"),
            func.count().label("total"),
            func.sum(_flag(Issue.state == workflow.CLOSED)).label("closed"),
            overdue_sum.label("overdue"),
            func.row_number().over(
                partition_by=Issue.round_id, order_by=(overdue_sum.desc(), Issue.lead_unit_id.asc())
            ).label("rank"),
        )
        .where(scope)
        .group_by(Issue.round_id, Issue.lead_unit_id)
        .subquery()
    )
    ranked = session.execute(
        select(per_unit.c.round_id, per_unit.c.unit_id, Unit.name, Unit.code, per_unit.c.total, per_unit.c.closed,
               per_unit.c.overdue)
        .join(Unit, Unit.id == per_unit.c.unit_id)
        .where(per_unit.c.overdue > 0, per_unit.c.rank <= TOP_UNITS)
        .order_by(per_unit.c.round_id, per_unit.c.rank)
    ).all()
    for round_id, unit_id, name, code, total, closed, overdue in ranked:
        stats[round_id].overdue_units.append(
            UnitOverdue(unit_id, name, code, int(total), int(closed or 0), int(overdue or 0)))
    return list(stats.values())
