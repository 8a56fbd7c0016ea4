"""Who sees which issues: one rule for every list, page, count, export and mail."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.issues.models import Issue, IssueUnit


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


def unit_relation(session: Session, user: User, issue: Issue) -> Optional[str]:
    """Return "lead", "cooperating" or None: how the user's unit stands to the issue."""
    if not permissions.acts_for_unit(user) or user.unit_id is None:
        return None
    if issue.lead_unit_id == user.unit_id:
        return "lead"
    found = session.scalar(
        select(IssueUnit.unit_id).where(IssueUnit.issue_id == issue.id, IssueUnit.unit_id == user.unit_id)
    )
    return "cooperating" if found is not None else None


def can_see(session: Session, user: User, issue: Issue) -> bool:
    """The per-record check; it must agree with `visible_issues`."""
    if permissions.acts_for_unit(user):
        return unit_relation(session, user, issue) is not None
    return True
