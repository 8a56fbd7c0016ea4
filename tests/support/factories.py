"""Factory functions with overridable defaults; each flushes and returns the object."""
from __future__ import annotations

import functools
import io
import itertools
from datetime import UTC, date, datetime
from typing import Optional

import pyotp
from werkzeug.security import generate_password_hash

from tracker.accounts.models import PASSWORD_HASH_METHOD, User
from tracker.core import clock
from tracker.core.extensions import db
from tracker.issues.models import Attachment, Issue, IssueUnit, ProgressReport
from tracker.rounds.models import Round
from tracker.units.models import Unit

PASSWORD = "password123"
# The second factor every admin made here has (admins must have one); others may be given `totp_secret=`.
# Codes come from `totp_code(secret, now)` at the injected clock's time, never the wall clock.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_seq = itertools.count(1)

# The smallest well-formed PDF header filetype recognises.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@functools.lru_cache(maxsize=1)
def _default_hash() -> str:
    return generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)


def make_unit(code: Optional[str] = None, name: Optional[str] = None, parent: Optional[Unit] = None,
              email: Optional[str] = None, level: Optional[str] = None) -> Unit:
    """A responsible unit (its level, when not given, is the parent's; `city` at a root)."""
    n = next(_seq)
    unit = Unit(code=code or f"U{n:03d}", name=name or f"测试单位{n}", parent_id=parent.id if parent else None,
                email=email, level=level)
    db.session.add(unit)
    db.session.flush()
    return unit


def make_user(role: str = "unit_staff", unit: Optional[Unit] = None, username: Optional[str] = None,
              password: str = PASSWORD, **fields) -> User:
    """A user; unit roles get a new unit unless one is given. Admins have the second factor TOTP_SECRET
    unless `totp_secret` says otherwise (None: an admin who has not enrolled)."""
    n = next(_seq)
    if role == "admin":
        fields.setdefault("totp_secret", TOTP_SECRET)
    if role in ("unit_staff", "unit_head") and unit is None:
        unit = make_unit()
    user = User(username=username or f"{role}{n}", role=role, unit_id=unit.id if unit else None, **fields)
    if password == PASSWORD:
        user.password_hash = _default_hash()  # scrypt is slow by design; hash the shared one once
    else:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def totp_code(secret: str = TOTP_SECRET, now: Optional[datetime] = None, steps: int = 0) -> str:
    """The code of `secret` at `now` (the injected clock's naive-UTC time; default: the app's clock),
    `steps` time steps later or earlier."""
    moment = (now or clock.now()).replace(tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(moment) + steps)


def make_round(name: Optional[str] = None, level: str = "central", kind: str = "regular",
               feedback_date: date = date(2016, 11, 30)) -> Round:
    """An inspection round."""
    n = next(_seq)
    round_ = Round(name=name or f"第{n}轮督察", level=level, kind=kind, feedback_date=feedback_date)
    db.session.add(round_)
    db.session.flush()
    return round_


def make_issue(lead_unit: Optional[Unit] = None, round: Optional[Round] = None,
               cooperating: tuple[Unit, ...] = (), **fields) -> Issue:
    """An issue in progress, due 2020-12-31, assigned 2020-01-01, unless overridden."""
    n = next(_seq)
    values = dict(
        code=f"T{n:04d}", title=f"测试问题{n}", description="问题描述", category="feedback",
        rectify_type="deadline", deadline=date(2020, 12, 31), assigned_on=date(2020, 1, 1),
        state="in_progress", progress_percent=0, target="整改目标", measures="整改措施",
    )
    values.update(fields)
    issue = Issue(round_id=(round or make_round()).id, lead_unit_id=(lead_unit or make_unit()).id, **values)
    db.session.add(issue)
    db.session.flush()
    for unit in cooperating:
        db.session.add(IssueUnit(issue_id=issue.id, unit_id=unit.id))
    db.session.flush()
    return issue


def make_report(issue: Issue, period: str = "2020-06", percent: int = 50, text: str = "进展顺利",
                author: Optional[User] = None) -> ProgressReport:
    """A progress report (written directly, not through the service)."""
    report = ProgressReport(issue_id=issue.id, period=period, percent=percent, text=text,
                            author_id=author.id if author else None, created_at=datetime(2020, 6, 10))
    db.session.add(report)
    db.session.flush()
    return report


def make_attachment(issue: Issue, filename: str = "证明.pdf") -> Attachment:
    """An evidence row (no file on disk)."""
    att = Attachment(issue_id=issue.id, sha256="0" * 64, filename=filename, content_type="application/pdf",
                     size=10)
    db.session.add(att)
    db.session.flush()
    return att


def pdf_file(name: str = "证明.pdf") -> tuple[io.BytesIO, str]:
    """An in-memory PDF upload, as the test client takes it."""
    return io.BytesIO(PDF_BYTES), name
