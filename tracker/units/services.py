"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select

from tracker.core import permissions
from tracker.core.addresses import checked_email
from tracker.core.enums import UnitLevel
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.labels import UNIT_LEVEL_LABELS
from tracker.core.permissions import Actor, Permission
from tracker.units.models import Unit


def unit_by_code(session: DbSession, code: Any, field: str, label: str = "单位编码") -> Optional[Unit]:
    """The unit with this code, None when no code is given; a refusal on `field` when none has it."""
    code = str(code or "").strip()
    if not code:
        return None
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise Refusal("invalid", f"{label}「{code}」不存在。", field)
    return unit


def checked_level(level: Any, default: str) -> str:
    """A unit level (省级, 市级, 县级, 乡镇级) as given, or `default` when none is; a refusal naming the
    allowed values for anything else."""
    if level is None or (isinstance(level, str) and not level.strip()):
        return default
    value = str(level).strip()
    if value not in LEVELS:
        allowed = "、".join(f"{lv}({UNIT_LEVEL_LABELS[lv]})" for lv in LEVELS)
        raise Refusal("invalid", f"单位层级应为 {allowed} 之一。", "level")
    return value


LEVELS = tuple(level.value for level in UnitLevel)


def create_unit(session: DbSession, actor: Optional[Actor], code: Any, name: Any,
                parent_code: Any = None, email: Any = None, level: Any = None) -> Unit:
    """Add a responsible unit (admin). `level` (province, city, county, town) defaults to the parent's,
    `city` at a root."""
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理单位。")
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
    level = checked_level(level, parent.level if parent is not None else UnitLevel.CITY.value)
    unit = Unit(code=code, name=name, parent_id=parent.id if parent else None, email=checked_email(email),
                level=level)
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: DbSession, actor: Actor, unit: Unit, name: Any, parent_code: Any = None,
                email: Any = None, level: Any = None) -> Unit:
    """Rename a unit, move it in the tree, change its level or its address (admin). `level` None keeps
    the unit's; a moved unit's subtree follows it (the units' flush hook rewrites the paths)."""
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理单位。")
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
    new_level = checked_level(level, unit.level)
    unit.name = name
    unit.level = new_level
    unit.parent_id = parent.id if parent else None
    unit.email = checked_email(email)
    session.flush()
    return unit


@dataclass(frozen=True)
class TreeNode:
    """A unit with its depth in the tree (0 for a top unit)."""

    unit: Unit
    depth: int


def unit_tree(session: DbSession) -> list[TreeNode]:
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
