"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import workflow
from tracker.models import ROLES, UNIT_ROLES, ApiToken, Round, Unit, User
from tracker.mail.message import valid_address
from tracker.workflow import Refusal

MIN_PASSWORD = 8


def _require(actor: Optional[User], roles: tuple[str, ...], what: str) -> None:
    if actor is not None and actor.role not in roles:
        raise Refusal("forbidden", f"您的角色无权{what}。")


def _email(value: Any, field: str = "email") -> Optional[str]:
    value = str(value or "").strip()
    if not value:
        return None
    # The mail code's own rule: an address stored here must be one mail can be sent to.
    if len(value) > 200 or not valid_address(value):
        raise Refusal("invalid", f"邮箱地址「{value}」格式不正确。", field)
    return value


def unit_by_code(session: Session, code: Any, field: str, label: str = "单位编码") -> Optional[Unit]:
    """The unit with this code, None when no code is given; a refusal on `field` when none has it."""
    code = str(code or "").strip()
    if not code:
        return None
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise Refusal("invalid", f"{label}「{code}」不存在。", field)
    return unit


def create_unit(session: Session, actor: Optional[User], code: Any, name: Any,
                parent_code: Any = None, email: Any = None) -> Unit:
    """Add a responsible unit (admin)."""
    _require(actor, ("admin",), "管理单位")
    code = str(code or "").strip()
    name = str(name or "").strip()
    if not code or len(code) > 64:
        raise Refusal("invalid", "请填写单位编码(不超过 64 个字符)。", "code")
    if not name or len(name) > 200:
        raise Refusal("invalid", "请填写单位名称(不超过 200 个字)。", "name")
    if session.scalar(select(Unit.id).where(Unit.code == code)):
        raise Refusal("conflict", f"单位编码「{code}」已存在。", "code")
    if session.scalar(select(Unit.id).where(Unit.name == name)):
        raise Refusal("conflict", f"单位名称「{name}」已存在。", "name")
    parent = unit_by_code(session, parent_code, "parent_code", "上级单位")
    unit = Unit(code=code, name=name, parent_id=parent.id if parent else None, email=_email(email))
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: Session, actor: User, unit: Unit, name: Any, parent_code: Any = None,
                email: Any = None) -> Unit:
    """Rename a unit, move it in the tree or change its address (admin)."""
    _require(actor, ("admin",), "管理单位")
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise Refusal("invalid", "请填写单位名称(不超过 200 个字)。", "name")
    if session.scalar(select(Unit.id).where(Unit.name == name, Unit.id != unit.id)):
        raise Refusal("conflict", f"单位名称「{name}」已存在。", "name")
    parent = unit_by_code(session, parent_code, "parent_code", "上级单位")
    if parent is not None:
        walk: Optional[Unit] = parent
        while walk is not None:
            if walk.id == unit.id:
                raise Refusal("invalid", "上级单位不能是本单位或其下级单位。", "parent_code")
            walk = walk.parent
    unit.name = name
    unit.parent_id = parent.id if parent else None
    unit.email = _email(email)
    session.flush()
    return unit


def create_user(session: Session, actor: Optional[User], username: Any, password: Any, role: Any,
                unit_code: Any = None, email: Any = None, display_name: Any = None) -> User:
    """Add a user (admin); unit roles need a unit. `actor=None` is the command line."""
    _require(actor, ("admin",), "管理用户")
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
                email=_email(email), display_name=(str(display_name).strip()[:100] if display_name else None))
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


def round_fields(session: Session, name: Any, level: Any, kind: Any, feedback_date: Any = None,
                 document_no: Any = None, round_id: Optional[int] = None) -> dict[str, Any]:
    """A round's checked fields (for creating it, or correcting round `round_id`); refusals name the field."""
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise Refusal("invalid", "请填写轮次名称(不超过 200 个字)。", "name")
    if session.scalar(select(Round.id).where(Round.name == name, Round.id != (round_id or 0))):
        raise Refusal("conflict", f"轮次「{name}」已存在。", "name")
    if level not in workflow.LEVELS:
        raise Refusal("invalid", "层级应为 central、provincial 或 municipal。", "level")
    if kind not in workflow.ROUND_KINDS:
        raise Refusal("invalid", "类型应为 regular、look_back 或 special。", "kind")
    fb: Optional[date] = None
    if feedback_date:
        if isinstance(feedback_date, date):
            fb = feedback_date
        else:
            try:
                fb = date.fromisoformat(str(feedback_date))
            except ValueError:
                raise Refusal("invalid", "反馈日期格式应为 YYYY-MM-DD。", "feedback_date") from None
    document_no = str(document_no or "").strip()
    if len(document_no) > 100:
        raise Refusal("invalid", "文号不能超过 100 个字。", "document_no")
    return {"name": name, "level": level, "kind": kind, "feedback_date": fb, "document_no": document_no or None}


def create_round(session: Session, actor: Optional[User], name: Any, level: Any, kind: Any,
                 feedback_date: Any = None, document_no: Any = None) -> Round:
    """Register an inspection round (admin or supervisor)."""
    if actor is not None and not workflow.may_manage_rounds(actor.role):
        raise Refusal("forbidden", "您的角色无权登记督察轮次。")
    round_ = Round(**round_fields(session, name, level, kind, feedback_date, document_no))
    session.add(round_)
    session.flush()
    return round_


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
