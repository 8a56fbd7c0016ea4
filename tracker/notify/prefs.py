"""A user's notification preferences: how often the digest comes (escalations always do)."""
from __future__ import annotations

from tracker.core import permissions
from tracker.core.permissions import Permission

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.notify.models import UserPref
from tracker.core.errors import Refusal
from tracker.core.labels import DIGEST_LABELS

DAILY, WEEKLY, NONE = "daily", "weekly", "none"


def get_digest_pref(session: Session, user: User) -> str:
    """The user's digest frequency: daily (the default), weekly (Mondays) or none."""
    pref = session.get(UserPref, user.id)
    return pref.digest if pref and pref.digest in DIGEST_LABELS else DAILY


def set_digest_pref(session: Session, actor: User, value: Any, user: Optional[User] = None,
                    now: Optional[datetime] = None) -> str:
    """Set the digest frequency of `user` (default: the actor); only one's own, or an admin."""
    user = user or actor
    if user.id != actor.id and not permissions.can(actor, Permission.MANAGE_PREFERENCES):
        raise Refusal("forbidden", "只能修改自己的通知设置。")
    choice = str(value or "").strip()
    if choice not in DIGEST_LABELS:
        raise Refusal("invalid", "摘要邮件频率只能是每天、每周一或不接收。", "digest")
    from tracker.core.clock import utcnow

    pref = session.get(UserPref, user.id)
    if pref is None:
        session.add(UserPref(user_id=user.id, digest=choice, updated_at=now or utcnow()))
    else:
        pref.digest = choice
        pref.updated_at = now or utcnow()
    session.flush()
    return choice


def wants_digest(pref: Optional[str], today: date) -> bool:
    """Whether a digest goes out today under this preference (weekly: Mondays)."""
    pref = pref or DAILY
    if pref == DAILY:
        return True
    if pref == WEEKLY:
        return today.weekday() == 0
    return False
