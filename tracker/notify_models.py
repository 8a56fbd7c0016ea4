"""Tables of reminders, escalations, digests and mail: settings, escalation marks, outbox, notices.

Kept apart from `models.py`; existing tables are referenced by name. Every row that
stands for "this was done once" carries a UNIQUE key, so that two runs of the jobs
at once, or one run repeated, cannot do it twice.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
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
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import utcnow
from tracker.extensions import db


class JobSetting(db.Model):
    """One setting of the jobs (ladder, day mode, report days, ...) as JSON, edited by admins."""

    __tablename__ = "job_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))


class Escalation(db.Model):
    """A reminder or escalation that fired for an issue: one row per (issue, key), ever.

    `key` names the ladder level ("overdue+1") or the monthly step and its period
    ("report_late:2020-07"). A supervision order (督办) row is what flags the issue
    挂牌督办; see `tracker.jobs.flags`.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("issue_id", "key", name="uq_escalations_issue_key"),
        Index("ix_escalations_kind_issue", "kind", "issue_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    period: Mapped[Optional[str]] = mapped_column(String(7))  # YYYY-MM, for the monthly cycle
    fired_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UnitEscalation(db.Model):
    """A supervision order to a unit for too many yellow lights in a month: once per (unit, period, kind)."""

    __tablename__ = "unit_escalations"
    __table_args__ = (
        UniqueConstraint("unit_id", "period", "kind", name="uq_unit_escalations_unit_period_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer)
    fired_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LightMark(db.Model):
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


class ReportLateness(db.Model):
    """The report of an issue for a period came after the due day (未按时报送): once per (issue, period)."""

    __tablename__ = "report_lateness"
    __table_args__ = (
        UniqueConstraint("issue_id", "period", name="uq_report_lateness_issue_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime] = mapped_column(DateTime)


class UserPref(db.Model):
    """A user's notification preferences: the digest frequency (daily, weekly on Monday, none)."""

    __tablename__ = "user_prefs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(10), default="daily", server_default=text("'daily'"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Outbox(db.Model):
    """One mail to one address, written in the transaction of what caused it.

    (kind, to_addr, ref) is unique: `ref` names what the mail is about (an issue and
    level, a period, a day), so the same mail can never be queued twice.
    Status: pending -> sending (claimed by a dispatcher) -> sent, or failed after
    `give_up_at`; a failed attempt puts it back to pending with a later
    `next_attempt_at`.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "to_addr", "ref", name="uq_outbox_kind_to_addr_ref"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    to_addr: Mapped[str] = mapped_column(String(254))
    ref: Mapped[str] = mapped_column(String(100))
    to_name: Mapped[Optional[str]] = mapped_column(String(200))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    issue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    give_up_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class Notice(db.Model):
    """An in-app notice (站内通知) for a user; one per (user, kind, ref), like the mail beside it."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "ref", name="uq_notices_user_kind_ref"),
        Index("ix_notices_user_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[Optional[str]] = mapped_column(String(500))
    issue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class JobLease(db.Model):
    """The leader lease of a job (SQLite and other databases without advisory locks)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[Optional[str]] = mapped_column(String(64))
    acquired_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
