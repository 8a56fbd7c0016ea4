"""In-app notices (站内通知): every mail also appears here for its user; escalations always do."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core.errors import Refusal
from tracker.notify.models import DigestLine, Notice


def unread_count(session: Session, user: User) -> int:
    """How many notices the user has not read (for the page header)."""
    return int(session.scalar(select(func.count()).select_from(Notice)
                              .where(Notice.user_id == user.id, Notice.read_at.is_(None))) or 0)


def list_notices(session: Session, user: User, page: int = 1, per_page: int = 20,
                 unread_only: bool = False) -> tuple[list[Notice], int]:
    """One page of the user's notices, newest first, with the total."""
    cond = [Notice.user_id == user.id]
    if unread_only:
        cond.append(Notice.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Notice).where(*cond)) or 0
    page = max(1, int(page))
    rows = list(session.scalars(select(Notice).where(*cond).order_by(Notice.created_at.desc(), Notice.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return rows, int(total)


def mark_read(session: Session, user: User, notice_id: int, now: datetime) -> Notice:
    """Mark one of the user's notices read; someone else's is not found."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise Refusal("not_found", "通知不存在。")
    if notice.read_at is None:
        notice.read_at = now
        session.flush()
    return notice


def mark_all_read(session: Session, user: User, now: datetime) -> int:
    """Mark all the user's notices read; return how many were unread."""
    result = session.execute(update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
                             .values(read_at=now))
    return int(result.rowcount or 0)


def pending_lines(session: Session, user_ids: Optional[Iterable[int]] = None) -> dict[int, list[DigestLine]]:
    """Digest lines not yet mailed, by user, oldest first (of these users, or of everyone): one query."""
    stmt = select(DigestLine).where(DigestLine.sent_at.is_(None)).order_by(DigestLine.user_id, DigestLine.id)
    if user_ids is not None:
        stmt = stmt.where(DigestLine.user_id.in_(sorted(set(user_ids))))
    out: dict[int, list[DigestLine]] = {}
    for line in session.scalars(stmt):
        out.setdefault(line.user_id, []).append(line)
    return out


