"""Feedback issues and their record: cooperating units, progress reports, evidence, the timeline
(流转记录), and what fired for them (escalations, late reports).

Rows that stand for "this was done once" carry a UNIQUE key, so that two runs of the daily
jobs at once, or one run repeated, cannot do it twice.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.accounts.models import User
from tracker.core.clock import utcnow
from tracker.core.enums import (
    Category,
    DeadlineSource,
    EscalationKind,
    EventKind,
    ExtensionState,
    RectifyType,
    State,
)
from tracker.core.extensions import Base
from tracker.core.sql import string_enum
from tracker.rounds.models import Round
from tracker.units.models import Unit


class IssueUnit(Base):
    """A cooperating unit on an issue (配合单位)."""

    __tablename__ = "issue_units"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class Issue(Base):
    """A feedback issue (反馈问题 / 整改任务) and its rectification state."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(string_enum(Category, "category"), index=True)
    rectify_type: Mapped[str] = mapped_column(string_enum(RectifyType, "rectify_type"), index=True)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    # The deadline first set (kept when the deadline moves): an issue whose deadline is later is
    # extended (延期). Every move is in `deadline_changes`.
    original_deadline: Mapped[date] = mapped_column(Date, default=lambda ctx: ctx.get_current_parameters()["deadline"])
    assigned_on: Mapped[date] = mapped_column(Date)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[Optional[str]] = mapped_column(String(20))
    responsible_leader: Mapped[Optional[str]] = mapped_column(String(100))
    responsible_person: Mapped[Optional[str]] = mapped_column(String(100))
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(string_enum(State, "state"), index=True, default=State.IN_PROGRESS)
    summary: Mapped[Optional[str]] = mapped_column(Text)
    # Marked by the office for the public disclosure page (整改公示); shown there once closed.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id"), index=True)
    verified_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    # While submitted or verified: the position of the round's approval-chain step the issue waits
    # for (tracker.rounds.models.RoundStep.position); empty otherwise.
    chain_step: Mapped[Optional[int]] = mapped_column(Integer)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    # Every UPDATE checks the version it read: a concurrent writer loses with StaleDataError.
    __mapper_args__ = {"version_id_col": version}

    round: Mapped[Round] = relationship()
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    cooperating: Mapped[list[IssueUnit]] = relationship(cascade="all, delete-orphan")
    merged_into: Mapped[Optional[Issue]] = relationship(remote_side="Issue.id", foreign_keys=[merged_into_id])
    verified_by: Mapped[Optional[User]] = relationship(foreign_keys=[verified_by_id])

    @property
    def waiting_position(self) -> Optional[int]:
        """The position of the approval-chain step the issue waits for; None outside the chain. One put in
        the chain without a step (written directly, as before chains) waits where its state says: submitted
        at the first step, verified at the last. Reads the round's steps only then."""
        if self.state not in (State.SUBMITTED, State.VERIFIED):
            return None
        if self.chain_step is not None:
            return self.chain_step
        return 0 if self.state == State.SUBMITTED else len(self.round.steps) - 1

    @property
    def waiting_label(self) -> Optional[str]:
        """Where the issue waits in its round's approval chain ("待市级验收"); None outside it. Reads the
        round's steps (one query per round, cached in the session)."""
        position = self.waiting_position
        if position is None:
            return None
        steps = self.round.steps
        return f"待{steps[position].label}" if 0 <= position < len(steps) else None


class Signature(Base):
    """A step of the approval chain signed for an issue (who, which step, when): one per (issue, step)
    in the current pass. A return or a reopening ends the pass (`cleared_at`); the rows stay as history.
    Nobody signs two steps of one pass (separation of duties)."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_issue_cleared", "issue_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    cleared_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class ExtensionRequest(Base):
    """A deadline extension request (延期申请): asked by the lead unit's head with a reason (and
    optionally evidence), decided by the office: approved (maybe with another date) or rejected."""

    __tablename__ = "extension_requests"
    __table_args__ = (Index("ix_extension_requests_state_issue", "state", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(string_enum(ExtensionState, "state"), default=ExtensionState.PENDING)
    old_deadline: Mapped[date] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)  # the date asked for
    reason: Mapped[str] = mapped_column(Text)
    attachment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    requested_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # The date granted (the one asked for, or another the office chose); empty unless approved.
    granted_deadline: Mapped[Optional[date]] = mapped_column(Date)
    decision_reason: Mapped[Optional[str]] = mapped_column(Text)

    requested_by: Mapped[Optional[User]] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Optional[User]] = relationship(foreign_keys=[decided_by_id])
    attachment: Mapped[Optional[Attachment]] = relationship()


class ProgressReport(Base):
    """A progress report (进展报送) for one issue and period; replaced ones stay as history."""

    __tablename__ = "progress_reports"
    __table_args__ = (
        Index("ix_progress_reports_issue_period", "issue_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    percent: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when a later report for the same period replaced this one.
    replaced_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    author: Mapped[Optional[User]] = relationship()
    unit: Mapped[Optional[Unit]] = relationship()


class Attachment(Base):
    """An evidence file (佐证材料), stored on disk by its SHA-256."""

    __tablename__ = "attachments"
    # The daily upload quota sums a user's uploads of the day (issues.services.uploaded_today).
    __table_args__ = (Index("ix_attachments_uploader_created", "uploaded_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    uploaded_by: Mapped[Optional[User]] = relationship()


class Event(Base):
    """One entry in an issue's timeline (流转记录); never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_issue_at", "issue_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(string_enum(EventKind, "action", 40))
    from_state: Mapped[Optional[str]] = mapped_column(string_enum(State, "from_state"))
    to_state: Mapped[Optional[str]] = mapped_column(string_enum(State, "to_state"))
    comment: Mapped[Optional[str]] = mapped_column(Text)
    # An edit's or a deadline change's fields, as JSON {field: [old, new]}.
    changes: Mapped[Optional[str]] = mapped_column(Text)

    actor: Mapped[Optional[User]] = relationship()

    @property
    def changed(self) -> dict[str, list[Any]]:
        """The fields this entry changed, {field: [old, new]} (empty for other entries)."""
        return dict(json.loads(self.changes)) if self.changes else {}


class DeadlineChange(Base):
    """One move of an issue's deadline: old, new, who, when, why, and what moved it (history, append-only)."""

    __tablename__ = "deadline_changes"
    __table_args__ = (Index("ix_deadline_changes_issue_changed", "issue_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    old_deadline: Mapped[date] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    changed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(string_enum(DeadlineSource, "source"))

    changed_by: Mapped[Optional[User]] = relationship()


class Escalation(Base):
    """A reminder or escalation that fired for an issue: one row per (issue, key, due_on), ever.

    `key` names the ladder rung ("overdue+1") or the monthly step and its period
    ("report_late:2020-07"); `due_on` the deadline the rung counted from (a moved deadline re-arms
    the ladder: its rungs fire again for the new one, the old rows stay as history), or the first day
    of the monthly step's period. A supervision order or interview row is what flags the issue
    挂牌督办 (`tracker.issues.figures.supervised`).
    """

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("issue_id", "key", "due_on", name="uq_escalations_issue_key_due_on"),
        Index("ix_escalations_kind_issue", "kind", "issue_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(string_enum(EscalationKind, "kind", 30))
    period: Mapped[Optional[str]] = mapped_column(String(7))  # YYYY-MM, for the monthly cycle
    # Empty only on rows from before deadlines were kept with them: for whatever deadline the issue has.
    due_on: Mapped[Optional[date]] = mapped_column(Date)
    fired_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportLateness(Base):
    """An issue owed a report for a period and none came by the due day (未按时报送): once per (issue, period).

    `filed_at` and `report_id` name the first report when it came late; both are empty while it
    is still missing. Written by the monthly cycle (`tracker.escalation.monthly`), counted by every
    page that says 未按时报送.
    """

    __tablename__ = "report_lateness"
    __table_args__ = (
        UniqueConstraint("issue_id", "period", name="uq_report_lateness_issue_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    report_id: Mapped[Optional[int]] = mapped_column(ForeignKey("progress_reports.id", ondelete="CASCADE"),
                                                     index=True)
    due_on: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
