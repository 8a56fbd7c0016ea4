"""What the pages of reminders, escalations and mail need beyond the jobs' own services.

The mail log's server status and single mail, the safe target of a notice's link,
an issue's escalation record in one query, and the leaders' board on the home
page. Rules (who may see what) are checked here, never in templates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Optional

from sqlalchemy import literal, null, select, union_all
from sqlalchemy.orm import Session

from tracker import workflow
from tracker.jobs import flags
from tracker.mail.outbox import SENT, mail_config
from tracker.mail.smtpurl import MailConfigError, parse_smtp_url
from tracker.models import Issue, Unit, User
from tracker.notify_models import Escalation, Outbox, ReportLateness, UnitEscalation
from tracker.workflow import Refusal

HOME_BOARD_ROLES = ("leader", "supervisor")
LATE_KIND = "report_late"


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
    if not workflow.may_administer(actor.role):
        raise Refusal("forbidden", "只有系统管理员可以查看邮件日志和重发邮件。")


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


# --- notices -----------------------------------------------------------------

def safe_local_link(link: Optional[str]) -> Optional[str]:
    """A notice's link if it is a path on this site, else None (never an open redirect)."""
    if not link:
        return None
    link = link.strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    if any(ch in link for ch in "\r\n\t") or any(ord(ch) < 32 for ch in link):
        return None
    return link


# --- the issue page ----------------------------------------------------------

@dataclass(frozen=True)
class EscalationEntry:
    """A reminder or escalation that fired for an issue."""

    kind: str
    key: Optional[str]
    period: Optional[str]
    on: date

    @property
    def kind_label(self) -> str:
        """The kind in Chinese."""
        return flags.ESCALATION_LABELS.get(self.kind, self.kind)

    @property
    def when_label(self) -> str:
        """Which ladder level or report period it concerns, in Chinese."""
        if self.period:
            return f"{self.period} 月度进展"
        key = self.key or ""
        sign = max(key.rfind("+"), key.rfind("-"))
        if sign > 0:
            try:
                offset = int(key[sign:])
            except ValueError:
                return ""
            if offset < 0:
                return f"整改时限前 {-offset} 天"
            return "整改时限当天" if offset == 0 else f"逾期 {offset} 天"
        return ""


@dataclass
class EscalationRecord:
    """An issue's escalations (oldest first), its late report periods, and the 挂牌督办 flag."""

    entries: list[EscalationEntry] = field(default_factory=list)
    late_periods: set[str] = field(default_factory=set)
    supervised: bool = False


def escalation_record(session: Session, issue: Issue) -> EscalationRecord:
    """An issue's escalations and late report periods (`flags.late_periods`), read in one query.

    The issue page keeps a fixed query count, so both come back from one UNION ALL
    (a row of the second part only names a period whose report came late).
    """
    escalations = select(Escalation.kind.label("kind"), Escalation.key.label("key"),
                         Escalation.period.label("period"), Escalation.fired_on.label("on"),
                         literal(0).label("late"), Escalation.id.label("id")) \
        .where(Escalation.issue_id == issue.id)
    lateness = select(literal(LATE_KIND).label("kind"), null().label("key"),
                      ReportLateness.period.label("period"), ReportLateness.due_on.label("on"),
                      literal(1).label("late"), ReportLateness.id.label("id")) \
        .where(ReportLateness.issue_id == issue.id)
    both = union_all(escalations, lateness).subquery()
    record = EscalationRecord()
    for kind, key, period, on, late, _ in session.execute(
            select(both).order_by(both.c.late, both.c.on, both.c.id)).all():
        if late:
            record.late_periods.add(period)
        else:
            record.entries.append(EscalationEntry(kind, key, period, on))
    record.supervised = issue.state != workflow.CLOSED and any(
        e.kind in flags.SUPERVISION_KINDS for e in record.entries)
    return record


# --- the home page -----------------------------------------------------------

@dataclass
class LeaderBoard:
    """For leaders and the office: interview / public notice items and unit supervision orders."""

    items: list[flags.EscalationItem]
    total: int
    orders: list[tuple[Unit, UnitEscalation]]


def leader_board(session: Session, user: User, limit: int = 10) -> Optional[LeaderBoard]:
    """The home page's escalation board for leaders and supervisors; None for other roles."""
    if user.role not in HOME_BOARD_ROLES:
        return None
    items, total = flags.escalation_items(session, user, limit=limit)
    return LeaderBoard(items=items, total=total, orders=flags.unit_orders(session, limit=limit))
