"""Accounts: the people who sign in (users) and their API tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.core.clock import utcnow
from tracker.core.enums import AREA_ROLES, UNIT_ROLES, Role
from tracker.core.extensions import Base
from tracker.core.labels import ROLE_LABELS
from tracker.core.sql import EncryptedText, string_enum
from tracker.units.models import Unit

# scrypt with N=2**16, r=8, p=1: ASVS 4.0.3 V2.4.6's floor (Werkzeug's plain "scrypt" is N=2**15).
# Hashes made with other parameters still verify: each hash names its own.
PASSWORD_HASH_METHOD = "scrypt:65536:8:1"


class User(UserMixin, Base):
    """A person who signs in; unit roles carry their unit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(string_enum(Role, "role"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    display_name: Mapped[Optional[str]] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Bumped on logout and password change, so that old session cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # An initial or reset password an admin chose (ASVS 2.3.1): the user must replace it at first
    # use, and can do nothing else until they have (tracker.accounts.must_change).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The TOTP second factor (RFC 6238, tracker.accounts.mfa): the base32 secret, kept as is (the
    # server must read it back to check a code; see mfa.py), and the last time step a code was
    # accepted for, so that a code is never accepted twice (ASVS 2.8.4).
    totp_secret: Mapped[Optional[str]] = mapped_column(EncryptedText())
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Optional[Unit]] = relationship()

    def set_password(self, password: str) -> None:
        """Hash and store a password (scrypt with a random 16-character salt, PASSWORD_HASH_METHOD)."""
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)

    def check_password(self, password: str) -> bool:
        """Return whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login identity: the id with the session version, so logout ends old sessions."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
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
    def jurisdiction_label(self) -> Optional[str]:
        """An office user's jurisdiction (辖区) as shown: the name of the area node they serve, or 全部
        (the whole tree); None for unit users and admins."""
        if self.role not in AREA_ROLES:
            return None
        return self.unit.name if self.unit is not None else "全部"

    @property
    def is_unit_role(self) -> bool:
        """Whether this user acts for a responsible unit."""
        return self.role in UNIT_ROLES


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored.

    A token is live until it is revoked or `expires_at` passes (TRACKER_TOKEN_HOURS after it was
    issued); `last_used_at` (set at its issue) moves at most once a minute; `label` is the client's
    User-Agent, so that its owner can tell their tokens apart when revoking one.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    label: Mapped[Optional[str]] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class UserSession(Base):
    """A page session (a signed-in browser), so that its owner can see where they are signed in and
    end any of them (ASVS 3.3.4). Only the SHA-256 of the session's random id is kept; the id itself
    rides in the signed session cookie.

    A session is live while it has not been ended, was begun under the user's current session version
    (logout, a password change or reset, and deactivation bump it and so end every session at once)
    and is younger than the absolute limit. The user loader refuses a cookie whose session is ended.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ip: Mapped[Optional[str]] = mapped_column(String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(String(200))
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
