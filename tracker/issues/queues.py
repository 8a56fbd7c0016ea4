"""Who must act on what, as SQL conditions shared by the to-do list and the pages it links to.

- `decidable_extensions(user)`: the pending deadline extension requests (延期申请) a user may decide:
  the to-do list counts them, the extensions page lists them, with this one condition.
"""
from __future__ import annotations

from sqlalchemy import and_, false, select
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core.enums import ExtensionState, Role
from tracker.issues.models import ExtensionRequest, Issue
from tracker.issues.scoping import visible_issues
from tracker.units.models import Unit

# The roles that decide extension requests: the rectification office at the issue's level.
EXTENSION_DECIDERS = (Role.SUPERVISOR,)


def decidable_extensions(user: User) -> ColumnElement[bool]:
    """The WHERE clause over `ExtensionRequest` of the pending requests `user` may decide.

    Pending, asked for an issue the user may see (`visible_issues`) whose lead unit lies in the
    subtree of the user's office unit (`Unit.path` starts with the office's path); a user without
    an office unit serves the whole tree and may decide any. Only the deciding roles
    (`EXTENSION_DECIDERS`) get any. Select from `ExtensionRequest` and add this condition:
    `select(ExtensionRequest).where(decidable_extensions(user))`.
    """
    if user.role not in EXTENSION_DECIDERS:
        return false()
    issues = select(Issue.id).where(visible_issues(user))
    office = user.unit
    if office is not None:
        issues = issues.where(Issue.lead_unit_id.in_(
            select(Unit.id).where(Unit.path.startswith(office.path, autoescape=True))))
    return and_(ExtensionRequest.state == ExtensionState.PENDING, ExtensionRequest.issue_id.in_(issues))
