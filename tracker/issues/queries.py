"""The issue list: scoped, filtered, sorted and counted in SQL."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import workflow
from tracker.core.clock import utc_offset_hours
from tracker.core.extensions import DbSession
from tracker.issues import chain
from tracker.issues import figures as flags
from tracker.issues.figures import Figures, figures
from tracker.issues.models import Issue
from tracker.issues.scoping import unit_issues, visible_issues
from tracker.rounds.models import Round

SORTS = {
    "deadline": (Issue.deadline.asc(), Issue.id.asc()),
    "-deadline": (Issue.deadline.desc(), Issue.id.desc()),
    "code": (Issue.code.asc(),),
    "-code": (Issue.code.desc(),),
    "progress": (Issue.progress_percent.asc(), Issue.id.asc()),
    "-progress": (Issue.progress_percent.desc(), Issue.id.asc()),
    "updated": (Issue.updated_at.desc(), Issue.id.desc()),
}
SORT_LABELS = {
    "urgent": "紧急程度(未销号、逾期久的在前)",
    "deadline": "整改时限(早→晚)",
    "-deadline": "整改时限(晚→早)",
    "-days_overdue": "逾期天数(多→少)",
    "code": "问题编号",
    "-progress": "进度(高→低)",
    "progress": "进度(低→高)",
    "updated": "最近更新",
}


@dataclass
class IssueFilters:
    """The filters of the issue list; empty values mean no filter."""

    round_id: Optional[int] = None
    state: Optional[str] = None
    unit_id: Optional[int] = None
    light: Optional[str] = None
    category: Optional[str] = None
    rectify_type: Optional[str] = None
    overdue: Optional[bool] = None
    deadline_from: Optional[date] = None
    deadline_to: Optional[date] = None
    q: Optional[str] = None
    lead_unit_id: Optional[int] = None  # only issues this unit leads (unit_id: leads or cooperates on)
    # Yes/no figures every listed issue must have (names of `figures.FLAGS`, e.g. "lagging").
    flags: tuple[str, ...] = ()
    late_period: Optional[str] = None  # only issues whose report of this period (YYYY-MM) was late
    lead_only: bool = False  # only issues the user's own unit leads (not those it cooperates on)
    waiting_mine: bool = False  # only issues waiting for a step of the approval chain the user may sign
    min_days_overdue: Optional[int] = None  # only issues overdue by at least this many days
    step: Optional[int] = None  # only issues waiting at this step (position) of their round's approval chain
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueRow:
    """An issue with its derived figures for the day."""

    issue: Issue
    overdue: bool
    days_overdue: int
    lagging: bool
    light: Optional[str]
    supervised: bool = False  # flagged 挂牌督办 (set by search_issues; other readers leave it False)
    due_soon: bool = False  # open and due within the due-soon window (set by the home page's queue)


def day_figures(today: date, config: Mapping[str, Any]) -> Figures:
    """The figures for `today` with the app's margin and due-soon window."""
    return figures(today, config.get("LAGGING_MARGIN", 20), config.get("DUE_SOON_DAYS", 7))


def filtered(user: User, filters: IssueFilters, fig: Figures, hours: int = 8) -> Select:
    """SELECT issue ids in scope and matching the filters (no ordering)."""
    stmt = select(Issue.id).where(visible_issues(user))
    conds = []
    if filters.round_id:
        conds.append(Issue.round_id == filters.round_id)
    if filters.state:
        if filters.state == "merged":
            conds.append(Issue.merged_into_id.is_not(None))
        elif filters.state == "open":
            conds.append(Issue.state != workflow.CLOSED)
        else:
            conds.append(Issue.state == filters.state)
    if filters.unit_id:
        conds.append(unit_issues(filters.unit_id))
    if filters.light:
        conds.append(fig.light == filters.light)
    if filters.category:
        conds.append(Issue.category == filters.category)
    if filters.rectify_type:
        conds.append(Issue.rectify_type == filters.rectify_type)
    if filters.overdue is True:
        conds.append(fig.overdue)
    elif filters.overdue is False:
        conds.append(~fig.overdue)
    if filters.deadline_from:
        conds.append(Issue.deadline >= filters.deadline_from)
    if filters.deadline_to:
        conds.append(Issue.deadline <= filters.deadline_to)
    for name in filters.flags:
        conds.append(flags.FLAGS[name](fig, hours))
    if filters.late_period:
        conds.append(flags.has_late_report(filters.late_period))
    if filters.lead_unit_id:
        conds.append(Issue.lead_unit_id == filters.lead_unit_id)
    if filters.lead_only:
        conds.append(lead_by_own_unit(user))
    if filters.waiting_mine:
        conds.append(chain.awaiting(user))
    if filters.min_days_overdue is not None:
        conds.append(and_(fig.overdue, fig.days_overdue >= filters.min_days_overdue))
    if filters.step is not None:
        conds.append(and_(Issue.state.in_(chain.CHAIN_STATES), Issue.chain_step == filters.step))
    if filters.q:
        like = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(Issue.code.ilike(like, escape="\\"), Issue.title.ilike(like, escape="\\"),
                         Issue.description.ilike(like, escape="\\")))
    if conds:
        stmt = stmt.where(and_(*conds))
    return stmt


def lead_by_own_unit(user: User) -> ColumnElement[bool]:
    """The issues the user's own unit leads (the list's `lead_only`); none for a user without a unit."""
    return Issue.lead_unit_id == user.unit_id if user.unit_id is not None else false()


def sort_order(sort: str, fig: Figures) -> tuple:
    """The ORDER BY clauses of a list sort key (unknown keys sort by deadline); shared by list and export."""
    if sort == "-days_overdue":
        return (fig.days_overdue.desc(), Issue.deadline.asc(), Issue.id.asc())
    if sort == "urgent":
        # What needs attention first: open before closed, the longest overdue, the nearest deadline.
        closed_last = case((Issue.state == workflow.CLOSED, 1), else_=0)
        return (closed_last, fig.days_overdue.desc(), Issue.deadline.asc(), Issue.id.asc())
    return SORTS.get(sort, SORTS["deadline"])


def search_issues(
    session: DbSession,
    user: User,
    today: date,
    config: dict,
    filters: IssueFilters,
    sort: str = "deadline",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[IssueRow], int]:
    """One page of the issues the user may see, with the total count: two queries."""
    fig = day_figures(today, config)
    base = filtered(user, filters, fig, utc_offset_hours(today, config.get("TIMEZONE", "Asia/Shanghai")))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        select(Issue, fig.overdue, fig.days_overdue, fig.lagging, fig.light, flags.supervised().label("supervised"))
        .where(Issue.id.in_(base))
        # The page's rounds' chains in one more query, not one per round: each row's state says where
        # it waits in its chain (待市级验收, `Issue.waiting_label`).
        .options(joinedload(Issue.lead_unit), joinedload(Issue.round).selectinload(Round.steps),
                 joinedload(Issue.merged_into))
    )
    stmt = stmt.order_by(*sort_order(sort, fig))
    page = max(1, page)
    stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = [IssueRow(i, bool(o), int(d or 0), bool(lg), li, bool(sv))
            for i, o, d, lg, li, sv in session.execute(stmt).all()]
    return rows, total


def issue_row(session: DbSession, issue: Issue, today: date, config: dict) -> IssueRow:
    """The derived figures of one issue, computed by the same SQL as the list."""
    fig = day_figures(today, config)
    o, d, lg, li = session.execute(
        select(fig.overdue, fig.days_overdue, fig.lagging, fig.light).where(Issue.id == issue.id)
    ).one()
    return IssueRow(issue, bool(o), int(d or 0), bool(lg), li)
