"""Mail and notices: the outbox, in-app notices, and each user's notification preferences.

Every row that stands for "this was sent once" carries a UNIQUE key, so that two runs at once,
or one run repeated, cannot queue it twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import (
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

from tracker.core.clock import utcnow
from tracker.core.enums import ActionMail, DigestFrequency, MailStatus, NoticeKind
from tracker.core.extensions import Base
from tracker.core.sql import string_enum


class UserPref(Base):
    """A user's notification preferences: the digest frequency (daily, weekly on Monday, none), and
    whether a notice of a workflow action also comes by mail at once or as a line of the next digest."""

    __tablename__ = "user_prefs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(string_enum(DigestFrequency, "digest", 10), default=DigestFrequency.DAILY,
                                        server_default=text("'daily'"))
    action_mail: Mapped[str] = mapped_column(string_enum(ActionMail, "action_mail", 10), default=ActionMail.IMMEDIATE,
                                             server_default=text("'immediate'"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DigestLine(Base):
    """A notice a user chose to receive by mail as a line of the next digest instead of a mail of its own.

    One per (user, kind, ref), like the notice beside it; `sent_at` says when a digest carried it
    (the digest's mail names the last line it carries in its ref).
    """

    __tablename__ = "digest_lines"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "ref", name="uq_digest_lines_user_kind_ref"),
        Index("ix_digest_lines_user_sent_at", "user_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(string_enum(NoticeKind, "kind", 30))
    ref: Mapped[str] = mapped_column(String(100))
    issue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class Outbox(Base):
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
    kind: Mapped[str] = mapped_column(string_enum(NoticeKind, "kind", 30))
    to_addr: Mapped[str] = mapped_column(String(254))
    ref: Mapped[str] = mapped_column(String(100))
    to_name: Mapped[Optional[str]] = mapped_column(String(200))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    issue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(string_enum(MailStatus, "status", 10), default=MailStatus.PENDING,
                                        server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    give_up_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class Notice(Base):
    """An in-app notice (站内通知) for a user; one per (user, kind, ref), like the mail beside it."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "ref", name="uq_notices_user_kind_ref"),
        Index("ix_notices_user_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(string_enum(NoticeKind, "kind", 30))
    ref: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[Optional[str]] = mapped_column(String(500))
    issue_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
