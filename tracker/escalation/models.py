"""What the daily run keeps for itself: yellow lights seen per month, and supervision orders to units.

Every row that stands for "this was done once" carries a UNIQUE key, so that two runs at once,
or one run repeated, cannot do it twice.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.clock import utcnow
from tracker.core.enums import EscalationKind
from tracker.core.extensions import Base
from tracker.core.sql import string_enum


class UnitEscalation(Base):
    """A supervision order to a unit for too many yellow lights in a month: once per (unit, period, kind)."""

    __tablename__ = "unit_escalations"
    __table_args__ = (
        UniqueConstraint("unit_id", "period", "kind", name="uq_unit_escalations_unit_period_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(string_enum(EscalationKind, "kind", 30))
    count: Mapped[int] = mapped_column(Integer)
    fired_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LightMark(Base):
    """An issue showed this light (yellow) on some day of the month: once per (issue, period, light)."""

    __tablename__ = "light_marks"
    __table_args__ = (
        UniqueConstraint("issue_id", "period", "light", name="uq_light_marks_issue_period_light"),
        Index("ix_light_marks_period_light", "period", "light"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    light: Mapped[str] = mapped_column(String(10))
    first_on: Mapped[date] = mapped_column(Date)
