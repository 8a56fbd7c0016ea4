"""What the issue page (一问题一档案) shows, read in a fixed number of queries.

Each collection (events, reports, evidence, cooperating units, merged issues,
escalations with late report periods) is one query with its people joined in, so
the page's query count does not grow with the issue's history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from tracker import clock, workflow
from tracker.models import Attachment, Event, Issue, ProgressReport, Unit, User
from tracker.services import issues as issue_svc
from tracker.services.notify_views import EscalationRecord, escalation_record
from tracker.services.queries import IssueRow, issue_row
from tracker.services.scoping import can_see, unit_relation, visible_issues

MERGE_CANDIDATES_LIMIT = 200


def load_issue(session: Session, user: User, issue_id: int) -> Issue:
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
    events: list[Event]
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


def build(session: Session, user: User, issue: Issue) -> Dossier:
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
        MergedIssue(i, c, t, bool(v)) for i, c, t, v in session.execute(
            select(Issue.id, Issue.code, Issue.title, visible_issues(user).label("visible"))
            .where(Issue.merged_into_id == issue.id).order_by(Issue.code)
        ).all()
    ]
    merged_into_visible = bool(issue.merged_into) and can_see(session, user, issue.merged_into)
    relation = unit_relation(session, user, issue)
    # The workflow's view from the rows just loaded, rather than counting them again.
    sit = issue_svc.situation_of(issue, relation, len(attachments), len(all_reports), len(merged_in))
    actions = issue_svc.available_actions(session, user, issue, sit)
    report_refusal = workflow.may_report(user.role, relation, issue.state, issue.merged_into_id is not None)
    candidates: list[tuple[int, str, str]] = []
    if any(a.action == workflow.MERGE and a.allowed for a in actions):
        # Open, unmerged issues of the same round first; others can be given by code.
        candidates = [tuple(r) for r in session.execute(
            select(Issue.id, Issue.code, Issue.title)
            .where(Issue.id != issue.id, Issue.merged_into_id.is_(None),
                   Issue.state.in_(workflow.OPEN_STATES), Issue.round_id == issue.round_id)
            .order_by(Issue.code).limit(MERGE_CANDIDATES_LIMIT)
        ).all()]
    return Dossier(
        issue=issue,
        row=row,
        cooperating=cooperating,
        events=list(events),
        reports=[r for r in all_reports if r.replaced_at is None],
        replaced_reports=[r for r in all_reports if r.replaced_at is not None],
        attachments=list(attachments),
        merged_in=merged_in,
        merged_into_visible=merged_into_visible,
        actions=actions,
        report_refusal=report_refusal,
        relation=relation,
        can_edit=issue_svc.edit_refusal(user, issue) is None,
        merge_candidates=candidates,
        default_period=today.strftime("%Y-%m"),
        escalations=escalation_record(session, issue),
    )


def as_context(dossier: Dossier) -> dict[str, Any]:
    """The template variables of the issue page."""
    return {"d": dossier, "issue": dossier.issue}
