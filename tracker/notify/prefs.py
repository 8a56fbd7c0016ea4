"""A user's notification preferences: how often the digest comes (escalations always do), and
whether the mail of a workflow action's notice comes at once or as a line of the next digest."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.clock import utcnow
from tracker.core.enums import ActionMail, DigestFrequency
from tracker.core.errors import Refusal
from tracker.core.labels import ACTION_MAIL_LABELS, DIGEST_LABELS
from tracker.core.permissions import Permission
from tracker.notify.models import UserPref

DAILY, WEEKLY, NONE = DigestFrequency.DAILY, DigestFrequency.WEEKLY, DigestFrequency.NONE


def get_digest_pref(session: Session, user: User) -> str:
    """The user's digest frequency: daily (the default), weekly (Mondays) or none."""
    pref = session.get(UserPref, user.id)
    return pref.digest if pref and pref.digest in DIGEST_LABELS else DAILY


def get_action_mail_pref(session: Session, user: User) -> str:
    """How the user takes the mail of a workflow action's notice: at once (the default) or in the digest."""
    pref = session.get(UserPref, user.id)
    return pref.action_mail if pref and pref.action_mail in ACTION_MAIL_LABELS else ActionMail.IMMEDIATE


def _pref_for(session: Session, actor: User, user: Optional[User], now: Optional[datetime]) -> UserPref:
    """The row of `user`'s preferences (default: the actor's), created if new; only one's own, or an admin."""
    user = user or actor
    if user.id != actor.id and not permissions.can(actor, Permission.MANAGE_PREFERENCES):
        raise Refusal("forbidden", "只能修改自己的通知设置。")
    pref = session.get(UserPref, user.id)
    if pref is None:
        pref = UserPref(user_id=user.id, digest=DAILY, action_mail=ActionMail.IMMEDIATE)
        session.add(pref)
    pref.updated_at = now or utcnow()
    return pref


def set_digest_pref(session: Session, actor: User, value: Any, user: Optional[User] = None,
                    now: Optional[datetime] = None) -> str:
    """Set the digest frequency of `user` (default: the actor); only one's own, or an admin."""
    choice = str(value or "").strip()
    if choice not in DIGEST_LABELS:
        raise Refusal("invalid", "摘要邮件频率只能是每天、每周一或不接收。", "digest")
    _pref_for(session, actor, user, now).digest = choice
    session.flush()
    return choice


def set_action_mail_pref(session: Session, actor: User, value: Any, user: Optional[User] = None,
                         now: Optional[datetime] = None) -> str:
    """Set how `user` (default: the actor) takes the mail of a workflow action's notice; own only, or an admin."""
    choice = str(value or "").strip()
    if choice not in ACTION_MAIL_LABELS:
        raise Refusal("invalid", "办理通知邮件只能选择立即发送或并入每日摘要。", "action_mail")
    _pref_for(session, actor, user, now).action_mail = choice
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
