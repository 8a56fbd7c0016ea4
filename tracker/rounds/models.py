"""Inspection rounds (督察轮次): who inspected, when, the plan's document number, the approval chain an
issue of the round passes before it is closed (销号), and how many extensions an issue may have."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tracker.core.clock import utcnow
from tracker.core.enums import Role, RoundKind, RoundLevel, UnitLevel
from tracker.core.extensions import Base
from tracker.core.sql import string_enum

# How many deadline extensions an issue of a round may be granted, unless the round says otherwise.
DEFAULT_MAX_EXTENSIONS = 2


@dataclass(frozen=True)
class StepSpec:
    """One step of an approval chain as written: which level's office, which role, what it is called."""

    level: Optional[str]
    role: str
    label: str


# Today's one verification and one approval, at whatever level the signer serves: a round created
# without a chain gets this one, and the migration gave it to every round that existed before chains.
DEFAULT_CHAIN = (StepSpec(None, Role.SUPERVISOR, "验收"), StepSpec(None, Role.APPROVER, "销号"))


class Round(Base):
    """An inspection round (督察轮次)."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level: Mapped[str] = mapped_column(string_enum(RoundLevel, "level"))
    kind: Mapped[str] = mapped_column(string_enum(RoundKind, "kind"))
    feedback_date: Mapped[Optional[date]] = mapped_column(Date)
    document_no: Mapped[Optional[str]] = mapped_column(String(100))
    max_extensions: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_EXTENSIONS,
                                                server_default=text(str(DEFAULT_MAX_EXTENSIONS)))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    steps: Mapped[list[RoundStep]] = relationship(order_by="RoundStep.position", cascade="all, delete-orphan",
                                                  back_populates="round")


class RoundStep(Base):
    """One step of a round's approval chain (审核链): taken by a user of `role` whose office sits at
    `level` above the issue's lead unit (any level when empty). Every step but the last is taken with
    the workflow's `verify`, the last with `approve`."""

    __tablename__ = "round_steps"
    __table_args__ = (UniqueConstraint("round_id", "position", name="uq_round_steps_round_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0 for the first step
    level: Mapped[Optional[str]] = mapped_column(string_enum(UnitLevel, "level"))
    role: Mapped[str] = mapped_column(string_enum(Role, "role"))
    label: Mapped[str] = mapped_column(String(50))

    round: Mapped[Round] = relationship(back_populates="steps")

    @property
    def spec(self) -> StepSpec:
        """The step as written (level, role, label)."""
        return StepSpec(self.level, self.role, self.label)


def chain_steps(specs: list[StepSpec] | tuple[StepSpec, ...]) -> list[RoundStep]:
    """RoundStep rows for a chain as written, positions from 0."""
    return [RoundStep(position=i, level=spec.level, role=spec.role, label=spec.label) for i, spec in enumerate(specs)]


@event.listens_for(Session, "before_flush")
def _default_chain(session: Session, flush_context: object, instances: object) -> None:
    """Give every new round without a chain today's default one, however it was written (services,
    the demo, tests), so that the queues' SQL always finds the steps."""
    for obj in session.new:
        if isinstance(obj, Round) and not obj.steps:
            obj.steps = chain_steps(DEFAULT_CHAIN)
