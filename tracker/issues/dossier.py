"""What the pages of reminders, escalations and mail need beyond the jobs' own services.

The mail log's server status and single mail, the safe target of a notice's link,
an issue's escalation record in one query, and the leaders' board on the home
page. Rules (who may see what) are checked here, never in templates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from flask import current_app
from sqlalchemy import literal, null, select, union_all
from sqlalchemy.orm import joinedload

from tracker.accounts.models import User
from tracker.core import clock, enums, files, permissions, workflow
from tracker.core.enums import SUPERVISION_KINDS
from tracker.core.extensions import DbSession
from tracker.core.labels import ESCALATION_LABELS
from tracker.core.permissions import Permission
from tracker.issues import chain as chain_views
from tracker.issues import extensions as extension_svc
from tracker.issues import services as issue_svc
from tracker.issues.models import (
    Attachment,
    DeadlineChange,
    Escalation,
    Event,
    ExtensionRequest,
    Issue,
    ProgressReport,
    ReportLateness,
)
from tracker.issues.queries import IssueRow, issue_row
from tracker.issues.scoping import shown_events, unit_relation, visible_among, visible_issues
from tracker.units.models import Unit

LATE_KIND = "report_late"


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
        return ESCALATION_LABELS.get(self.kind, self.kind)

    @property
    def supervises(self) -> bool:
        """Whether it puts the issue under supervision (挂牌督办, 约谈/通报): the page shows it in red."""
        return self.kind in SUPERVISION_KINDS

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


def escalation_record(session: DbSession, issue: Issue) -> EscalationRecord:
    """An issue's escalations and late report periods (`figures.late_periods`), read in one query.

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
        e.kind in SUPERVISION_KINDS for e in record.entries)
    return record


MERGE_CANDIDATES_LIMIT = 200


def load_issue(session: DbSession, user: User, issue_id: int) -> Issue:
    """The issue with its round, units and people loaded; 404 (Refusal) when out of scope."""
    # Keep a reference: the identity map is weak, and the scope check below should find
    # this very object (with its relations loaded) instead of querying again.
    loaded = session.get(Issue, issue_id, options=[
        joinedload(Issue.round), joinedload(Issue.lead_unit), joinedload(Issue.merged_into),
        joinedload(Issue.verified_by),
    ])
    issue = issue_svc.get_visible_issue(session, user, issue_id)
    del loaded
    return issue


@dataclass
class MergedIssue:
    """An issue merged into the one shown; linked only when the viewer may see it."""

    id: int
    code: str
    title: str
    visible: bool


@dataclass
class Dossier:
    """Everything the issue page shows about one issue for one viewer."""

    issue: Issue
    row: IssueRow
    cooperating: list[Unit]
    events: list[Any]  # Event, or ShownEvent where a merge partner is hidden from the viewer
    reports: list[ProgressReport]
    replaced_reports: list[ProgressReport]
    attachments: list[Attachment]
    merged_in: list[MergedIssue]
    merged_into_visible: bool
    actions: list[issue_svc.ActionChoice]
    report_refusal: Optional[str]
    relation: Optional[str]
    can_edit: bool
    merge_candidates: list[tuple[int, str, str]]
    default_period: str
    escalations: EscalationRecord = field(default_factory=EscalationRecord)
    deadline_history: list[DeadlineChange] = field(default_factory=list)
    # The round's approval chain with this issue's signatures (审核进度).
    chain: list[chain_views.StepView] = field(default_factory=list)
    extensions: Extensions = field(default_factory=lambda: Extensions())


@dataclass
class Extensions:
    """The issue page's 延期申请 section: the requests, and what this viewer may do with them."""

    requests: list[ExtensionRequest] = field(default_factory=list)
    # Whether the viewer is the lead unit's head (the one who asks); then `refusal` says why they may
    # not ask now (None: the form is shown) and `left` how many more extensions the round allows.
    asks: bool = False
    refusal: Optional[str] = None
    left: int = 0
    limit: int = 0
    # Whether the viewer may decide this issue's requests (a decision form per pending one).
    decides: bool = False

    @property
    def pending(self) -> list[ExtensionRequest]:
        """The requests waiting for a decision."""
        return [r for r in self.requests if r.state == enums.ExtensionState.PENDING]


def extensions_section(session: DbSession, user: User, issue: Issue) -> Extensions:
    """The 延期申请 section for `user` (one query: the requests; the rules judge on what is loaded)."""
    requests = extension_svc.requests_of(session, issue)
    approved = sum(1 for r in requests if r.state == enums.ExtensionState.APPROVED)
    section = Extensions(requests=requests, limit=issue.round.max_extensions,
                         left=extension_svc.remaining(issue, approved))
    section.asks = permissions.can(user, Permission.REQUEST_EXTENSION, issue)
    if section.asks:
        refused = extension_svc.open_refusal(issue) or extension_svc.limit_refusal(issue, approved)
        if refused is None and any(r.state == enums.ExtensionState.PENDING for r in requests):
            refused = extension_svc.pending_refusal()
        section.refusal = refused.message if refused else None
    section.decides = permissions.can(user, Permission.DECIDE_EXTENSION, issue)
    return section


def build(session: DbSession, user: User, issue: Issue) -> Dossier:
    """Gather the issue page's content for `user`."""
    today = clock.today()
    row = issue_row(session, issue, today, current_app.config)
    cooperating = issue_svc.cooperating_codes(session, [issue.id])[issue.id]
    events = session.scalars(
        select(Event).where(Event.issue_id == issue.id).options(joinedload(Event.actor))
        .order_by(Event.at, Event.id)
    ).all()
    all_reports = session.scalars(
        select(ProgressReport).where(ProgressReport.issue_id == issue.id)
        .options(joinedload(ProgressReport.author), joinedload(ProgressReport.unit))
        .order_by(ProgressReport.period.desc(), ProgressReport.created_at.desc(), ProgressReport.id.desc())
    ).all()
    attachments = session.scalars(
        select(Attachment).where(Attachment.issue_id == issue.id).options(joinedload(Attachment.uploaded_by))
        .order_by(Attachment.created_at, Attachment.id)
    ).all()
    merged_in = [
        MergedIssue(i, c if v else "", t if v else "", bool(v)) for i, c, t, v in session.execute(
            select(Issue.id, Issue.code, Issue.title, visible_issues(user).label("visible"))
            .where(Issue.merged_into_id == issue.id).order_by(Issue.code)
        ).all()
    ]
    merged_into_visible = bool(visible_among(session, user, [issue.merged_into_id]))
    relation = unit_relation(session, user, issue)
    # The workflow's view from the rows just loaded, rather than counting them again.
    sit = issue_svc.situation_of(session, user, issue, relation, len(attachments), len(all_reports), len(merged_in))
    actions = issue_svc.available_actions(session, user, issue, sit)
    refused_report = permissions.refusal(user, Permission.REPORT, sit)
    report_refusal = refused_report.message if refused_report else None
    candidates: list[tuple[int, str, str]] = []
    if any(a.action == workflow.MERGE and a.allowed for a in actions):
        # Open, unmerged issues of the same round first; others can be given by code.
        candidates = [(i, c, t) for i, c, t in session.execute(
            select(Issue.id, Issue.code, Issue.title)
            .where(Issue.id != issue.id, Issue.merged_into_id.is_(None),
                   Issue.state.in_(enums.OPEN_STATES), Issue.round_id == issue.round_id)
            .order_by(Issue.code).limit(MERGE_CANDIDATES_LIMIT)
        ).all()]
    return Dossier(
        issue=issue,
        row=row,
        cooperating=cooperating,
        events=shown_events(session, user, issue, events),
        reports=[r for r in all_reports if r.replaced_at is None],
        replaced_reports=[r for r in all_reports if r.replaced_at is not None],
        attachments=list(attachments),
        merged_in=merged_in,
        merged_into_visible=merged_into_visible,
        actions=actions,
        report_refusal=report_refusal,
        relation=relation,
        can_edit=permissions.can(user, Permission.EDIT_ISSUE, issue),
        merge_candidates=candidates,
        default_period=today.strftime("%Y-%m"),
        escalations=escalation_record(session, issue),
        deadline_history=issue_svc.deadline_history(session, issue),
        chain=chain_views.progress(session, issue),
        extensions=extensions_section(session, user, issue),
    )


def as_context(dossier: Dossier) -> dict[str, Any]:
    """The template variables of the issue page."""
    return {"d": dossier, "issue": dossier.issue,
            # Which evidence the page offers to view in place, and which gets a thumbnail.
            "viewable_types": files.VIEWABLE_CONTENT_TYPES, "photo_types": files.PHOTO_CONTENT_TYPES}
