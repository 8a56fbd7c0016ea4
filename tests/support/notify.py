"""Helpers for the pages of the day's jobs: rows of the outbox, notices and escalations made by
hand, a table's rows to compare before and after, and the roles that are not admins."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.issues.models import Escalation
from tracker.notify.models import Notice, Outbox

NOW = datetime(2020, 7, 15, 2, 0, 0)
NON_ADMINS = ["unit_staff", "unit_head", "supervisor", "approver", "leader"]


def count(model, *where) -> int:
    """Rows of a table, read afresh."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def fresh(model, key):
    """The row as stored now."""
    db.session.expire_all()
    return db.session.get(model, key)


def snapshot(model) -> list[tuple]:
    """Every row of a table as plain tuples (to compare before and after)."""
    db.session.expire_all()
    columns = [c.key for c in model.__table__.columns]
    rows = db.session.scalars(select(model).order_by(*model.__table__.primary_key.columns))
    return [tuple(getattr(row, c) for c in columns) for row in rows]


def make_mail(status: str = "pending", to: str = "head@example.org", subject: str = "【逾期通知】T0001 测试问题",
              kind: str = "overdue", attempts: int = 0, error: Optional[str] = None, ref: Optional[str] = None,
              created: datetime = NOW, text: str = "正文:请尽快整改。") -> Outbox:
    """An outbox row (a mail) in the given status."""
    mail = Outbox(kind=kind, to_addr=to, ref=ref or f"ref-{count(Outbox)}-{subject}", to_name="张三", subject=subject,
                  body_text=text, body_html=f"<p>{text}</p>", status=status, attempts=attempts, created_at=created,
                  next_attempt_at=created, give_up_at=created + timedelta(hours=48), last_error=error,
                  sent_at=created + timedelta(minutes=1) if status == "sent" else None)
    db.session.add(mail)
    db.session.flush()
    return mail


def make_notice(user, title: str = "【逾期通知】T0001 测试问题", link: Optional[str] = "/issues/", read: bool = False,
                kind: str = "overdue", created: datetime = NOW) -> Notice:
    """A notice for `user`, unread unless `read`."""
    notice = Notice(user_id=user.id, kind=kind, ref=f"n-{count(Notice)}-{title}", title=title, body="请尽快整改。",
                    link=link, created_at=created, read_at=NOW if read else None)
    db.session.add(notice)
    db.session.flush()
    return notice


def escalate(issue, kind: str, offset: int, fired_on: date = date(2020, 7, 10)) -> Escalation:
    """A fired level of the ladder, as the jobs record it."""
    row = Escalation(issue_id=issue.id, key=f"{kind}{offset:+d}", kind=kind, fired_on=fired_on)
    db.session.add(row)
    db.session.flush()
    return row
