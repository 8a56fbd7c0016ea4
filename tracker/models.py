"""Typed SQLAlchemy models: units, users, rounds, issues and their history."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.clock import utcnow
from tracker.extensions import db

# Roles that belong to a responsible unit; the others see every issue.
UNIT_ROLES = ("unit_staff", "unit_head")
ROLES = ("unit_staff", "unit_head", "supervisor", "approver", "leader", "admin")
ROLE_LABELS = {
    "unit_staff": "责任单位经办人",
    "unit_head": "责任单位负责人",
    "supervisor": "督察整改办",
    "approver": "销号审批",
    "leader": "分管领导",
    "admin": "系统管理员",
}


class Unit(db.Model):
    """A responsible unit (责任单位); units form a tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Optional["Unit"]] = relationship(remote_side="Unit.id", back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent", order_by="Unit.code")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class User(UserMixin, db.Model):
    """A person who signs in; unit roles carry their unit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    display_name: Mapped[Optional[str]] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Bumped on logout and password change, so that old session cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Optional[Unit]] = relationship()

    def set_password(self, password: str) -> None:
        """Hash and store a password (scrypt, Werkzeug's default)."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Return whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login identity: the id with the session version, so logout ends old sessions."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def name(self) -> str:
        """The name shown on screen."""
        return self.display_name or self.username

    @property
    def role_label(self) -> str:
        """The role's name in Chinese."""
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_unit_role(self) -> bool:
        """Whether this user acts for a responsible unit."""
        return self.role in UNIT_ROLES


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class Round(db.Model):
    """An inspection round (督察轮次)."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level: Mapped[str] = mapped_column(String(20))  # central | provincial | municipal
    kind: Mapped[str] = mapped_column(String(20))  # regular | look_back | special
    feedback_date: Mapped[Optional[date]] = mapped_column(Date)
    document_no: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IssueUnit(db.Model):
    """A cooperating unit on an issue (配合单位)."""

    __tablename__ = "issue_units"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class Issue(db.Model):
    """A feedback issue (反馈问题 / 整改任务) and its rectification state."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), index=True)
    rectify_type: Mapped[str] = mapped_column(String(20), index=True)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    assigned_on: Mapped[date] = mapped_column(Date)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[Optional[str]] = mapped_column(String(20))
    responsible_leader: Mapped[Optional[str]] = mapped_column(String(100))
    responsible_person: Mapped[Optional[str]] = mapped_column(String(100))
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), index=True, default="in_progress")
    summary: Mapped[Optional[str]] = mapped_column(Text)
    # Marked by the office for the public disclosure page (整改公示); shown there once closed.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("issues.id"), index=True)
    verified_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
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
    merged_into: Mapped[Optional["Issue"]] = relationship(remote_side="Issue.id", foreign_keys=[merged_into_id])
    verified_by: Mapped[Optional[User]] = relationship(foreign_keys=[verified_by_id])


class ProgressReport(db.Model):
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


class Attachment(db.Model):
    """An evidence file (佐证材料), stored on disk by its SHA-256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    uploaded_by: Mapped[Optional[User]] = relationship()


class Event(db.Model):
    """One entry in an issue's timeline (流转记录); never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_issue_at", "issue_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[Optional[str]] = mapped_column(String(20))
    to_state: Mapped[Optional[str]] = mapped_column(String(20))
    comment: Mapped[Optional[str]] = mapped_column(Text)

    actor: Mapped[Optional[User]] = relationship()


class BackgroundJob(db.Model):
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
