"""Issue services: register, edit, move the deadline, report progress, add evidence, run the workflow.

Every function takes the session, the actor and the clock (`now`, naive UTC) and flushes; the
caller commits. A refused action raises `Refusal` and writes nothing the caller would commit:
callers roll back on Refusal. What happened is written on the issue's timeline and published as
a domain event (`tracker.issues.events`) in the same transaction, for notices, mails and marks.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Optional

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from tracker.accounts.models import User
from tracker.core import enums, events, files, labels, permissions, workflow
from tracker.core.antivirus import ClamdScanner
from tracker.core.clock import local_day_start
from tracker.core.enums import EventKind
from tracker.core.errors import STALE_MESSAGE, Refusal
from tracker.core.extensions import DbSession
from tracker.core.permissions import Permission
from tracker.core.security_log import security_event
from tracker.core.workflow import Situation
from tracker.issues import chain
from tracker.issues.events import (
    DeadlineChanged,
    EvidenceAdded,
    IssueCreated,
    IssueEdited,
    IssueTransitioned,
    ProgressReported,
    PublicationChanged,
)
from tracker.issues.models import Attachment, DeadlineChange, Event, Issue, IssueUnit, ProgressReport
from tracker.issues.scoping import can_see, jurisdiction, unit_relation, visible_issues
from tracker.rounds.models import Round
from tracker.units.models import Unit
from tracker.units.services import unit_by_code

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REASON_MAX = 500


DeadlineSource = enums.DeadlineSource  # what moved a deadline (kept with each move)


def get_visible_issue(session: DbSession, user: User, issue_id: int) -> Issue:
    """Load an issue the user may see; otherwise refuse as not found (never 403)."""
    issue = session.get(Issue, issue_id)
    if issue is None or not can_see(session, user, issue):
        raise Refusal("not_found", "问题不存在或您无权查看。")
    return issue


def record_event(
    session: DbSession,
    issue: Issue,
    actor: Optional[User],
    now: datetime,
    action: str,
    from_state: Optional[str] = None,
    to_state: Optional[str] = None,
    comment: Optional[str] = None,
    changes: Optional[dict[str, tuple[Any, Any]]] = None,
) -> Event:
    """Append one entry to the issue's timeline; `changes` lists each changed field (old, new)."""
    event = Event(
        issue_id=issue.id,
        actor_id=actor.id if actor else None,
        at=now,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        changes=json.dumps({k: [_plain(o), _plain(n)] for k, (o, n) in changes.items()}, ensure_ascii=False)
        if changes else None,
    )
    session.add(event)
    return event


def _plain(value: Any) -> Any:
    """A changed value as JSON keeps it: dates as YYYY-MM-DD."""
    return value.isoformat() if isinstance(value, date) else value


def situation(session: DbSession, user: User, issue: Issue) -> Situation:
    """Describe the issue for the workflow, as seen by `user` (four small queries, and the signatures
    of the approval chain's current pass while the issue is in it)."""
    evidence = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.issue_id == issue.id))
    reports = session.scalar(
        select(func.count()).select_from(ProgressReport).where(ProgressReport.issue_id == issue.id)
    )
    merged_in = session.scalar(select(func.count()).select_from(Issue).where(Issue.merged_into_id == issue.id))
    return situation_of(session, user, issue, unit_relation(session, user, issue), evidence or 0, reports or 0,
                        merged_in or 0)


def situation_of(session: DbSession, user: User, issue: Issue, relation: Optional[str], evidence_count: int,
                 report_count: int, merged_in_count: int) -> Situation:
    """The workflow's view of an issue from figures the caller already has (the issue page loads them);
    while the issue is in the approval chain, the step it waits for as this user stands to it."""
    position = chain.position_of(issue)
    step = chain.step_at(issue.round, position)
    step_fields: dict[str, Any] = {}
    if step is not None and position is not None:
        step_fields = dict(step_role=step.role, step_label=step.label, step_level=step.level,
                           step_last=chain.is_last(issue.round, position),
                           fits_step=chain.office_fits(user, step, issue.lead_unit),
                           signed_by=chain.signers(session, issue), chain_actions=chain.actions_of(issue.round))
    return Situation(
        state=issue.state,
        rectify_type=issue.rectify_type,
        merged=issue.merged_into_id is not None,
        has_merged_issues=bool(merged_in_count),
        relation=relation,
        has_summary=bool((issue.summary or "").strip()),
        evidence_count=evidence_count,
        report_count=report_count,
        verified_by_id=issue.verified_by_id,
        **step_fields,
    )


@dataclass(frozen=True)
class ActionChoice:
    """An action shown on the issue page: allowed, or why not."""

    action: str
    label: str
    allowed: bool
    reason: Optional[str] = None


def available_actions(session: DbSession, user: User, issue: Issue,
                      sit: Optional[Situation] = None) -> list[ActionChoice]:
    """The workflow actions this user could take on this issue now.

    Actions the role never takes are left out; those blocked only by a missing
    precondition (evidence, report) are returned with the reason, so the page can
    say what to do next.
    """
    sit = sit or situation(session, user, issue)
    choices = []
    for action in workflow.ACTIONS:
        refused = permissions.refusal(user, action, sit)
        if refused is None:
            choices.append(ActionChoice(action, labels.ACTION_LABELS[action], True))
        elif permissions.is_precondition(refused):
            choices.append(ActionChoice(action, labels.ACTION_LABELS[action], False, refused.message))
    return choices


def _check_version(issue: Issue, version: Optional[int]) -> None:
    if version is not None and int(version) != issue.version:
        raise Refusal("conflict", STALE_MESSAGE)


def _flush(session: DbSession) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Refusal("conflict", STALE_MESSAGE) from None


def _stale_is_conflict(func):
    """Turn a lost race into a conflict Refusal, also when an autoflush (a query) hits it."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StaleDataError:
            raise Refusal("conflict", STALE_MESSAGE) from None
    return wrapper


@_stale_is_conflict
def transition(
    session: DbSession,
    actor: User,
    now: datetime,
    issue: Issue,
    action: str,
    comment: Optional[str] = None,
    summary: Optional[str] = None,
    target_issue_id: Optional[int] = None,
    version: Optional[int] = None,
    target_code: Optional[str] = None,
) -> Issue:
    """Take a workflow action on an issue, write its events, and flush.

    A merge names its target by id or by code (a code typed by hand wins: the more deliberate
    choice); either must be an issue the actor may see."""
    comment = (comment or "").strip() or None
    _check_version(issue, version)
    if action == workflow.SUBMIT and summary is not None and summary.strip():
        issue.summary = summary.strip()
    sit = situation(session, actor, issue)
    target = None
    target_sit = None
    code = (target_code or "").strip()
    if action == workflow.MERGE and (code or target_issue_id is not None):
        found: ColumnElement[bool]
        if code:
            found = Issue.code == code
        else:
            assert target_issue_id is not None  # no code typed: the id was given
            found = Issue.id == int(target_issue_id)
        target = session.scalar(select(Issue).where(found, visible_issues(actor)))
        if target is None:
            raise Refusal("invalid", f"目标问题编号「{code}」不存在。" if code else "目标问题不存在。",
                          "target_issue_id")
        if target.id == issue.id:
            raise Refusal("invalid", "不能与问题自身合并。", "target_issue_id")
        target_sit = situation(session, actor, target)
    to_state = workflow.decide(action, actor.role, actor.id, sit, comment=comment, target=target_sit)

    from_state = issue.state
    if action == workflow.MERGE:
        assert target is not None
        issue.merged_into_id = target.id
        issue.state = target.state
        issue.updated_at = now
        entry = record_event(session, issue, actor, now, action, from_state, issue.state,
                             f"与 {target.code} 合并整改" + (f":{comment}" if comment else ""))
        record_event(session, target, actor, now, "merged_in", target.state, target.state,
                     f"{issue.code} 并入本问题合并整改" + (f":{comment}" if comment else ""))
        # Touch the target too, so a concurrent action on it sees a new version.
        target.updated_at = now
        _flush(session)
        events.publish(session, IssueTransitioned(now, actor.id, issue.id, entry.id, action, from_state,
                                                  issue.state, comment))
        return issue

    step = chain.step_at(issue.round, chain.position_of(issue))
    if action in (workflow.VERIFY, workflow.APPROVE) and step is not None:
        chain.sign(session, issue, actor, now)
        # The timeline names the step signed: "市级验收" or "市级验收:意见".
        comment = step.label + (f":{comment}" if comment else "")
    if action in (workflow.RETURN, workflow.REOPEN):
        chain.clear(session, issue, now)
    _apply_state(issue, to_state, actor, now, action)
    entry = record_event(session, issue, actor, now, action, from_state, to_state, comment)
    followers = session.scalars(select(Issue).where(Issue.merged_into_id == issue.id)).all()
    for follower in followers:
        before = follower.state
        _apply_state(follower, to_state, actor, now, action)
        follower.chain_step = issue.chain_step
        record_event(session, follower, actor, now, "follow", before, to_state,
                     f"随 {issue.code}「{labels.ACTION_LABELS[action]}」")
    _flush(session)
    events.publish(session, IssueTransitioned(now, actor.id, issue.id, entry.id, action, from_state, to_state,
                                              comment))
    return issue


def _apply_state(issue: Issue, to_state: str, actor: User, now: datetime, action: str) -> None:
    signed_at = chain.position_of(issue)  # the step this action signs, before the state moves on
    issue.state = to_state
    issue.updated_at = now
    if action == workflow.SUBMIT:
        issue.submitted_at = now
        issue.chain_step = chain.first_step(issue.round, issue.lead_unit)
    if action == workflow.VERIFY:
        issue.verified_by_id = actor.id
        issue.chain_step = chain.next_step(issue.round, issue.lead_unit, signed_at if signed_at is not None else 0)
    if action in (workflow.RETURN, workflow.REOPEN):
        issue.verified_by_id = None
        issue.closed_at = None
        issue.chain_step = None
    if action == workflow.APPROVE:
        issue.closed_at = now
        issue.chain_step = None


@_stale_is_conflict
def set_public(session: DbSession, actor: User, now: datetime, issue: Issue, public: bool,
               version: Optional[int] = None) -> Issue:
    """Mark an issue public (公示) or not; it shows on the public page once closed. Office only."""
    permissions.require(actor, Permission.PUBLISH)
    _check_version(issue, version)
    public = bool(public)
    if bool(issue.is_public) == public:
        raise Refusal("conflict", "该问题已在公示名单中。" if public else "该问题本就不公示。")
    issue.is_public = public
    issue.updated_at = now
    entry = record_event(session, issue, actor, now, EventKind.PUBLISH if public else EventKind.UNPUBLISH,
                         issue.state, issue.state)
    _flush(session)
    events.publish(session, PublicationChanged(now, actor.id, issue.id, entry.id, public))
    return issue


def _require_reporter(session: DbSession, actor: User, issue: Issue) -> None:
    """Refuse unless the actor's unit may report on, and add evidence to, the issue now."""
    sit = Situation(state=issue.state, merged=issue.merged_into_id is not None,
                    relation=unit_relation(session, actor, issue))
    permissions.require(actor, Permission.REPORT, sit)


@_stale_is_conflict
def report_progress(
    session: DbSession,
    actor: User,
    now: datetime,
    issue: Issue,
    period: str,
    percent: Any,
    text: str,
    timezone: str = "Asia/Shanghai",
) -> ProgressReport:
    """File the progress report for a period; a second one replaces the first, kept as history.

    `timezone` (config TIMEZONE) is the one the daily run judges lateness in."""
    _require_reporter(session, actor, issue)
    period = (period or "").strip()
    if not PERIOD_RE.match(period):
        raise Refusal("invalid", "报送期次格式应为 YYYY-MM,例如 2020-06。", "period")
    try:
        pct = int(percent)
    except (TypeError, ValueError):
        raise Refusal("invalid", "进度必须是 0 到 100 的整数。", "percent") from None
    if not 0 <= pct <= 100:
        raise Refusal("invalid", "进度必须是 0 到 100 的整数。", "percent")
    text = (text or "").strip()
    if not text:
        raise Refusal("invalid", "请填写进展情况。", "text")
    previous = session.scalars(
        select(ProgressReport).where(
            ProgressReport.issue_id == issue.id,
            ProgressReport.period == period,
            ProgressReport.replaced_at.is_(None),
        )
    ).all()
    for old in previous:
        old.replaced_at = now
    report = ProgressReport(issue_id=issue.id, period=period, percent=pct, text=text,
                            author_id=actor.id, unit_id=actor.unit_id, created_at=now)
    session.add(report)
    issue.progress_percent = pct
    issue.updated_at = now
    note = f"{period} 进度 {pct}%" + ("(替换本期此前的报送)" if previous else "")
    entry = record_event(session, issue, actor, now, EventKind.PROGRESS, issue.state, issue.state, note)
    _flush(session)
    # A report that comes after the month's due day is marked late as it arrives (escalation listens).
    events.publish(session, ProgressReported(now, actor.id, issue.id, entry.id, report.id, period, timezone))
    return report


def uploaded_today(session: DbSession, actor: User, now: datetime, timezone: str = "Asia/Shanghai") -> int:
    """Bytes of evidence `actor` uploaded since local midnight (all issues together), in one SQL sum."""
    start = local_day_start(now, timezone)
    total = session.scalar(select(func.coalesce(func.sum(Attachment.size), 0))
                           .where(Attachment.uploaded_by_id == actor.id, Attachment.created_at >= start))
    return int(total or 0)


def _quota_refusal(quota_bytes: int, used: int) -> Refusal:
    mb = 1024 * 1024
    return Refusal("over_quota", f"今日上传的佐证材料已达每人每日 {quota_bytes // mb} MB 的上限"
                                 f"(今日已上传 {used / mb:.1f} MB),请明天再上传。", "file")


def add_evidence(
    session: DbSession,
    actor: User,
    now: datetime,
    issue: Issue,
    filename: str,
    stream: IO[bytes],
    upload_dir: str,
    max_bytes: int,
    quota_bytes: Optional[int] = None,
    timezone: str = "Asia/Shanghai",
    scanner: Optional[ClamdScanner] = None,
) -> Attachment:
    """Store an evidence file for the issue and record it on the timeline.

    With `quota_bytes`, the actor's uploads of the (local) day may not exceed it together
    (ASVS 12.1.3): refused (429 `over_quota`) before anything is written when the quota is used
    up, and while streaming when this file would pass it (the partial file is removed).
    With a `scanner` (TRACKER_CLAMD_URL), the file is scanned before it is kept (ASVS 12.4.2).
    """
    _require_reporter(session, actor, issue)
    limit, used = max_bytes, 0
    if quota_bytes is not None:
        used = uploaded_today(session, actor, now, timezone)
        if used >= quota_bytes:
            security_event("upload_quota_exceeded", user=actor.username, used=used, quota=quota_bytes)
            raise _quota_refusal(quota_bytes, used)
        limit = min(max_bytes, quota_bytes - used)
    try:
        stored = files.store(upload_dir, stream, filename, limit, scanner=scanner, user=actor.username)
    except Refusal as refusal:
        if refusal.kind == "too_large" and limit < max_bytes:
            security_event("upload_quota_exceeded", user=actor.username, used=used, quota=quota_bytes)
            raise _quota_refusal(int(quota_bytes or 0), used) from None
        raise
    attachment = Attachment(issue_id=issue.id, sha256=stored.sha256, filename=stored.filename,
                            content_type=stored.content_type, size=stored.size,
                            uploaded_by_id=actor.id, created_at=now)
    session.add(attachment)
    entry = record_event(session, issue, actor, now, EventKind.EVIDENCE, issue.state, issue.state, stored.filename)
    session.flush()
    events.publish(session, EvidenceAdded(now, actor.id, issue.id, entry.id, attachment.id))
    return attachment


# --- registering and editing -------------------------------------------------

ISSUE_FIELDS = ("round_id", "code", "title", "description", "category", "rectify_type", "deadline",
                "lead_unit", "cooperating_units", "target", "measures", "domain",
                "responsible_leader", "responsible_person", "assigned_on")


def _parse_date(value: Any, field: str, label: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        raise Refusal("invalid", f"{label}格式应为 YYYY-MM-DD。", field) from None


def _unit_by_code(session: DbSession, code: Any, field: str) -> Unit:
    unit = unit_by_code(session, code, field)
    if unit is None:  # an issue's units are required: a blank code names none
        raise Refusal("invalid", f"单位编码「{code or ''}」不存在。", field)
    return unit


def _require_in_jurisdiction(session: DbSession, actor: Optional[User], issue: Issue) -> None:
    """An office serving an area registers (or hands) issues only to lead units inside it: one led from
    outside would vanish from its own lists at once."""
    node = jurisdiction(actor) if actor is not None else None
    lead = session.get(Unit, issue.lead_unit_id)
    if node is not None and lead is not None and not node.contains(lead):
        raise Refusal("invalid", f"牵头单位「{lead.name}」不在您的辖区({node.name})内;请选择辖区内的单位,"
                                 "或请上级整改办登记。", "lead_unit")


def _apply_fields(session: DbSession, issue: Issue, data: dict, creating: bool, today: date) -> None:
    def text(name: str, label: str, required: bool = False, max_len: Optional[int] = None) -> None:
        if name not in data and not creating:
            return
        value = str(data.get(name) or "").strip()
        if required and not value:
            raise Refusal("invalid", f"请填写{label}。", name)
        if max_len and len(value) > max_len:
            raise Refusal("invalid", f"{label}不能超过 {max_len} 个字。", name)
        setattr(issue, name, value or (None if name in ("domain", "responsible_leader", "responsible_person") else ""))

    if creating or "round_id" in data:
        round_id = data.get("round_id")
        try:
            round_ = session.get(Round, int(round_id)) if round_id is not None else None
        except (TypeError, ValueError):
            round_ = None
        if round_ is None:
            raise Refusal("invalid", "请选择存在的督察轮次。", "round_id")
        issue.round_id = round_.id
    if creating or "code" in data:
        code = str(data.get("code") or "").strip()
        if not code:
            raise Refusal("invalid", "请填写问题编号。", "code")
        if len(code) > 64:
            raise Refusal("invalid", "问题编号不能超过 64 个字符。", "code")
        clash = session.scalar(select(Issue.id).where(Issue.code == code, Issue.id != (issue.id or 0)))
        if clash:
            raise Refusal("conflict", f"问题编号「{code}」已存在。", "code")
        issue.code = code
    text("title", "问题标题", required=True, max_len=300)
    text("description", "问题描述")
    text("target", "整改目标")
    text("measures", "整改措施")
    text("responsible_leader", "责任领导", max_len=100)
    text("responsible_person", "责任人", max_len=100)
    if creating or "category" in data:
        if data.get("category") not in labels.CATEGORY_LABELS:
            raise Refusal("invalid", "问题类别应为 " + "、".join(labels.CATEGORY_LABELS) + " 之一。", "category")
        issue.category = data["category"]
    if creating or "rectify_type" in data:
        if data.get("rectify_type") not in labels.RECTIFY_TYPE_LABELS:
            raise Refusal("invalid", "整改类型应为 " + "、".join(labels.RECTIFY_TYPE_LABELS) + " 之一。",
                          "rectify_type")
        issue.rectify_type = data["rectify_type"]
    if creating or "domain" in data:
        domain = (data.get("domain") or "").strip() or None
        if domain is not None and domain not in enums.DOMAINS:
            raise Refusal("invalid", "领域应为 " + "、".join(enums.DOMAINS) + " 之一。", "domain")
        issue.domain = domain
    if creating or "deadline" in data:
        issue.deadline = _parse_date(data.get("deadline"), "deadline", "整改时限")
    if creating or "assigned_on" in data:
        assigned = data.get("assigned_on")
        issue.assigned_on = _parse_date(assigned, "assigned_on", "交办日期") if assigned else (
            issue.assigned_on or today)
    if issue.deadline < issue.assigned_on:
        raise Refusal("invalid", "整改时限不能早于交办日期。", "deadline")
    if creating or "lead_unit" in data:
        issue.lead_unit_id = _unit_by_code(session, data.get("lead_unit"), "lead_unit").id
    if creating or "cooperating_units" in data:
        codes = data.get("cooperating_units") or []
        if isinstance(codes, str):
            codes = [c for c in re.split(r"[,,、\s]+", codes) if c]
        if not isinstance(codes, list):
            raise Refusal("invalid", "配合单位应为单位编码列表。", "cooperating_units")
        unit_ids = []
        for code in codes:
            unit = _unit_by_code(session, code, "cooperating_units")
            if unit.id != issue.lead_unit_id and unit.id not in unit_ids:
                unit_ids.append(unit.id)
        issue.cooperating = [IssueUnit(unit_id=uid) for uid in unit_ids]


def create_issue(session: DbSession, actor: User, now: datetime, data: dict, today: date,
                 note: Optional[str] = None) -> Issue:
    """Register a feedback issue (supervisor); `note` goes on the timeline's first entry."""
    permissions.require(actor, Permission.MANAGE_ISSUES, doing="登记问题")
    issue = Issue(state=workflow.IN_PROGRESS, progress_percent=0, created_at=now, updated_at=now)
    _apply_fields(session, issue, data, creating=True, today=today)
    _require_in_jurisdiction(session, actor, issue)
    issue.original_deadline = issue.deadline
    session.add(issue)
    session.flush()
    entry = record_event(session, issue, actor, now, EventKind.CREATE, None, issue.state, note)
    session.flush()
    events.publish(session, IssueCreated(now, actor.id if actor else None, issue.id, entry.id))
    return issue


def _snapshot(session: DbSession, issue: Issue) -> dict[str, Any]:
    """The editable fields as an edit compares them: units by code, cooperating units sorted (one query)."""
    unit_ids = {issue.lead_unit_id, *(link.unit_id for link in issue.cooperating)}
    codes = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(unit_ids))).all())
    return {
        "round_id": issue.round_id, "code": issue.code, "title": issue.title, "description": issue.description,
        "category": issue.category, "rectify_type": issue.rectify_type, "deadline": issue.deadline,
        "lead_unit": codes.get(issue.lead_unit_id),
        "cooperating_units": sorted(codes[link.unit_id] for link in issue.cooperating),
        "target": issue.target, "measures": issue.measures, "domain": issue.domain,
        "responsible_leader": issue.responsible_leader, "responsible_person": issue.responsible_person,
        "assigned_on": issue.assigned_on,
    }


@_stale_is_conflict
def update_issue(session: DbSession, actor: Optional[User], now: datetime, issue: Issue, data: dict,
                 today: date, version: Optional[int] = None, reason: Optional[str] = None,
                 source: str = DeadlineSource.EDIT) -> dict[str, tuple[Any, Any]]:
    """Edit an issue's fields (the office); closed issues stay as they were closed.

    Returns what changed, {field: (old, new)}, which the timeline entry lists; nothing changed
    writes nothing. A moved deadline is kept in the issue's deadline history with `reason`
    (why) and `source` (edit, import), and told to the unit.
    """
    permissions.require(actor, Permission.EDIT_ISSUE, issue)
    _check_version(issue, version)
    data = {k: v for k, v in data.items() if k in ISSUE_FIELDS}
    reason = (str(reason or "").strip() or None)
    if reason and len(reason) > REASON_MAX:
        raise Refusal("invalid", f"理由不能超过 {REASON_MAX} 个字。", "reason")
    before = _snapshot(session, issue)
    _apply_fields(session, issue, data, creating=False, today=today)
    if "lead_unit" in data:
        _require_in_jurisdiction(session, actor, issue)
    after = _snapshot(session, issue)
    changes = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    if not changes:
        return {}
    issue.updated_at = now
    entry = record_event(session, issue, actor, now, EventKind.EDIT, issue.state, issue.state, reason, changes)
    if "deadline" in changes:
        old, new = changes["deadline"]
        record_deadline_change(session, issue, actor, now, old, new, reason, source)
    _flush(session)
    actor_id = actor.id if actor else None
    events.publish(session, IssueEdited(now, actor_id, issue.id, entry.id, changes))
    if "deadline" in changes:
        old, new = changes["deadline"]
        events.publish(session, DeadlineChanged(now, actor_id, issue.id, entry.id, old, new, reason, source))
    return changes


def record_deadline_change(session: DbSession, issue: Issue, actor: Optional[User], now: datetime, old: date,
                           new: date, reason: Optional[str], source: str) -> DeadlineChange:
    """Keep one move of the issue's deadline in its history (an edit, an import, an approved extension);
    the caller flushes and then publishes `DeadlineChanged`, which re-arms the ladder and tells the unit."""
    change = DeadlineChange(issue_id=issue.id, old_deadline=old, new_deadline=new, changed_at=now,
                            changed_by_id=actor.id if actor else None, reason=reason, source=source)
    session.add(change)
    return change


def deadline_history(session: DbSession, issue: Issue) -> list[DeadlineChange]:
    """Every move of the issue's deadline, oldest first, with who made it (one query)."""
    return list(session.scalars(
        select(DeadlineChange).where(DeadlineChange.issue_id == issue.id)
        .options(joinedload(DeadlineChange.changed_by))
        .order_by(DeadlineChange.changed_at, DeadlineChange.id)))


def cooperating_codes(session: DbSession, issue_ids: list[int]) -> dict[int, list[Unit]]:
    """Map issue ids to their cooperating units, in one query."""
    result: dict[int, list[Unit]] = {i: [] for i in issue_ids}
    if not issue_ids:
        return result
    rows = session.execute(
        select(IssueUnit.issue_id, Unit).join(Unit, Unit.id == IssueUnit.unit_id)
        .where(IssueUnit.issue_id.in_(issue_ids)).order_by(Unit.code)
    ).all()
    for issue_id, unit in rows:
        result[issue_id].append(unit)
    return result
