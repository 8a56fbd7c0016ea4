"""The outbox: mail rows written in the transaction of their cause, and the services of the mail log.

`queue` inserts mails and notices with "on conflict do nothing" on their unique
keys, so queuing the same mail twice (a job run repeated, two runs at once)
leaves one row.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.addresses import normalize_address
from tracker.core.enums import MailStatus
from tracker.core.errors import Refusal
from tracker.core.labels import MAIL_KIND_LABELS, MAIL_STATUS_LABELS
from tracker.core.permissions import Permission
from tracker.core.sql import insert_ignore
from tracker.notify.message import clean_header
from tracker.notify.models import Notice, Outbox

log = logging.getLogger(__name__)


PENDING, SENDING, SENT, FAILED = MailStatus.PENDING, MailStatus.SENDING, MailStatus.SENT, MailStatus.FAILED
STATUS_LABELS = MAIL_STATUS_LABELS
KIND_LABELS = MAIL_KIND_LABELS


@dataclass(frozen=True)
class MailConfig:
    """Mail settings: from the app config (SMTP_URL, MAIL_FROM, ...) or the TRACKER_* environment."""

    smtp_url: Optional[str]
    mail_from: str
    base_url: str
    max_age: timedelta
    batch_size: int = 50


def mail_config(config: Mapping[str, Any]) -> MailConfig:
    """Read the mail settings; a key in the app config wins over the environment."""
    def pick(key: str, env: str, default: Any = None) -> Any:
        if key in config:
            return config[key]
        return os.environ.get(env, default)

    smtp_url = pick("SMTP_URL", "TRACKER_SMTP_URL") or None
    hours = pick("MAIL_MAX_AGE_HOURS", "TRACKER_MAIL_MAX_AGE_HOURS", 48)
    try:
        max_age = timedelta(hours=float(hours))
    except (TypeError, ValueError):
        log.warning("TRACKER_MAIL_MAX_AGE_HOURS=%r is not a number; using 48", hours)
        max_age = timedelta(hours=48)
    return MailConfig(
        smtp_url=smtp_url,
        mail_from=pick("MAIL_FROM", "TRACKER_MAIL_FROM") or "tracker@localhost.localdomain",
        base_url=str(config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        max_age=max_age,
    )


@dataclass(frozen=True)
class Mail:
    """A mail to queue: what it is about (kind, ref), to whom, and its rendered parts."""

    kind: str
    ref: str
    to_addr: str
    subject: str
    text: str
    html: str
    to_name: Optional[str] = None
    user_id: Optional[int] = None
    unit_id: Optional[int] = None
    issue_id: Optional[int] = None


@dataclass(frozen=True)
class NoticeDraft:
    """An in-app notice to queue for a user."""

    user_id: int
    kind: str
    ref: str
    title: str
    body: str = ""
    link: Optional[str] = None
    issue_id: Optional[int] = None


def _insert_new(session: Session, model: Any, rows: list[dict]) -> int:
    """Insert the rows, ignoring those whose unique key exists; return how many were new.

    One cached statement run over all rows (SQLAlchemy batches them into multi-row
    INSERTs); RETURNING yields only the rows actually inserted.
    """
    return len(session.execute(insert_ignore(session, model).returning(model.id), rows).all())


def queue(session: Session, mails: Iterable[Mail], notices: Iterable[NoticeDraft], now: datetime,
          config: MailConfig) -> tuple[int, int]:
    """Insert mails and notices, skipping any already there (same unique key).

    Returns how many mails and notices were new. Core inserts: nothing is loaded.
    """
    rows = []
    seen: set[tuple[str, str, str]] = set()
    for mail in mails:
        addr = normalize_address(mail.to_addr)
        if addr is None:
            log.warning("not queuing %s mail %s: bad address %r", mail.kind, mail.ref, mail.to_addr)
            continue
        key = (mail.kind, addr.lower(), mail.ref)
        if key in seen:
            continue
        seen.add(key)
        rows.append({
            "kind": mail.kind, "to_addr": addr.lower(), "ref": mail.ref,
            "to_name": clean_header(mail.to_name, 200) or None,
            "user_id": mail.user_id, "unit_id": mail.unit_id, "issue_id": mail.issue_id,
            "subject": clean_header(mail.subject, 300), "body_text": mail.text, "body_html": mail.html,
            "status": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now,
            "give_up_at": now + config.max_age,
        })
    new_mails = _insert_new(session, Outbox, rows) if rows else 0
    notice_rows = []
    seen_notices: set[tuple[int, str, str]] = set()
    for n in notices:
        key = (n.user_id, n.kind, n.ref)
        if key in seen_notices:
            continue
        seen_notices.add(key)
        notice_rows.append({
            "user_id": n.user_id, "kind": n.kind, "ref": n.ref, "title": clean_header(n.title, 300),
            "body": n.body, "link": n.link, "issue_id": n.issue_id, "created_at": now, "read_at": None,
        })
    new_notices = _insert_new(session, Notice, notice_rows) if notice_rows else 0
    return new_mails, new_notices


# --- the mail log (admins) ---------------------------------------------------

def _require_admin(actor: Optional[User]) -> None:
    permissions.require(actor, Permission.ADMINISTER, message="您的角色无权查看或重发邮件。")


def status_counts(session: Session, actor: Optional[User]) -> dict[str, int]:
    """How many mails are in each status (one grouped query)."""
    _require_admin(actor)
    counts = {status: 0 for status in STATUS_LABELS}
    for status, count in session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)):
        counts[status] = int(count)
    return counts


def list_mail(session: Session, actor: Optional[User], status: Optional[str] = None, page: int = 1,
              per_page: int = 50) -> tuple[list[Outbox], int]:
    """One page of the outbox, newest first, optionally of one status, with the total."""
    _require_admin(actor)
    stmt = select(Outbox)
    count = select(func.count()).select_from(Outbox)
    if status:
        if status not in STATUS_LABELS:
            raise Refusal("invalid", "未知的邮件状态。", "status")
        stmt = stmt.where(Outbox.status == status)
        count = count.where(Outbox.status == status)
    total = session.scalar(count) or 0
    page = max(1, int(page))
    rows = list(session.scalars(stmt.order_by(Outbox.id.desc()).limit(per_page).offset((page - 1) * per_page)))
    return rows, total


def retry_mail(session: Session, actor: Optional[User], outbox_id: int, now: datetime,
               config: MailConfig) -> Outbox:
    """Put a failed (or waiting) mail back in the queue now, with a fresh maximum age."""
    _require_admin(actor)
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise Refusal("not_found", "邮件不存在。")
    if row.status == SENT:
        raise Refusal("conflict", "该邮件已发送,无需重发。")
    if row.status == SENDING:
        raise Refusal("conflict", "该邮件正在发送中,请稍后刷新查看。")
    row.status = PENDING
    row.next_attempt_at = now
    row.give_up_at = now + config.max_age
    row.claim_token = None
    row.claimed_at = None
    session.flush()
    return row


def retry_failed(session: Session, actor: Optional[User], now: datetime, config: MailConfig) -> int:
    """Put every failed mail back in the queue; return how many."""
    _require_admin(actor)
    from sqlalchemy import update

    result = session.execute(
        update(Outbox).where(Outbox.status == FAILED).values(
            status=PENDING, next_attempt_at=now, give_up_at=now + config.max_age,
            claim_token=None, claimed_at=None)
    )
    return int(result.rowcount or 0)
