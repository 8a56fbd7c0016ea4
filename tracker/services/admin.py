"""Administration beyond accounts.py: the unit tree, editing users and rounds.

Like every service: takes (session, actor, ...), raises `Refusal` for bad input,
flushes and never commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from tracker import workflow
from tracker.models import ROLES, UNIT_ROLES, Issue, Round, Unit, User
from tracker.workflow import Refusal
from tracker.services.accounts import _check_password, _email, _require, end_sessions, round_fields, unit_by_code
from tracker.services.scoping import visible_issues


@dataclass(frozen=True)
class TreeNode:
    """A unit with its depth in the tree (0 for a top unit)."""

    unit: Unit
    depth: int


def unit_tree(session: Session) -> list[TreeNode]:
    """Every unit in tree order (parents before children, siblings by code), in one query.

    Units are few (hundreds), so the tree is built in Python from a single SELECT.
    """
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    ids = {unit.id for unit in units}
    children: dict[Optional[int], list[Unit]] = {}
    for unit in units:
        # A dangling parent cannot happen with the foreign key; treat it as a root anyway.
        parent = unit.parent_id if unit.parent_id in ids else None
        children.setdefault(parent, []).append(unit)
    tree: list[TreeNode] = []
    stack = [(unit, 0) for unit in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:  # guards against a cycle written behind the service's back
            continue
        seen.add(unit.id)
        tree.append(TreeNode(unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return tree


def list_users(session: Session) -> list[User]:
    """Every user with their unit, by username (one query)."""
    return list(session.scalars(select(User).options(joinedload(User.unit)).order_by(User.username)).all())


def rounds_newest_first(session: Session) -> list[Round]:
    """Every round, newest feedback first (rounds without a date last): the order of every round list."""
    return list(session.scalars(select(Round).order_by(Round.feedback_date.desc().nulls_last(), Round.id.desc())))


def rounds_with_counts(session: Session, actor: User) -> list[tuple[Round, int]]:
    """Every round (newest feedback first) with the number of issues the actor sees in it.

    Two queries: the rounds, and one grouped count.
    """
    rounds = rounds_newest_first(session)
    counts = dict(session.execute(
        select(Issue.round_id, func.count()).where(visible_issues(actor)).group_by(Issue.round_id)
    ).all())
    return [(round_, int(counts.get(round_.id, 0))) for round_ in rounds]


def update_user(session: Session, actor: User, user: User, role: Any, unit_code: Any = None,
                email: Any = None, display_name: Any = None, active: Any = True) -> User:
    """Change a user's role, unit, address, name or activity (admin).

    Deactivating a user ends their sessions. An admin may neither deactivate
    themself nor give up their own admin role: that could leave nobody to undo it.
    """
    _require(actor, ("admin",), "管理用户")
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
    user.email = _email(email)
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
    _require(actor, ("admin",), "管理用户")
    _check_password(password)
    user.set_password(str(password))
    end_sessions(user)
    session.flush()


def update_round(session: Session, actor: User, round_: Round, name: Any, level: Any, kind: Any,
                 feedback_date: Any = None, document_no: Any = None) -> Round:
    """Correct an inspection round's name, level, kind, feedback date or document number."""
    if not workflow.may_manage_rounds(actor.role):
        raise Refusal("forbidden", "您的角色无权管理督察轮次。")
    for field, value in round_fields(session, name, level, kind, feedback_date, document_no,
                                     round_id=round_.id).items():
        setattr(round_, field, value)
    session.flush()
    return round_
