"""Who sees which issues: one rule for every list, page, count, export and mail."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional, Union

from sqlalchemy import and_, false, func, or_, select, true, union
from sqlalchemy.orm import aliased
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.enums import AREA_ROLES, UNIT_ROLES, EventKind
from tracker.core.extensions import DbSession
from tracker.core.labels import HIDDEN_ISSUE_LABEL
from tracker.issues.models import Event, Issue, IssueUnit
from tracker.units.models import Unit


def visible_issues(user: User) -> ColumnElement[bool]:
    """The WHERE clause selecting the issues `user` may see.

    Unit users see the issues their unit leads or cooperates on. Office users (supervisor, approver,
    leader) serving an area node (`unit_id`) see the issues whose lead or a cooperating unit lies in
    that node's subtree (their jurisdiction, 辖区); without a node, and admins, see all.
    """
    if permissions.acts_for_unit(user):
        if user.unit_id is None:
            return false()
        return unit_issues(user.unit_id)
    node = jurisdiction(user)
    if node is None:
        return true()
    if not node.path:  # never flushed: no subtree can be named (can_see agrees)
        return false()
    return area_issues(node.path)


def jurisdiction(user: User) -> Optional[Unit]:
    """The area node an office user serves (its subtree is their jurisdiction, 辖区), or None: the whole
    tree (an office user without one, an admin) or not an office user at all. Loaded once per user
    object (the `unit` relationship), never per row."""
    if user.role not in AREA_ROLES or user.unit_id is None:
        return None
    return user.unit


def subtree(path: str) -> Select:
    """SELECT the ids of the units in the subtree rooted at the unit with this materialized path.

    The LIKE prefix (escaped) can use the path index; the exact prefix comparison keeps the test
    case-sensitive where LIKE is not (SQLite), so that it agrees with `Unit.contains`."""
    return select(Unit.id).where(Unit.path.startswith(path, autoescape=True),
                                 func.substr(Unit.path, 1, len(path)) == path)


def area_issues(path: str) -> ColumnElement[bool]:
    """The issues whose lead unit or a cooperating unit lies in the subtree at `path` (an office's
    jurisdiction). Uncorrelated INs, as in `unit_issues`, for PostgreSQL's plans."""
    units = subtree(path)
    return or_(
        Issue.lead_unit_id.in_(units),
        Issue.id.in_(select(IssueUnit.issue_id).where(IssueUnit.unit_id.in_(subtree(path)))),
    )


def area_units(user: User) -> Optional[Select]:
    """SELECT the ids of the units in the user's jurisdiction, or None when it is the whole tree (or
    the user acts for a unit): per-unit rankings of an office list only the units it serves."""
    node = jurisdiction(user)
    if node is None:
        return None
    if not node.path:
        return select(Unit.id).where(false())
    return subtree(node.path)


def office_user_ids(issue_ids: Iterable[int], roles: Iterable[str]) -> CompoundSelect:
    """SELECT (issue_id, user_id): the active users of these office roles whose jurisdiction holds each
    issue (its lead or a cooperating unit lies in the subtree of their area node); users without an
    area node, and admins, hold every issue. Unit roles are never included. One statement."""
    ids = sorted(set(issue_ids))
    wanted = sorted({str(r) for r in roles} - set(UNIT_ROLES))
    scoped_roles = [r for r in wanted if r in AREA_ROLES]
    everywhere = (
        select(Issue.id.label("issue_id"), User.id.label("user_id"))
        .select_from(Issue).join(User, true())  # every issue with every such user
        .where(Issue.id.in_(ids), User.active.is_(True), User.role.in_(wanted),
               or_(User.unit_id.is_(None), User.role.not_in(AREA_ROLES)))
    )
    links = union(
        select(Issue.id.label("issue_id"), Issue.lead_unit_id.label("unit_id")).where(Issue.id.in_(ids)),
        select(IssueUnit.issue_id.label("issue_id"), IssueUnit.unit_id.label("unit_id"))
        .where(IssueUnit.issue_id.in_(ids)),
    ).subquery("links")
    member, node = aliased(Unit), aliased(Unit)
    # The node is the member itself or one of its ancestors: the member's path starts with the node's
    # (an exact prefix comparison, no LIKE: paths may hold "_").
    scoped = (
        select(links.c.issue_id.label("issue_id"), User.id.label("user_id"))
        .join(member, member.id == links.c.unit_id)
        .join(node, and_(func.length(node.path) > 0,
                         func.substr(member.path, 1, func.length(node.path)) == node.path))
        .join(User, User.unit_id == node.id)
        .where(User.active.is_(True), User.role.in_(scoped_roles))
    )
    return union(everywhere, scoped)


def office_users_by_issue(session: DbSession, issue_ids: Iterable[int], roles: Iterable[str]) -> dict[int, set[int]]:
    """For each of these issues, the ids of the active office users (of `roles`) whose jurisdiction
    holds it: one query (see `office_user_ids`)."""
    ids = sorted({i for i in issue_ids if i is not None})
    out: dict[int, set[int]] = {i: set() for i in ids}
    if not ids:
        return out
    pairs = office_user_ids(ids, roles).subquery()
    for issue_id, user_id in session.execute(select(pairs.c.issue_id, pairs.c.user_id)):
        out.setdefault(issue_id, set()).add(user_id)
    return out


def office_users_for(session: DbSession, issues: Union[Issue, int, Iterable[int]], roles: Iterable[str]) -> list[User]:
    """The active users of these office roles whose jurisdiction holds the issue (or any of the issues),
    by id: who of the offices is told about it. Users without an area node, and admins, hold every
    issue. One query."""
    if isinstance(issues, Issue):
        ids = [issues.id]
    elif isinstance(issues, int):
        ids = [issues]
    else:
        ids = [i for i in issues if i is not None]
    if not ids:
        return []
    pairs = office_user_ids(ids, roles).subquery()
    return list(session.scalars(select(User).where(User.id.in_(select(pairs.c.user_id))).order_by(User.id)))


def unit_issues(unit_id: int) -> ColumnElement[bool]:
    """The issues a unit leads or cooperates on: its users' scope, and the list's unit filter."""
    return or_(
        Issue.lead_unit_id == unit_id,
        # An uncorrelated IN, not a correlated EXISTS: PostgreSQL hashes it once either way, but
        # misestimates EXISTS under OR by ~100x and then JIT-compiles (~0.5 s at 100k issues).
        Issue.id.in_(select(IssueUnit.issue_id).where(IssueUnit.unit_id == unit_id)),
    )


def unit_relation(session: DbSession, user: User, issue: Issue) -> Optional[str]:
    """Return "lead", "cooperating" or None: how the user's unit stands to the issue."""
    if not permissions.acts_for_unit(user) or user.unit_id is None:
        return None
    if issue.lead_unit_id == user.unit_id:
        return "lead"
    found = session.scalar(
        select(IssueUnit.unit_id).where(IssueUnit.issue_id == issue.id, IssueUnit.unit_id == user.unit_id)
    )
    return "cooperating" if found is not None else None


def can_see(session: DbSession, user: User, issue: Issue) -> bool:
    """The per-record check; it must agree with `visible_issues`."""
    if permissions.acts_for_unit(user):
        return unit_relation(session, user, issue) is not None
    node = jurisdiction(user)
    if node is None:
        return True
    return in_area(session, node, issue)


def in_area(session: DbSession, node: Unit, issue: Issue) -> bool:
    """Whether the issue's lead unit or a cooperating unit lies in `node`'s subtree (`Unit.contains`)."""
    if not node.path:
        return False
    lead = session.get(Unit, issue.lead_unit_id)
    if lead is not None and node.contains(lead):
        return True
    paths = session.scalars(select(Unit.path).join(IssueUnit, IssueUnit.unit_id == Unit.id)
                            .where(IssueUnit.issue_id == issue.id))
    return any(path.startswith(node.path) for path in paths)


def visible_among(session: DbSession, user: User, issue_ids: Iterable[Optional[int]]) -> set[int]:
    """Which of these issues `user` may see: one query, by the same rule as `visible_issues`."""
    wanted = {i for i in issue_ids if i is not None}
    if not wanted:
        return set()
    return set(session.scalars(select(Issue.id).where(Issue.id.in_(wanted), visible_issues(user))))


class ShownEvent:
    """A timeline entry as one viewer sees it: the stored event, with its comment reworded when it
    names a merge partner the viewer may not see (the history itself is never edited)."""

    def __init__(self, event: Event, comment: Optional[str]):
        self._event = event
        self.comment = comment

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


def shown_events(session: DbSession, user: User, issue: Issue, events: Sequence[Event]) -> list[Any]:
    """The issue's events for `user`: a merge entry naming a partner issue outside the viewer's scope
    says "其他单位牵头的问题" instead of its code (ASVS 4.2.1). One query for the partners."""
    merge_kinds = (EventKind.MERGE, EventKind.MERGED_IN)
    if not any(e.action in merge_kinds for e in events):
        return list(events)
    partners = session.execute(
        select(Issue.code, visible_issues(user).label("visible"))
        .where(or_(Issue.id == issue.merged_into_id, Issue.merged_into_id == issue.id))
    ).all()
    hidden = sorted((code for code, visible in partners if not visible), key=len, reverse=True)
    if not hidden:
        return list(events)
    shown: list[Any] = []
    for event in events:
        comment = event.comment
        if event.action in merge_kinds and comment:
            for code in hidden:
                if event.action == EventKind.MERGE and comment.startswith(f"与 {code} 合并整改"):
                    comment = f"与{HIDDEN_ISSUE_LABEL}合并整改" + comment[len(f"与 {code} 合并整改"):]
                elif event.action == EventKind.MERGED_IN and comment.startswith(f"{code} 并入本问题"):
                    comment = HIDDEN_ISSUE_LABEL + comment[len(code) + 1:]
        shown.append(ShownEvent(event, comment) if comment != event.comment else event)
    return shown
