"""What the public page lists: closed issues marked public, filtered and paged in SQL.

Only the columns meant for the public are selected (round, code, title, description,
measures, summary, closing time): never people, units' contacts, events or files.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import permissions, workflow
from tracker.core.models import JobSetting
from tracker.core.permissions import Permission
from tracker.core.settings import put_setting
from tracker.issues.models import Issue
from tracker.rounds.models import Round

PER_PAGE = 20


@dataclass(frozen=True)
class PublicIssue:
    """One row of the public page."""

    round_name: str
    code: str
    title: str
    description: str
    measures: str
    summary: str
    closed_at: Optional[datetime]


def _published():
    """The WHERE clause of what may be shown: closed and marked public."""
    return (Issue.state == workflow.CLOSED) & Issue.is_public.is_(True)


def public_rounds(session: Session) -> list[tuple[int, str, int]]:
    """Rounds with at least one published issue: (id, name, count), newest round first."""
    stmt = (
        select(Round.id, Round.name, func.count(Issue.id))
        .join(Issue, Issue.round_id == Round.id)
        .where(_published())
        .group_by(Round.id, Round.name)
        .order_by(Round.id.desc())
    )
    return [(rid, name, count) for rid, name, count in session.execute(stmt)]


def public_issues(session: Session, round_id: Optional[int] = None, page: int = 1,
                  per_page: int = PER_PAGE) -> tuple[list[PublicIssue], int]:
    """One page of published issues, latest closed first, and their total."""
    where = _published()
    if round_id is not None:
        where = where & (Issue.round_id == round_id)
    total = session.scalar(select(func.count(Issue.id)).where(where)) or 0
    stmt = (
        select(Round.name, Issue.code, Issue.title, Issue.description, Issue.measures,
               Issue.summary, Issue.closed_at)
        .join(Round, Round.id == Issue.round_id)
        .where(where)
        .order_by(Issue.closed_at.desc(), Issue.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    rows = [PublicIssue(name, code, title, description or "", measures or "", summary or "", closed_at)
            for name, code, title, description, measures, summary, closed_at in session.execute(stmt)]
    return rows, total


log = logging.getLogger(__name__)


KEY = "public_page_enabled"


# The page is on until an admin turns it off.
DEFAULT = True


def is_enabled(session: Session) -> bool:
    """Whether the public page is on; a missing or unreadable value means the default."""
    row = session.get(JobSetting, KEY)
    if row is None:
        return DEFAULT
    try:
        value = json.loads(row.value)
    except ValueError:
        value = None
    if not isinstance(value, bool):
        log.warning("setting %s is unreadable (%r); using the default", KEY, row.value)
        return DEFAULT
    return value


def set_enabled(session: Session, actor: Optional[User], now: datetime, enabled: bool) -> bool:
    """Turn the public page on or off; admins only (None: the system). Flushes, never commits."""
    permissions.require(actor, Permission.ADMINISTER, doing="开启或关闭整改公示页面")
    enabled = bool(enabled)
    put_setting(session, KEY, enabled, actor, now)
    session.flush()
    return enabled
