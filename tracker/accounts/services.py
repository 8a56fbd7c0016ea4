"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import exists, false, func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import generate_password_hash

from tracker.accounts import passwords
from tracker.accounts.events import ADMIN, CLI, SELF, CredentialsChanged
from tracker.accounts.models import ApiToken, User, UserSession
from tracker.core import events, permissions
from tracker.core.addresses import checked_email
from tracker.core.clock import utcnow
from tracker.core.enums import ROLES, UNIT_ROLES, Role
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Permission
from tracker.core.security_log import security_event
from tracker.units.services import unit_by_code

MIN_PASSWORD = passwords.MIN_LENGTH


def create_user(session: DbSession, actor: Optional[User], username: Any, password: Any, role: Any,
                unit_code: Any = None, email: Any = None, display_name: Any = None) -> User:
    """Add a user (admin); unit roles need a unit. `actor=None` is the command line.

    A user an admin adds (page or API) must change the password at first sign-in (ASVS 2.3.1): the
    admin chose it and handed it over. One added on the command line is not flagged: that is the
    operator setting up an account, the first admin's own included, at the server itself.
    """
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    username = str(username or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{2,80}", username):
        raise Refusal("invalid", "用户名须为 2-80 位字母、数字、下划线、点或短横线。", "username")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Refusal("conflict", f"用户名「{username}」已存在。", "username")
    if role not in ROLES:
        raise Refusal("invalid", "角色应为 " + "、".join(ROLES) + " 之一。", "role")
    unit = unit_by_code(session, unit_code, "unit_code")
    if role in UNIT_ROLES and unit is None:
        raise Refusal("invalid", "责任单位的用户必须指定所属单位。", "unit_code")
    if role == Role.ADMIN and unit is not None:
        raise Refusal("invalid", "系统管理员不属于任何单位,请不要指定所属单位。", "unit_code")
    _check_password(password, username=username)
    user = User(username=username, role=role, unit_id=unit.id if unit else None,
                email=checked_email(email), display_name=(str(display_name).strip()[:100] if display_name else None))
    user.set_password(str(password))
    user.must_change_password = actor is not None
    session.add(user)
    session.flush()
    return user


def _check_password(password: Any, field: str = "password", username: Optional[str] = None) -> None:
    # The policy (length, common passwords, not the username) lives in tracker.accounts.passwords.
    passwords.check_password(password, username, field)


@dataclass(frozen=True)
class Credentials:
    """What checking a username and password found: the user, or why there is none."""

    user: Optional[User]
    reason: Optional[str] = None  # "unknown" | "inactive" | "bad_password" when user is None


@functools.cache
def _dummy_hash() -> str:
    # A hash of a random password, made once per process: checked against when there is no
    # (active) user, so an unknown name costs one scrypt check like a known one (F8: 7 ms vs 155 ms
    # told an attacker which usernames exist).
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def check_credentials(session: DbSession, username: Any, password: Any) -> Credentials:
    """Check a username and password at the cost of exactly one password-hash check, whoever asks."""
    user = session.scalar(select(User).where(User.username == str(username or "").strip()))
    password = str(password or "")
    if user is None or not user.active:
        User(password_hash=_dummy_hash()).check_password(password)  # same work, result ignored
        return Credentials(None, "unknown" if user is None else "inactive")
    if not user.check_password(password):
        return Credentials(None, "bad_password")
    return Credentials(user)


def authenticate(session: DbSession, username: Any, password: Any) -> Optional[User]:
    """Return the active user with these credentials, or None (one hash check either way)."""
    return check_credentials(session, username, password).user


def change_password(session: DbSession, user: User, current: str, new: str, *,
                    now: Optional[datetime] = None, ip: Optional[str] = None) -> None:
    """Change a password after checking the current one; other sessions end, every API token is revoked,
    a must-change flag clears, and the user is told (mail and notice; `ip` is where the change came from)."""
    if not user.check_password(current or ""):
        security_event("reauth_failed", level=logging.WARNING, user=user.username, doing="change_password")
        raise Refusal("invalid", "当前密码不正确。", "current")
    _check_password(new, "new", user.username)
    user.set_password(new)
    user.must_change_password = False
    end_sessions(user)
    now = now or utcnow()
    revoke_all_tokens(session, user, now, reason="password_changed", by=user)
    security_event("password_changed", user=user.username)
    session.flush()
    _announce_password(session, user, user, SELF, now, ip)


def end_sessions(user: User) -> None:
    """Make every session cookie of this user invalid."""
    user.session_version = (user.session_version or 1) + 1


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: DbSession, user: User, now: datetime, *, hours: int = 12,
                label: Optional[str] = None, ip: Optional[str] = None) -> tuple[str, ApiToken]:
    """Create an API token for the user, live for `hours`; return it with its row (only its hash is kept).

    `ip` is the address that asked, for the security log.
    """
    token = secrets.token_urlsafe(32)
    # Issuing counts as a use: the first call within the minute then writes nothing (and costs
    # the same statements as every other call, which the query-count tests pin).
    row = ApiToken(user_id=user.id, token_hash=_hash_token(token), created_at=now, last_used_at=now,
                   expires_at=now + timedelta(hours=hours), label=(label or "").strip()[:200] or None)
    session.add(row)
    session.flush()
    security_event("token_issued", user=user.username, token_id=row.id, expires_at=row.expires_at.isoformat(),
                   ip=ip)
    return token, row


def live_token(session: DbSession, token: str, now: datetime) -> Optional[ApiToken]:
    """The row of this token when it is neither revoked nor expired and its owner is active, else None."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > now)
    )
    if row is None or not row.user.active:
        return None
    return row


# How stale `last_used_at` may get before a call records itself (one write a minute at most).
TOKEN_TOUCH = timedelta(minutes=1)


def touch_token(row: ApiToken, now: datetime) -> bool:
    """Record a call made with the token, at most once a minute; return whether anything changed."""
    if row.last_used_at is not None and now - row.last_used_at < TOKEN_TOUCH:
        return False
    row.last_used_at = now
    return True


def user_for_token(session: DbSession, token: str, now: Optional[datetime] = None) -> Optional[User]:
    """The active user owning this unrevoked, unexpired token, or None."""
    row = live_token(session, token, now or utcnow())
    return row.user if row is not None else None


def revoke_token(session: DbSession, token: str, now: datetime) -> bool:
    """Revoke a token (the one a call was made with); return whether it was live."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return False
    row.revoked_at = now
    session.flush()
    security_event("token_revoked", user=row.user.username, token_id=row.id, by=row.user.username)
    return True


def list_tokens(session: DbSession, user: User, now: datetime) -> list[ApiToken]:
    """The user's live tokens (neither revoked nor expired), newest first."""
    return list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > now).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all())


def _may_manage_tokens(actor: User, owner: User) -> None:
    # One's own tokens, or anyone's for an admin.
    if actor.id != owner.id:
        permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理他人的访问令牌。")


def revoke_user_token(session: DbSession, actor: User, owner: User, token_id: Any, now: datetime) -> ApiToken:
    """Revoke one live token of `owner` (by the owner or an admin); another's or a dead one is not found."""
    _may_manage_tokens(actor, owner)
    row = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == owner.id,
                               ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    ) if isinstance(token_id, int) else None
    if row is None:
        raise Refusal("not_found", "访问令牌不存在或已失效。")
    row.revoked_at = now
    session.flush()
    security_event("token_revoked", user=owner.username, token_id=row.id, by=actor.username)
    return row


def revoke_all_tokens(session: DbSession, user: User, now: datetime, *, reason: str,
                      by: Optional[User] = None) -> int:
    """Revoke every token of the user (password change or reset, deactivation, or asked for);
    return how many were live. `by` None is the command line."""
    # Expired ones too: nothing is lost, and a clock set back could not bring them to life.
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    live = 0
    for row in rows:
        live += row.expires_at > now
        row.revoked_at = now
    session.flush()
    security_event("tokens_revoked_all", user=user.username, reason=reason,
                   by=by.username if by is not None else "command line", count=live)
    return live


def revoke_own_tokens(session: DbSession, actor: User, owner: User, now: datetime, *,
                      ip: Optional[str] = None) -> int:
    """Revoke every live token of `owner`, asked for by the owner or an admin; when it was an admin
    and a live token went, the owner is told (mail and notice; `ip` is the admin's address)."""
    _may_manage_tokens(actor, owner)
    if actor.id == owner.id:
        return revoke_all_tokens(session, owner, now, reason="owner", by=actor)
    # The newest token revoked now names this revocation (a token is revoked once): the notice's key.
    newest = session.scalar(select(func.max(ApiToken.id)).where(ApiToken.user_id == owner.id,
                                                                ApiToken.revoked_at.is_(None)))
    live = revoke_all_tokens(session, owner, now, reason="admin", by=actor)
    if live:
        events.publish(session, CredentialsChanged(at=now, actor_id=actor.id, user_id=owner.id, what="tokens",
                                                   how=ADMIN, ref=f"tokens:{newest}", ip=ip, tokens=live))
    return live


REAUTH_FIELD = "admin_password"


def confirm_password(actor: User, password: Any, doing: str) -> None:
    """Re-authentication before a sensitive change (ASVS 4.3.3): refuse unless `password` is the
    actor's own current password; the refusal is a security event."""
    if not isinstance(password, str) or not password or not actor.check_password(password):
        security_event("reauth_failed", level=logging.WARNING, user=actor.username, doing=doing)
        raise Refusal("invalid", "您的当前密码不正确,未做任何修改。", REAUTH_FIELD)


def list_users(session: DbSession) -> list[User]:
    """Every user with their unit, by username (one query)."""
    return list(session.scalars(select(User).options(joinedload(User.unit)).order_by(User.username)).all())


def update_user(session: DbSession, actor: User, user: User, role: Any, unit_code: Any = None,
                email: Any = None, display_name: Any = None, active: Any = True, *,
                admin_password: Any = None, now: Optional[datetime] = None) -> User:
    """Change a user's role, unit, address, name or activity (admin).

    Changing the role or the activity needs the admin's own current password (`admin_password`).
    Deactivating a user ends their sessions and revokes their API tokens. An admin may neither
    deactivate themself nor give up their own admin role: that could leave nobody to undo it.
    """
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    if role not in ROLES:
        raise Refusal("invalid", "角色应为 " + "、".join(ROLES) + " 之一。", "role")
    unit = unit_by_code(session, unit_code, "unit_code")
    if role in UNIT_ROLES and unit is None:
        raise Refusal("invalid", "责任单位的用户必须指定所属单位。", "unit_code")
    if role == Role.ADMIN and unit is not None:
        raise Refusal("invalid", "系统管理员不属于任何单位,请不要指定所属单位。", "unit_code")
    active = bool(active)
    if user.id == actor.id:
        if not active:
            raise Refusal("invalid", "不能停用自己的账号。", "active")
        if role != "admin":
            raise Refusal("invalid", "不能取消自己的系统管理员角色。", "role")
    display_name = str(display_name or "").strip()
    if len(display_name) > 100:
        raise Refusal("invalid", "姓名不能超过 100 个字。", "display_name")
    email = checked_email(email)
    old_role, was_active = user.role, bool(user.active)
    if role != old_role or active != was_active:
        confirm_password(actor, admin_password, "update_user")
    user.email = email
    user.role = role
    user.unit_id = unit.id if unit else None
    user.display_name = display_name or None
    if was_active and not active:
        end_sessions(user)
        revoke_all_tokens(session, user, now or utcnow(), reason="deactivated", by=actor)
    user.active = active
    session.flush()
    if role != old_role:
        security_event("role_changed", by=actor.username, user=user.username, old=old_role, new=role)
    if was_active != active:
        security_event("user_deactivated" if not active else "user_reactivated", by=actor.username,
                       user=user.username)
    return user


def reset_password(session: DbSession, actor: Optional[User], user: User, password: Any, *,
                   admin_password: Any = None, now: Optional[datetime] = None, ip: Optional[str] = None,
                   must_change: Optional[bool] = None) -> None:
    """Set a new password for a user (an admin, who confirms with their own current password
    `admin_password`; `actor=None` is the command line): every session of that user ends, every
    API token of theirs is revoked, and they are told (mail and notice; `ip` is the admin's address).

    The user must change an admin-set password at first use (ASVS 2.3.1); one set on the command
    line (or by an admin for themself) is not flagged unless `must_change` says so: that is the
    operator's way back into their own account, with a password they chose themself.
    """
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    if actor is not None:
        confirm_password(actor, admin_password, "reset_password")
    _check_password(password, username=user.username)
    user.set_password(str(password))
    if must_change is None:  # an admin resetting their own password chose it for themself
        must_change = actor is not None and actor.id != user.id
    user.must_change_password = bool(must_change)
    end_sessions(user)
    now = now or utcnow()
    revoke_all_tokens(session, user, now, reason="password_reset", by=actor)
    security_event("password_reset", by=actor.username if actor is not None else "command line",
                   user=user.username)
    session.flush()
    _announce_password(session, user, actor, ADMIN if actor is not None else CLI, now, ip)


def _announce_password(session: DbSession, user: User, actor: Optional[User], how: str, now: datetime,
                       ip: Optional[str]) -> None:
    # The session version was just bumped, and only ever grows: it names this change for the user.
    events.publish(session, CredentialsChanged(at=now, actor_id=actor.id if actor is not None else None,
                                               user_id=user.id, what="password", how=how,
                                               ref=f"password:v{user.session_version}", ip=ip))


def user_by_username(session: DbSession, username: Any) -> User:
    """The user of this username, or a not-found refusal (the command line names users)."""
    user = session.scalar(select(User).where(User.username == str(username or "").strip()))
    if user is None:
        raise Refusal("not_found", f"用户「{username}」不存在。")
    return user


# ---- page sessions (ASVS 3.3.4) ------------------------------------------------------------


def sid_hash(sid: str) -> str:
    """How a page session's random id is stored (SHA-256, hex)."""
    return hashlib.sha256(sid.encode()).hexdigest()


def start_user_session(session: DbSession, user: User, now: datetime, ip: Optional[str],
                       user_agent: Optional[str]) -> str:
    """Record a sign-in and return the new session's random id (kept in the signed cookie; only its
    hash is stored)."""
    sid = secrets.token_urlsafe(24)
    session.add(UserSession(user_id=user.id, sid_hash=sid_hash(sid), session_version=user.session_version,
                            created_at=now, ip=(ip or "")[:45] or None,
                            user_agent=(user_agent or "").strip()[:200] or None))
    session.flush()
    return sid


def session_not_ended(user_id: int, sid: Optional[str]) -> Any:
    """The SQL condition that this browser's session of `user_id` exists and was not ended by its
    owner (the user loader adds it to its one query, so checking costs no extra statement)."""
    if not sid:
        return false()
    return exists().where(UserSession.sid_hash == sid_hash(sid), UserSession.user_id == user_id,
                          UserSession.ended_at.is_(None))


def live_sessions(session: DbSession, user: User, now: datetime, max_hours: int) -> list[UserSession]:
    """The user's sessions that may still be signed in: not ended, begun under the current session
    version and within the absolute limit; newest first. (One idle too long is ended at its next
    request, which the server cannot know before: it is listed until then.)"""
    return list(session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
                                  UserSession.session_version == user.session_version,
                                  UserSession.created_at > now - timedelta(hours=max_hours))
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    ).all())


def end_user_sessions(session: DbSession, user: User, password: Any, now: datetime, *,
                      session_id: Optional[int] = None, keep_sid: Optional[str] = None) -> int:
    """End one of the user's sessions (`session_id`) or every other one (all but `keep_sid`, this
    browser's), after the user re-enters their password (ASVS 3.3.4); return how many ended. Someone
    else's session, or one already ended, is not found."""
    query = select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if session_id is not None:
        query = query.where(UserSession.id == session_id)
    elif keep_sid:
        query = query.where(UserSession.sid_hash != sid_hash(keep_sid))
    rows = list(session.scalars(query).all())
    # Not found before the password is asked: someone else's session is not theirs to probe.
    if session_id is not None and not rows:
        raise Refusal("not_found", "该登录不存在或已结束。")
    confirm_password(user, password, "end_sessions")
    for row in rows:
        row.ended_at = now
    session.flush()
    security_event("sessions_ended", user=user.username, count=len(rows),
                   session_id=session_id if session_id is not None else "others")
    return len(rows)
