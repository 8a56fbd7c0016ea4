"""Inspection rounds (督察轮次): who inspected, when, and the plan's document number."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    Date,
    DateTime,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.clock import utcnow
from tracker.core.enums import RoundKind, RoundLevel
from tracker.core.extensions import Base
from tracker.core.sql import string_enum


class Round(Base):
    """An inspection round (督察轮次)."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level: Mapped[str] = mapped_column(string_enum(RoundLevel, "level"))
    kind: Mapped[str] = mapped_column(string_enum(RoundKind, "kind"))
    feedback_date: Mapped[Optional[date]] = mapped_column(Date)
    document_no: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
