"""Fixtures and helpers for the tests of the jobs and the mail (no tests here).

`smtp_server` is a real SMTP server (aiosmtpd) on loopback that keeps what it receives;
`jobs_app` sets the mail configuration of the test app (no server unless a test says so).
"""
from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Optional

import pytest
from sqlalchemy import func, select

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

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
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

    def start(self) -> "SmtpServer":
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


@pytest.fixture
def smtp_server():
    """A running SMTP server on a free loopback port."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """An SMTP server not yet started: its port refuses connections until the test starts it."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def jobs_app(app):
    """The test app with mail settings: absolute links, a sender, and no SMTP server."""
    app.config.update(BASE_URL=BASE_URL, MAIL_FROM=MAIL_FROM, SMTP_URL=None, MAIL_MAX_AGE_HOURS=48)
    return app


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
