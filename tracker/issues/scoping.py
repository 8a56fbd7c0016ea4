"""Who sees which issues: one rule for every list, page, count, export and mail."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional

from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.enums import EventKind
from tracker.core.extensions import DbSession
from tracker.core.labels import HIDDEN_ISSUE_LABEL
from tracker.issues.models import Event, Issue, IssueUnit


def visible_issues(user: User) -> ColumnElement[bool]:
    """The WHERE clause selecting the issues `user` may see.

    Unit users see the issues their unit leads or cooperates on; the office,
    approvers, leaders and admins see all.
    """
    if permissions.acts_for_unit(user):
        if user.unit_id is None:
            return false()
        return unit_issues(user.unit_id)
    return true()


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
    return True


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
