"""Tables of the shared machinery: settings (JSON rows), leader leases, background tasks."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.clock import utcnow
from tracker.core.extensions import Base

if TYPE_CHECKING:
    from tracker.accounts.models import User


class BackgroundJob(Base):
    """A long export or import run outside the request (后台任务), with its progress and result."""

    __tablename__ = "background_jobs"
    # The job list shows a user's recent jobs, newest first.
    __table_args__ = (Index("ix_background_jobs_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ledger_export | ledger_import
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the export's filters, the import's file
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued|running|done|failed
    done: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Relative to UPLOAD_DIR; the name carries a random token, never just the id.
    result_path: Mapped[Optional[str]] = mapped_column(String(255))
    download_name: Mapped[Optional[str]] = mapped_column(String(255))
    summary: Mapped[Optional[str]] = mapped_column(Text)  # JSON, e.g. {"created": 3, "updated": 1}
    error: Mapped[Optional[str]] = mapped_column(Text)  # shown to the user, in Chinese
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    heartbeat_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class JobSetting(Base):
    """One setting of the jobs (ladder, day mode, report days, ...) as JSON, edited by admins."""

    __tablename__ = "job_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))


class JobLease(Base):
    """The leader lease of a job (SQLite and other databases without advisory locks)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[Optional[str]] = mapped_column(String(64))
    acquired_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ThrottleCounter(Base):
    """One fixed-window counter of the sign-in throttle (tracker.core.throttle.SqlStorage).

    `key` is the limits library's key (limit, scope and who: an account or an address); the row is
    dead once `expires_at` has passed and is deleted by the next write (see `SqlStorage.incr`).
    """

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
