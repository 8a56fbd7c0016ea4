"""The dispatcher: claims due outbox rows, sends them by SMTP, marks them sent, retries with backoff.

Two dispatchers never send the same row: a batch is claimed by an UPDATE that sets
a claim token (on PostgreSQL after a SELECT ... FOR UPDATE SKIP LOCKED, so a
concurrent claimer passes over the rows; on SQLite the UPDATE re-checks that each
row is still due, and SQLite serialises writers), and
each row is committed as sent right after the server accepted it. A crash between
the server's acceptance and that commit can repeat that one mail, no other.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from tracker.notify.message import build_message, message_id, parse_from
from tracker.notify.models import Outbox
from tracker.notify.outbox import FAILED, PENDING, SENDING, SENT, MailConfig, mail_config
from tracker.notify.smtpurl import MailConfigError, SmtpSettings, parse_smtp_url

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
# A row claimed longer ago than this belongs to a dispatcher that died; it may be claimed again.
CLAIM_TIMEOUT = timedelta(minutes=30)
ERROR_LIMIT = 1000


@dataclass
class DispatchResult:
    """What one dispatch did."""

    configured: bool = True
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def open_smtp(settings: SmtpSettings) -> smtplib.SMTP:
    """Connect (TLS for smtps, STARTTLS when asked) and log in when the URL has a user."""
    context = ssl.create_default_context()
    if settings.ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: Any) -> None:
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def _due(now: datetime):
    return or_(
        and_(Outbox.status == PENDING, Outbox.next_attempt_at <= now),
        and_(Outbox.status == SENDING, Outbox.claimed_at < now - CLAIM_TIMEOUT),
    )


def claim(session: Session, now: datetime, limit: int, tries: int = 5) -> list[Outbox]:
    """Claim up to `limit` due rows for this dispatcher and commit the claim; return them.

    Empty only when no row is due: if another claimer took every row this one saw,
    it looks again.
    """
    for _ in range(tries):
        ids, rows = _claim_once(session, now, limit)
        if rows or not ids:
            return rows
    return []


def _claim_once(session: Session, now: datetime, limit: int) -> tuple[list[int], list[Outbox]]:
    token = uuid.uuid4().hex
    # Two statements, one transaction. PostgreSQL: the SELECT locks the rows it returns and
    # skips rows another claimer has locked. SQLite (no row locks): the UPDATE re-checks that
    # each row is still due, so a row another claimer took meanwhile is left alone.
    ids = list(session.scalars(select(Outbox.id).where(_due(now)).order_by(Outbox.id).limit(limit)
                               .with_for_update(skip_locked=True)))
    if not ids:
        session.commit()
        return [], []
    session.execute(
        update(Outbox).where(Outbox.id.in_(ids), _due(now))
        .values(status=SENDING, claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return ids, list(session.scalars(
        select(Outbox).where(Outbox.claim_token == token, Outbox.status == SENDING).order_by(Outbox.id)))


def _still_mine(session: Session, row: Outbox, token: str) -> bool:
    return session.scalar(select(Outbox.claim_token).where(Outbox.id == row.id)) == token


def record_failure(row: Outbox, now: datetime, error: str, permanent: bool = False) -> None:
    """Note a failed attempt: back to pending with exponential backoff, or failed for good."""
    row.attempts = (row.attempts or 0) + 1
    row.last_error = error[:ERROR_LIMIT]
    row.claim_token = None
    row.claimed_at = None
    if permanent or now >= row.give_up_at:
        row.status = FAILED
        return
    delay = min(BACKOFF_BASE * (2 ** (row.attempts - 1)), BACKOFF_CAP)
    row.status = PENDING
    # The last try is at the maximum age at the latest; failing then marks the row failed.
    row.next_attempt_at = min(now + delay, row.give_up_at)


def release(row: Outbox, error: str) -> None:
    """Give a claimed row back untried (the connection broke before its turn); not an attempt."""
    row.status = PENDING
    row.last_error = error[:ERROR_LIMIT]
    row.claim_token = None
    row.claimed_at = None


def _tally(result: DispatchResult, row: Outbox) -> None:
    if row.status == FAILED:
        result.failed += 1
    else:
        result.retrying += 1


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"邮件服务器拒绝登录(用户名或密码错误):{exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                          for code, msg in exc.recipients.values())
        return f"收件人被邮件服务器拒绝:{codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"邮件服务器返回错误 {exc.smtp_code}:{msg}"
    if isinstance(exc, (ConnectionError, TimeoutError, OSError, smtplib.SMTPServerDisconnected)):
        return f"无法连接邮件服务器:{type(exc).__name__}: {exc}"
    return f"发送失败:{type(exc).__name__}: {exc}"


def _permanent(exc: BaseException) -> bool:
    """A refusal that retrying cannot fix: every recipient refused with 5xx, or 5xx on the data."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        return exc.smtp_code >= 500
    return False


def dispatch(
    session: Session,
    now: datetime,
    config: Mapping[str, Any],
    connect: Optional[Callable[[SmtpSettings], Any]] = None,
    max_rounds: int = 10_000,
) -> DispatchResult:
    """Send every due outbox row; never raises for mail trouble, which is recorded on the rows.

    Without an SMTP URL nothing is touched: the mail waits in the outbox.
    """
    mc: MailConfig = mail_config(config)
    result = DispatchResult()
    if not mc.smtp_url:
        result.configured = False
        return result
    connect = connect or open_smtp
    setup_error: Optional[str] = None
    settings: Optional[SmtpSettings] = None
    try:
        settings = parse_smtp_url(mc.smtp_url)
        parse_from(mc.mail_from)
    except (MailConfigError, ValueError) as exc:
        setup_error = str(exc)

    for _ in range(max_rounds):
        rows = claim(session, now, mc.batch_size)
        if not rows:
            break
        if setup_error is None:
            try:
                smtp = connect(settings)  # type: ignore[arg-type]
            except Exception as exc:
                error = _error_text(exc)
            else:
                error = None
        else:
            error = setup_error
        if error is not None:
            # The server is unusable for the whole batch: note it on each row and stop for now.
            log.error("mail dispatch: %s (%d mails wait)", error, len(rows))
            result.errors.append(error)
            for row in rows:
                record_failure(row, now, error)
                _tally(result, row)
            session.commit()
            break
        stop = _send_batch(session, smtp, rows, now, mc, result)
        _close(smtp)
        if stop:
            break
    if result.sent or result.retrying or result.failed:
        log.info("mail dispatch: %d sent, %d to retry, %d failed", result.sent, result.retrying, result.failed)
    return result


def _send_batch(session: Session, smtp: Any, rows: list[Outbox], now: datetime, mc: MailConfig,
                result: DispatchResult) -> bool:
    """Send the claimed rows one by one, committing each; return True when the connection broke."""
    pending = list(rows)
    while pending:
        row = pending.pop(0)
        token = row.claim_token
        if token is None or not _still_mine(session, row, token):
            continue  # reclaimed by another dispatcher after a long stall: it is theirs now
        try:
            msg = build_message(
                mail_from=mc.mail_from, to_addr=row.to_addr, to_name=row.to_name, subject=row.subject,
                text=row.body_text, html=row.body_html,
                message_id=message_id(row.id, row.created_at, mc.mail_from), date=now,
            )
        except ValueError as exc:
            record_failure(row, now, f"邮件无法生成:{exc}", permanent=True)
            _tally(result, row)
            session.commit()
            continue
        try:
            smtp.send_message(msg, from_addr=parse_from(mc.mail_from).addr_spec, to_addrs=[row.to_addr])
        except Exception as exc:
            error = _error_text(exc)
            log.warning("mail %s to %s not sent: %s", row.id, row.to_addr, error)
            result.errors.append(error)
            broken = not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                                          smtplib.SMTPSenderRefused))
            record_failure(row, now, error, permanent=_permanent(exc))
            _tally(result, row)
            if broken:
                for other in pending:
                    release(other, error)
                session.commit()
                return True
            session.commit()
            continue
        row.status = SENT
        row.sent_at = now
        row.attempts = (row.attempts or 0) + 1
        row.claim_token = None
        session.commit()
        result.sent += 1
    return False
