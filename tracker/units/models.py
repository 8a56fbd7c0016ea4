"""Responsible units (责任单位), which form a tree (市 → 县/区 → 镇/街道 → 村/社区, or 市政府 → 各局)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import (
    DateTime,
    ForeignKey,
    String,
    event,
    func,
    inspect,
    literal,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tracker.core.clock import utcnow
from tracker.core.enums import LEVEL_RANK, UnitLevel
from tracker.core.extensions import Base
from tracker.core.sql import string_enum

PATH_SEPARATOR = "/"


def path_segment(code: str) -> str:
    """A unit's code as one segment of a materialized path ("/" and "%" escaped, so that no code can
    end or widen another's prefix)."""
    return code.replace("%", "%25").replace(PATH_SEPARATOR, "%2F")


class Unit(Base):
    """A responsible unit (责任单位); units form a tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    # The level of government (a department takes its government's); set from the parent when not given.
    level: Mapped[str] = mapped_column(string_enum(UnitLevel, "level"), default=UnitLevel.CITY,
                                       server_default=UnitLevel.CITY.value)
    # The materialized path of codes from the root, "/HLGL/HLGL-ZJ/": a subtree is every unit whose
    # path starts with its root's path, in one indexed SQL test (no recursion per row). Kept by the
    # units' flush hook (tracker.units.services), so that every way a unit is written keeps it.
    path: Mapped[str] = mapped_column(String(1000), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Optional[Unit]] = relationship(remote_side="Unit.id", back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")

    @property
    def level_rank(self) -> int:
        """How high the unit's level sits (town 0 … province 3)."""
        return LEVEL_RANK[self.level]

    def contains(self, other: Unit) -> bool:
        """Whether `other` lies in this unit's subtree (itself included)."""
        return bool(self.path) and other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


def _place(session: Session, unit: Unit, placing: set[int]) -> None:
    """Set a new or changed unit's level (from its parent when not given) and path; a moved unit's
    subtree follows it in one UPDATE."""
    if id(unit) in placing:  # a cycle written behind the service's back: leave it to the service's check
        return
    placing.add(id(unit))
    # The parent as last written: the relationship when it was assigned, else the foreign key.
    parent: Optional[Unit]
    if inspect(unit).attrs.parent.history.has_changes():
        parent = unit.parent
    elif unit.parent_id is not None:
        parent = session.get(Unit, unit.parent_id)
    else:
        parent = None
    if parent is not None and (parent in session.new or not parent.path):
        _place(session, parent, placing)
    if unit.level is None:
        unit.level = parent.level if parent is not None else UnitLevel.CITY
    old = unit.path or ""
    new = (parent.path if parent is not None else PATH_SEPARATOR) + path_segment(unit.code) + PATH_SEPARATOR
    if new == old:
        return
    unit.path = new
    if old and unit.id is not None:
        session.execute(
            update(Unit)
            .where(Unit.path.startswith(old, autoescape=True), Unit.id != unit.id)
            .values(path=literal(new) + func.substr(Unit.path, len(old) + 1))
            .execution_options(synchronize_session=False)
        )
        for other in list(session.identity_map.values()):
            if isinstance(other, Unit) and other is not unit and other.path.startswith(old):
                session.expire(other, ["path"])


@event.listens_for(Session, "before_flush")
def _keep_paths(session: Session, flush_context: object, instances: object) -> None:
    """Keep every written unit's path and level right, however it was written (services, the demo, tests)."""
    changed = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Unit)]
    if not changed:
        return
    placing: set[int] = set()
    with session.no_autoflush:
        for unit in changed:
            _place(session, unit, placing)
