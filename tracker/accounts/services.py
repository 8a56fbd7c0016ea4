"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from tracker.accounts.models import ApiToken, User
from tracker.core import permissions
from tracker.core.addresses import checked_email
from tracker.core.enums import ROLES, UNIT_ROLES
from tracker.core.errors import Refusal
from tracker.core.permissions import Permission
from tracker.units.services import unit_by_code

MIN_PASSWORD = 8


def create_user(session: Session, actor: Optional[User], username: Any, password: Any, role: Any,
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
    _check_password(password)
    user = User(username=username, role=role, unit_id=unit.id if unit else None,
                email=checked_email(email), display_name=(str(display_name).strip()[:100] if display_name else None))
    user.set_password(str(password))
    session.add(user)
    session.flush()
    return user


def _check_password(password: Any, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Refusal("invalid", f"密码至少 {MIN_PASSWORD} 位。", field)
    if len(password) > 128:
        raise Refusal("invalid", "密码不能超过 128 位。", field)


def authenticate(session: Session, username: Any, password: Any) -> Optional[User]:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == str(username or "").strip()))
    if user is None or not user.active or not user.check_password(str(password or "")):
        return None
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions end."""
    if not user.check_password(current or ""):
        raise Refusal("invalid", "当前密码不正确。", "current")
    _check_password(new, "new")
    user.set_password(new)
    end_sessions(user)
    session.flush()


def end_sessions(user: User) -> None:
    """Make every session cookie of this user invalid."""
    user.session_version = (user.session_version or 1) + 1


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, now: datetime) -> str:
    """Create an API token for the user and return it; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), created_at=now))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> Optional[User]:
    """The active user owning this unrevoked token, or None."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    return row.user


def revoke_token(session: Session, token: str, now: datetime) -> bool:
    """Revoke a token; return whether it was live."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return False
    row.revoked_at = now
    session.flush()
    return True


def list_users(session: Session) -> list[User]:
    """Every user with their unit, by username (one query)."""
    return list(session.scalars(select(User).options(joinedload(User.unit)).order_by(User.username)).all())


def update_user(session: Session, actor: User, user: User, role: Any, unit_code: Any = None,
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


def reset_password(session: Session, actor: User, user: User, password: Any) -> None:
    """Set a new password for a user (admin); every session of that user ends."""
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    _check_password(password)
    user.set_password(str(password))
    end_sessions(user)
    session.flush()
