"""What the pages of reminders, escalations and mail need beyond the jobs' own services.

The mail log's server status and single mail, the safe target of a notice's link,
an issue's escalation record in one query, and the leaders' board on the home
page. Rules (who may see what) are checked here, never in templates.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.errors import Refusal
from tracker.core.permissions import Permission
from tracker.notify.models import Outbox
from tracker.notify.outbox import SENT, mail_config
from tracker.notify.smtpurl import MailConfigError, parse_smtp_url

# --- the mail log ------------------------------------------------------------

@dataclass(frozen=True)
class MailServerStatus:
    """Whether mail leaves the outbox, where to, and what is wrong with the setting if anything."""

    configured: bool
    description: Optional[str] = None  # the server without its password
    error: Optional[str] = None  # why the configured URL cannot be used (Chinese)


def mail_server_status(config: Mapping[str, Any]) -> MailServerStatus:
    """Read TRACKER_SMTP_URL (through the mail config) and say whether it can be used."""
    url = mail_config(config).smtp_url
    if not url:
        return MailServerStatus(configured=False)
    try:
        settings = parse_smtp_url(url)
    except MailConfigError as exc:
        return MailServerStatus(configured=True, error=str(exc))
    return MailServerStatus(configured=True, description=settings.describe())


def _require_admin(actor: User) -> None:
    permissions.require(actor, Permission.ADMINISTER, doing="查看邮件日志和重发邮件")


def get_mail(session: Session, actor: User, outbox_id: int) -> Outbox:
    """One outbox row for the mail log's detail page (admins only)."""
    _require_admin(actor)
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise Refusal("not_found", "邮件不存在。")
    return row


@dataclass(frozen=True)
class MailError:
    """The most recent sending error of a mail not yet sent (to say on the log why mail waits)."""

    error: str
    outbox_id: int
    next_attempt_at: Any


def latest_mail_error(session: Session, actor: User) -> Optional[MailError]:
    """The newest error recorded on a mail that is still unsent, if any (one query)."""
    _require_admin(actor)
    row = session.execute(
        select(Outbox.last_error, Outbox.id, Outbox.next_attempt_at)
        .where(Outbox.status != SENT, Outbox.last_error.is_not(None))
        .order_by(Outbox.id.desc()).limit(1)
    ).first()
    return MailError(row[0], row[1], row[2]) if row else None
