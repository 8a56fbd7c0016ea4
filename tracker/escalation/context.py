"""What every step of a daily run shares: the day, the clocks, the settings, who receives what, and delivery."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Optional
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, false, select

from tracker.core.addresses import normalize_address
from tracker.core.extensions import DbSession
from tracker.core.labels import LIGHT_LABELS
from tracker.escalation.settings import JobSettings
from tracker.issues.figures import Figures
from tracker.issues.models import Issue
from tracker.issues.scoping import area_issues
from tracker.notify.models import Notice, Outbox
from tracker.notify.outbox import Mail, MailConfig, NoticeDraft, queue
from tracker.notify.prefs import wants_digest
from tracker.notify.recipients import Directory, Recipient, unique
from tracker.notify.render import MailContent, MailItem, render

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """One run of the jobs for `today`; `now` is the wall clock, `event_at` the time put on events."""

    session: DbSession
    today: date
    now: datetime
    event_at: datetime
    config: Mapping[str, Any]
    settings: JobSettings
    mail: MailConfig
    directory: Directory
    fig: Figures
    batch_size: int = 500
    heartbeat: Optional[Callable[[], None]] = None
    stats: Counter = field(default_factory=Counter)
    # Mails and notices of the current batch, inserted by `commit` in the batch's transaction.
    _mails: list[Mail] = field(default_factory=list)
    _notices: list[NoticeDraft] = field(default_factory=list)

    @property
    def period(self) -> str:
        """This month as a report period, YYYY-MM."""
        return f"{self.today:%Y-%m}"

    def commit(self) -> None:
        """End a batch: insert its mails and notices, commit with the rest, renew the lease.

        The session's identity map holds committed objects weakly, so the batch's
        issues are freed once the batch drops them: memory stays flat.
        """
        self.flush_mail()
        self.session.commit()
        if self.heartbeat:
            self.heartbeat()

    def flush_mail(self) -> None:
        """Insert the batch's mails and notices (duplicates of earlier ones are skipped) and count the new."""
        for kind in sorted({m.kind for m in self._mails} | {n.kind for n in self._notices}):
            new_mails, new_notices = queue(self.session, [m for m in self._mails if m.kind == kind],
                                           [n for n in self._notices if n.kind == kind], self.now, self.mail)
            self.stats[f"mails.{kind}"] += new_mails
            self.stats[f"notices.{kind}"] += new_notices
        self._mails.clear()
        self._notices.clear()

    def discard(self) -> None:
        """Forget the batch's mails and notices (its transaction was rolled back)."""
        self._mails.clear()
        self._notices.clear()

    def delivered(self, kind: str, ref_prefix: str) -> dict[str, set]:
        """What is already queued of `kind` under refs starting with `ref_prefix`:
        ref -> the addresses mailed and ("user", id) of the users noticed. Two queries."""
        like = ref_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        out: dict[str, set] = {}
        for ref, addr in self.session.execute(select(Outbox.ref, Outbox.to_addr).where(
                Outbox.kind == kind, Outbox.ref.like(like, escape="\\"))):
            out.setdefault(ref, set()).add(addr)
        for ref, user_id in self.session.execute(select(Notice.ref, Notice.user_id).where(
                Notice.kind == kind, Notice.ref.like(like, escape="\\"))):
            out.setdefault(ref, set()).add(("user", user_id))
        return out

    @staticmethod
    def wanted(people: Iterable[Recipient]) -> set:
        """What delivering to these people queues, in the form of `delivered`."""
        out: set = set()
        for r in people:
            addr = normalize_address(r.email)
            if addr:
                out.add(addr.lower())
            if r.user_id is not None:
                out.add(("user", r.user_id))
        return out

    def area_scope(self, area: Optional[int]) -> tuple[Optional[ColumnElement[bool]], str]:
        """The issues of an office's jurisdiction, the subtree of area node `area` (None: the whole tree,
        no condition), and how mails name it; a node this run has not loaded gives nothing (next run)."""
        path = self.directory.area_path(area)
        if path is None:
            return None, "全部责任单位"
        if not path:
            return false(), ""
        return area_issues(path), f"{self.directory.unit_name(area)}辖区"

    def issue_link(self, issue_id: int) -> str:
        """The absolute link of an issue page."""
        return f"{self.mail.base_url}/issues/{issue_id}"

    def list_link(self, **args: Any) -> str:
        """The absolute link of the issue list with these filters."""
        query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
        return f"{self.mail.base_url}/issues/" + (f"?{query}" if query else "")

    def item(self, issue: Issue, days_overdue: Any = 0, light: Optional[str] = None, note: str = "",
             unit_name: str = "") -> MailItem:
        """An issue as a mail row."""
        return MailItem(
            code=issue.code, title=issue.title, link=self.issue_link(issue.id),
            light_label=LIGHT_LABELS.get(light or "", ""), deadline=issue.deadline.isoformat(),
            days_overdue=int(days_overdue or 0), progress=issue.progress_percent,
            unit=unit_name or self.directory.unit_name(issue.lead_unit_id), note=note,
        )

    def deliver(self, recipients: Iterable[Recipient], *, kind: str, ref: str, content: MailContent,
                link: str, issue_id: Optional[int] = None, unit_id: Optional[int] = None,
                notice_body: str = "", show_unit: bool = False, digest: bool = False,
                with_notices: bool = True) -> int:
        """Queue the mail to each recipient with an address and (unless `with_notices` is off) a notice to
        each user, for the batch's commit; return how many mails were prepared (those sent before are
        skipped then).

        With digest=True, users whose preference skips today get neither.
        """
        people = unique(recipients)
        if digest:
            people = [r for r in people if r.user_id is None or wants_digest(r.digest, self.today)]
        if not people:
            return 0
        text, html = render(content, show_unit=show_unit)
        mails = [Mail(kind=kind, ref=ref, to_addr=r.email, subject=content.subject, text=text, html=html,
                      to_name=r.name, user_id=r.user_id, unit_id=r.unit_id or unit_id, issue_id=issue_id)
                 for r in people if r.email]
        notices = [NoticeDraft(user_id=r.user_id, kind=kind, ref=ref, title=content.subject, body=notice_body,
                               link=link, issue_id=issue_id)
                   for r in people if r.user_id is not None and with_notices]
        self._mails.extend(mails)
        self._notices.extend(notices)
        return len(mails)
