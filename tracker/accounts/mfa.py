"""The TOTP second factor (RFC 6238; ASVS 4.3.1 and 2.8.x): enrolment, checking a code, disabling and
resetting it. Required for admins (`required`), optional for everyone else.

Codes are 6 digits for 30-second time steps (SHA-1, what every authenticator app reads from the
provisioning URI); one step either side of now is accepted for clock drift, and never a step at or
before the last one accepted (`totp_last_step`), so that a code seen over a shoulder or replayed
within its window is refused (2.8.4). Times come from the caller (the app's clock), never the wall
clock of this module, so that tests can pin them.

The secret is kept encrypted in users.totp_secret (`tracker.core.sql.EncryptedText`, ASVS 2.8.2)
under FIELD_KEY, a key of its own held outside the database (TRACKER_FIELD_KEY or
instance/field_key, mode 0600) and not derived from SECRET_KEY, so that rotating the session key
locks no one out and a copy of the database alone yields no seed. It is never logged, shown again
after enrolment, or sent by the API.
"""
from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any, Optional

import pyotp
import segno

from tracker.accounts import services as accounts
from tracker.accounts.events import SELF, CredentialsChanged
from tracker.accounts.models import User
from tracker.core import events, permissions
from tracker.core.enums import Role
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Permission
from tracker.core.security_log import security_event

ISSUER = "督察反馈问题整改系统"
# One step either side of now (ASVS 2.8.1's "defined lifetime": at most 90 seconds).
VALID_WINDOW = 1
WRONG_CODE = "动态验证码不正确或已使用,请输入验证器上最新的 6 位数字。"


def required(user: Any) -> bool:
    """Whether this user must have a second factor (admins: ASVS 4.3.1)."""
    return getattr(user, "role", None) == Role.ADMIN


def enrolled(user: Any) -> bool:
    """Whether this user has a second factor."""
    return bool(getattr(user, "totp_secret", None))


def needs_enrolment(user: Any) -> bool:
    """Whether this signed-in user may do nothing but enrol (an admin without a second factor)."""
    return required(user) and not enrolled(user)


def new_secret() -> str:
    """A fresh random secret: 32 base32 characters, 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32()


def provisioning_uri(username: str, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG in a data: URI (the CSP allows `img-src data:`; no script)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _utc(now: datetime) -> datetime:
    # The app's times are naive UTC; pyotp would read a naive time as local time.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def matching_step(secret: str, code: Any, now: datetime, last_step: Optional[int] = None) -> Optional[int]:
    """The time step (within VALID_WINDOW of now, after `last_step`) whose code `code` is, or None."""
    code = str(code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(_utc(now))
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Compare every candidate in constant time; a step already used never matches again.
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            return step
    return None


def check_code(user: User, code: Any, now: datetime) -> bool:
    """Check the user's code and, when it is right, record its step so that it cannot be used again.

    The caller logs the outcome (`failure_reason` says why a code was refused), counts a failure and
    commits."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def failure_reason(user: User, code: Any, now: datetime) -> str:
    """Why `check_code` refused this code, for the security log: "reused" (a right code of a step
    already used: ASVS 2.8.5) or "wrong"."""
    if user.totp_secret and user.totp_last_step is not None and matching_step(user.totp_secret, code, now):
        return "reused"
    return "wrong"


def report_reuse(session: DbSession, user: User, now: datetime, ip: Optional[str]) -> None:
    """A right code was given again after its step had been used (ASVS 2.8.5): tell its holder (a
    notice and a mail, through the CredentialsChanged event). The caller commits; one notice per time
    step, however often the code is tried again."""
    events.publish(session, CredentialsChanged(at=now, actor_id=None, user_id=user.id, what="mfa_reused",
                                               how=SELF, ref=f"mfa-reused:{user.totp_last_step}", ip=ip))


def enrol(session: DbSession, user: User, secret: Any, code: Any, now: datetime) -> None:
    """Save a second factor after the user proved, with one code, that their app holds `secret`."""
    if enrolled(user):
        raise Refusal("conflict", "您已启用双因素认证。")
    if not isinstance(secret, str) or len(secret) < 26:
        raise Refusal("invalid", "页面已过期,请重新扫描二维码。")
    step = matching_step(secret, code, now)
    if step is None:
        security_event("mfa_failed", level=logging.WARNING, user=user.username, doing="enrol")
        raise Refusal("invalid", WRONG_CODE, "code")
    user.totp_secret = secret
    user.totp_last_step = step
    session.flush()
    security_event("mfa_enrolled", user=user.username)


def disable(session: DbSession, user: User, password: Any, code: Any, now: datetime) -> None:
    """Remove one's own second factor, with the current password and a code; admins may not."""
    if required(user):
        raise Refusal("invalid", "系统管理员必须使用双因素认证,不能停用。")
    if not enrolled(user):
        raise Refusal("conflict", "您尚未启用双因素认证。")
    if not isinstance(password, str) or not user.check_password(password):
        security_event("reauth_failed", level=logging.WARNING, user=user.username, doing="mfa_disable")
        raise Refusal("invalid", "当前密码不正确。", "password")
    if not check_code(user, code, now):
        security_event("mfa_failed", level=logging.WARNING, user=user.username, doing="disable",
                       reason=failure_reason(user, code, now))
        raise Refusal("invalid", WRONG_CODE, "code")
    user.totp_secret = None
    user.totp_last_step = None
    session.flush()
    security_event("mfa_disabled", user=user.username)


def reset(session: DbSession, actor: Optional[User], user: User, *, admin_password: Any = None) -> None:
    """Remove a user's second factor (an admin, who confirms with their own password; `actor=None` is
    the command line): every session of theirs ends, so that an admin must sign in and enrol again."""
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权管理用户。")
    if actor is not None:
        accounts.confirm_password(actor, admin_password, "mfa_reset")
    if not enrolled(user):
        raise Refusal("conflict", f"用户「{user.username}」尚未启用双因素认证。")
    user.totp_secret = None
    user.totp_last_step = None
    accounts.end_sessions(user)
    session.flush()
    security_event("mfa_reset", by=actor.username if actor is not None else "command line", user=user.username)
