"""Building mail: clean headers, checked addresses, HTML with a plain-text alternative.

No CR, LF or other control character from a name or title can reach a header:
every header value goes through `clean_header`, addresses are checked strictly,
and the `email` package (policy SMTP) folds and encodes what is left.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Optional

from tracker.core.addresses import normalize_address, valid_address  # noqa: F401  (re-exported)

# Control characters, including the Unicode line and paragraph separators some mailers honour.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


_SPACES = re.compile(r"\s+")


SUBJECT_LIMIT = 200


def clean_header(value: Optional[str], limit: int = SUBJECT_LIMIT) -> str:
    """A header-safe one-line version of `value`: control characters become spaces, trimmed."""
    value = _CONTROL.sub(" ", str(value or ""))
    value = _SPACES.sub(" ", value).strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def parse_from(mail_from: str) -> Address:
    """The sender from TRACKER_MAIL_FROM ("名称 <addr>" or "addr"); ValueError when unusable."""
    name, addr = parseaddr(clean_header(mail_from, 300))
    if not valid_address(addr):
        raise ValueError("发件人地址 TRACKER_MAIL_FROM 格式不正确。")
    return Address(display_name=clean_header(name, 100), addr_spec=addr)


def build_message(
    *,
    mail_from: str,
    to_addr: str,
    to_name: Optional[str],
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: Optional[datetime] = None,
) -> EmailMessage:
    """An RFC 5322 message: UTF-8 text part and HTML alternative, every header cleaned."""
    if not valid_address(to_addr):
        raise ValueError("收件人地址格式不正确。")
    sender = parse_from(mail_from)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = Address(display_name=clean_header(to_name, 100), addr_spec=to_addr)
    msg["Subject"] = clean_header(subject)
    msg["Date"] = format_datetime((date or datetime.now(UTC)).replace(tzinfo=UTC))
    msg["Message-ID"] = clean_header(message_id, 250)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def message_id(outbox_id: int, created_at: datetime, mail_from: str) -> str:
    """A Message-ID fixed per outbox row, so a mail repeated after a crash can be recognised."""
    try:
        domain = parse_from(mail_from).domain
    except ValueError:
        domain = "tracker.invalid"
    return f"<outbox-{outbox_id}-{created_at:%Y%m%d%H%M%S}@{domain}>"
