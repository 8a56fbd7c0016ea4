"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import generate_password_hash

from tracker.accounts import passwords
from tracker.accounts.models import ApiToken, User
from tracker.core import permissions
from tracker.core.addresses import checked_email
from tracker.core.enums import ROLES, UNIT_ROLES
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Permission
from tracker.units.services import unit_by_code

MIN_PASSWORD = passwords.MIN_LENGTH


def create_user(session: DbSession, actor: Optional[User], username: Any, password: Any, role: Any,
                unit_code: Any = None, email: Any = None, display_name: Any = None) -> User:
    """Add a user (admin); unit roles need a unit. `actor=None` is the command line."""
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
    _check_password(password, username=username)
    user = User(username=username, role=role, unit_id=unit.id if unit else None,
                email=checked_email(email), display_name=(str(display_name).strip()[:100] if display_name else None))
    user.set_password(str(password))
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


def change_password(session: DbSession, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions end."""
    if not user.check_password(current or ""):
        raise Refusal("invalid", "当前密码不正确。", "current")
    _check_password(new, "new", user.username)
    user.set_password(new)
    end_sessions(user)
    session.flush()


def end_sessions(user: User) -> None:
    """Make every session cookie of this user invalid."""
    user.session_version = (user.session_version or 1) + 1


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: DbSession, user: User, now: datetime) -> str:
    """Create an API token for the user and return it; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), created_at=now))
    session.flush()
    return token


def user_for_token(session: DbSession, token: str) -> Optional[User]:
    """The active user owning this unrevoked token, or None."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    return row.user


def revoke_token(session: DbSession, token: str, now: datetime) -> bool:
    """Revoke a token; return whether it was live."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return False
    row.revoked_at = now
    session.flush()
    return True


def list_users(session: DbSession) -> list[User]:
    """Every user with their unit, by username (one query)."""
    return list(session.scalars(select(User).options(joinedload(User.unit)).order_by(User.username)).all())


def update_user(session: DbSession, actor: User, user: User, role: Any, unit_code: Any = None,
                email: Any = None, display_name: Any = None, active: Any = True) -> User:
    """Change a user's role, unit, address, name or activity (admin).

    Deactivating a user ends their sessions. An admin may neither deactivate
    themself nor give up their own admin role: that could leave nobody to undo it.
    """
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    if role not in ROLES:
        raise Refusal("invalid", "角色应为 " + "、".join(ROLES) + " 之一。", "role")
    unit = unit_by_code(session, unit_code, "unit_code")
    if role in UNIT_ROLES and unit is None:
        raise Refusal("invalid", "责任单位的用户必须指定所属单位。", "unit_code")
    active = bool(active)
    if user.id == actor.id:
        if not active:
            raise Refusal("invalid", "不能停用自己的账号。", "active")
        if role != "admin":
            raise Refusal("invalid", "不能取消自己的系统管理员角色。", "role")
    display_name = str(display_name or "").strip()
    if len(display_name) > 100:
        raise Refusal("invalid", "姓名不能超过 100 个字。", "display_name")
    user.email = checked_email(email)
    user.role = role
    user.unit_id = unit.id if unit else None
    user.display_name = display_name or None
    if user.active and not active:
        end_sessions(user)
    user.active = active
    session.flush()
    return user


def reset_password(session: DbSession, actor: User, user: User, password: Any) -> None:
    """Set a new password for a user (admin); every session of that user ends."""
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    _check_password(password, username=user.username)
    user.set_password(str(password))
    end_sessions(user)
    session.flush()
