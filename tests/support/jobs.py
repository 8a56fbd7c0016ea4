"""Helpers for the tests of the day's jobs and the mail: a loopback SMTP server (aiosmtpd) that
keeps what it receives, running the jobs of a day, and reading the outbox, notices and timeline.

The fixtures built on them (`jobs_app`, `smtp_server`, `smtp_down`) are in tests/conftest.py.
"""
from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Optional

from sqlalchemy import func, select

from tests.support.factories import make_unit, make_user
from tracker.core.extensions import db
from tracker.escalation.runner import run_day
from tracker.issues.models import Event
from tracker.notify.models import Notice, Outbox

BASE_URL = "https://tracker.example.org"
MAIL_FROM = "督察整改办 <tracker@example.org>"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class Sink:
    """The aiosmtpd handler: keeps every message."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=default_policy)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpServer:
    """A loopback SMTP server that can be started late (to play "the server was down")."""

    def __init__(self, port: Optional[int] = None, **smtp_kwargs):
        self.port = port or free_port()
        self.sink = Sink()
        self.smtp_kwargs = smtp_kwargs
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    @property
    def messages(self) -> list[Received]:
        return self.sink.messages

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, **self.smtp_kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, addr: str) -> list[Received]:
        """The messages delivered to `addr`."""
        return [m for m in self.messages if addr.lower() in (r.lower() for r in m.rcpt_tos)]


def run(app, clock, day: date, **kwargs):
    """Run the jobs for `day` with the clock at 08:30 Beijing time of that day."""
    clock.set(f"{day:%Y-%m-%d}T00:30:00")
    return run_day(db.session, day, app.config, now=clock(), **kwargs)


def count(model, *where) -> int:
    """Rows of a table, read afresh."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def outbox(*where) -> list[Outbox]:
    """Outbox rows, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(Outbox).where(*where).order_by(Outbox.id)))


def events(issue_id: int, *actions: str) -> list[Event]:
    """An issue's timeline entries of these actions."""
    db.session.expire_all()
    stmt = select(Event).where(Event.issue_id == issue_id)
    if actions:
        stmt = stmt.where(Event.action.in_(actions))
    return list(db.session.scalars(stmt.order_by(Event.id)))


def notices(user_id: int) -> list[Notice]:
    """A user's notices."""
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)))


def team(email_prefix: str = "a", unit=None):
    """A unit with staff and head (with addresses) and its own mailbox."""
    unit = unit or make_unit(email=f"{email_prefix}-office@example.org")
    staff = make_user("unit_staff", unit=unit, email=f"{email_prefix}-staff@example.org")
    head = make_user("unit_head", unit=unit, email=f"{email_prefix}-head@example.org")
    return unit, staff, head


def recipients(kind: str, issue_id=None) -> list[str]:
    """The addresses of the outbox rows of this kind (and issue), sorted."""
    rows = outbox(Outbox.kind == kind, *([Outbox.issue_id == issue_id] if issue_id else []))
    return sorted(r.to_addr for r in rows)
