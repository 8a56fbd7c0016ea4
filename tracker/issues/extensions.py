"""Deadline extensions (延期申请): the lead unit's head asks for a later deadline with a reason (and
optionally an evidence file); the office whose area holds the issue's lead unit approves it (as asked,
or with another date) or rejects it with a reason.

An approved request moves the deadline through the deadline-change path (a `DeadlineChange` with
source `extension`, and the `DeadlineChanged` event), so its history, the figures and the
escalation ladder (which counts from the deadline in force: its rungs fire again for the new one)
all follow. A round limits how many extensions an issue may have (`Round.max_extensions`).

Who may ask and decide is `tracker.core.permissions` (REQUEST_EXTENSION, DECIDE_EXTENSION);
`decidable_issues` is the same rule in SQL, for lists and for whom a request is told to.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Optional

from sqlalchemy import ColumnElement, and_, false, func, select, true
from sqlalchemy.orm import joinedload

from tracker.accounts.models import User
from tracker.core import events, permissions
from tracker.core.antivirus import ClamdScanner, scanner_from_config
from tracker.core.enums import OPEN_STATES, DeadlineSource, EventKind, ExtensionState, State
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.labels import EXTENSION_STATE_LABELS
from tracker.core.permissions import Permission
from tracker.issues import services as issue_svc
from tracker.issues.events import DeadlineChanged, ExtensionDecided, ExtensionRequested
from tracker.issues.models import ExtensionRequest, Issue
from tracker.issues.scoping import visible_issues
from tracker.units.models import Unit

REASON_MAX = 500
APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)


@dataclass(frozen=True)
class EvidenceUpload:
    """An evidence file sent with a request, and how uploads are kept (as `services.add_evidence` takes them)."""

    filename: str
    stream: IO[bytes]
    upload_dir: str
    max_bytes: int
    quota_bytes: Optional[int] = None
    timezone: str = "Asia/Shanghai"
    scanner: Optional[ClamdScanner] = None

    @classmethod
    def from_config(cls, filename: str, stream: IO[bytes], config: Mapping[str, Any]) -> EvidenceUpload:
        """An upload kept as the app's configuration says (folder, size, daily quota, timezone, antivirus)."""
        return cls(filename, stream, config["UPLOAD_DIR"], config["MAX_UPLOAD_BYTES"],
                   quota_bytes=config.get("UPLOAD_QUOTA_BYTES_PER_DAY"),
                   timezone=config.get("TIMEZONE", "Asia/Shanghai"), scanner=scanner_from_config(config))


def _date(value: Any, field: str, label: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Refusal("invalid", f"请填写{label}(格式 YYYY-MM-DD)。", field) from None


def _text(value: Any, field: str, label: str, required: bool) -> Optional[str]:
    text = str(value or "").strip()
    if required and not text:
        raise Refusal("invalid", f"请填写{label}。", field)
    if len(text) > REASON_MAX:
        raise Refusal("invalid", f"{label}不能超过 {REASON_MAX} 个字。", field)
    return text or None


def approved_count(session: DbSession, issue: Issue) -> int:
    """How many extensions of the issue were approved (one query)."""
    return session.scalar(select(func.count()).select_from(ExtensionRequest).where(
        ExtensionRequest.issue_id == issue.id, ExtensionRequest.state == ExtensionState.APPROVED)) or 0


def remaining(issue: Issue, approved: int) -> int:
    """How many more extensions the issue's round allows it."""
    return max(0, issue.round.max_extensions - approved)


def pending_request(session: DbSession, issue: Issue) -> Optional[ExtensionRequest]:
    """The issue's request waiting for a decision, if any."""
    return session.scalar(select(ExtensionRequest).where(
        ExtensionRequest.issue_id == issue.id, ExtensionRequest.state == ExtensionState.PENDING))


def pending_refusal() -> Refusal:
    """The refusal of a second request while one is pending."""
    return Refusal("conflict", "该问题已有一份待审批的延期申请,请等待审批结果。")


def limit_refusal(issue: Issue, approved: int) -> Optional[Refusal]:
    """The refusal of a request over the round's limit of extensions, if it is."""
    limit = issue.round.max_extensions
    if approved >= limit:
        return Refusal("conflict", f"本轮次每个问题最多延期 {limit} 次,已延期 {approved} 次。")
    return None


def open_refusal(issue: Issue) -> Optional[Refusal]:
    """The refusal of a request for an issue no longer (or not itself) being rectified, if it is."""
    if issue.merged_into_id is not None:
        return Refusal("conflict", "该问题已合并整改,其整改时限随所并入的问题;请在所并入的问题上申请延期。")
    if issue.state not in OPEN_STATES:
        return Refusal("conflict", "只有整改中或基本完成的问题可以申请延期。")
    return None


def request_refusal(session: DbSession, actor: User, issue: Issue) -> Optional[Refusal]:
    """Why `actor` may not ask for an extension of the issue now (None: the form may be shown)."""
    refused = permissions.refusal(actor, Permission.REQUEST_EXTENSION, issue) or open_refusal(issue)
    if refused is not None:
        return refused
    if pending_request(session, issue) is not None:
        return pending_refusal()
    return limit_refusal(issue, approved_count(session, issue))


@issue_svc._stale_is_conflict
def request_extension(session: DbSession, actor: User, now: datetime, issue: Issue, new_deadline: Any,
                      reason: Any, attachment: Optional[EvidenceUpload] = None) -> ExtensionRequest:
    """Ask for a later deadline (the lead unit's head): the issue open and not merged, a reason, a date
    after the current deadline, no other request pending and fewer approved extensions than the round
    allows. The optional evidence file is kept as the issue's evidence and named by the request."""
    permissions.require(actor, Permission.REQUEST_EXTENSION, issue)
    refused = open_refusal(issue)
    if refused is not None:
        raise refused
    asked = _date(new_deadline, "new_deadline", "申请延期至的日期")
    why = _text(reason, "reason", "延期理由", required=True)
    if asked <= issue.deadline:
        raise Refusal("invalid", f"申请延期至的日期须晚于现整改时限 {issue.deadline:%Y-%m-%d}。", "new_deadline")
    if pending_request(session, issue) is not None:
        raise pending_refusal()
    refused = limit_refusal(issue, approved_count(session, issue))
    if refused is not None:
        raise refused
    attachment_id = None
    if attachment is not None:
        stored = issue_svc.add_evidence(session, actor, now, issue, attachment.filename, attachment.stream,
                                        attachment.upload_dir, attachment.max_bytes, attachment.quota_bytes,
                                        attachment.timezone, attachment.scanner)
        attachment_id = stored.id
    request = ExtensionRequest(issue_id=issue.id, state=ExtensionState.PENDING, old_deadline=issue.deadline,
                               new_deadline=asked, reason=why, attachment_id=attachment_id,
                               requested_by_id=actor.id, requested_at=now)
    session.add(request)
    # Touch the issue: a concurrent request or decision on it loses the version race (409).
    issue.updated_at = now
    entry = issue_svc.record_event(
        session, issue, actor, now, EventKind.EXTENSION_REQUEST, issue.state, issue.state,
        f"申请将整改时限由 {issue.deadline:%Y-%m-%d} 延至 {asked:%Y-%m-%d},理由:{why}")
    issue_svc._flush(session)
    events.publish(session, ExtensionRequested(now, actor.id, issue.id, entry.id, request.id, request.old_deadline,
                                               asked, why or ""))
    return request


@issue_svc._stale_is_conflict
def decide_extension(session: DbSession, actor: User, now: datetime, request: ExtensionRequest, decision: Any,
                     deadline: Any = None, reason: Any = None) -> ExtensionRequest:
    """Approve (with the date asked, or another after the current deadline) or reject (with a reason)
    a pending request (the office whose area holds the issue's lead unit). Approving moves the deadline:
    its history (source `extension`), the timeline and the `DeadlineChanged` event (the ladder re-arms)."""
    issue = session.get(Issue, request.issue_id, options=[joinedload(Issue.lead_unit), joinedload(Issue.round)])
    assert issue is not None  # a request belongs to an issue (ON DELETE CASCADE)
    permissions.require(actor, Permission.DECIDE_EXTENSION, issue)
    if request.state != ExtensionState.PENDING:
        label = EXTENSION_STATE_LABELS.get(request.state, request.state)
        raise Refusal("conflict", f"该延期申请已处理({label}),不能再审批。")
    if decision not in DECISIONS:
        raise Refusal("invalid", "审批结果应为 approve(批准)或 reject(驳回)。", "decision")
    approve = decision == APPROVE
    why = _text(reason, "reason", "审批意见" if approve else "驳回理由", required=not approve)
    old = issue.deadline
    granted: Optional[date] = None
    if approve:
        if issue.merged_into_id is not None or issue.state == State.CLOSED:
            raise Refusal("conflict", "该问题已销号或已合并整改,不能再调整整改时限;请驳回该申请。")
        granted = request.new_deadline if deadline in (None, "") else _date(deadline, "deadline", "批准的整改时限")
        if granted <= old:
            raise Refusal("invalid", f"批准的整改时限须晚于现整改时限 {old:%Y-%m-%d}。", "deadline")
        refused = limit_refusal(issue, approved_count(session, issue))
        if refused is not None:
            raise refused
    request.state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
    request.decided_by_id = actor.id
    request.decided_at = now
    request.granted_deadline = granted
    request.decision_reason = why
    issue.updated_at = now
    if approve:
        assert granted is not None
        issue.deadline = granted
        note = f"批准延期:整改时限由 {old:%Y-%m-%d} 调整为 {granted:%Y-%m-%d}"
        if granted != request.new_deadline:
            note += f"(申请延至 {request.new_deadline:%Y-%m-%d})"
        note += f",延期理由:{request.reason}" + (f";审批意见:{why}" if why else "")
        entry = issue_svc.record_event(session, issue, actor, now, EventKind.EXTENSION_APPROVE, issue.state,
                                       issue.state, note, {"deadline": (old, granted)})
        issue_svc.record_deadline_change(session, issue, actor, now, old, granted, request.reason,
                                         DeadlineSource.EXTENSION)
    else:
        entry = issue_svc.record_event(
            session, issue, actor, now, EventKind.EXTENSION_REJECT, issue.state, issue.state,
            f"驳回延期申请(申请将整改时限由 {request.old_deadline:%Y-%m-%d} 延至 {request.new_deadline:%Y-%m-%d}),"
            f"理由:{why}")
    issue_svc._flush(session)
    if approve:
        events.publish(session, DeadlineChanged(now, actor.id, issue.id, entry.id, old, granted, request.reason,
                                                DeadlineSource.EXTENSION))
    events.publish(session, ExtensionDecided(now, actor.id, issue.id, entry.id, request.id, approve,
                                             request.new_deadline, granted, old, why))
    return request


def get_visible_request(session: DbSession, user: User, request_id: int) -> ExtensionRequest:
    """An extension request of an issue the user may see; otherwise refuse as not found (never 403)."""
    request = session.get(ExtensionRequest, request_id)
    if request is None or not session.scalar(
            select(Issue.id).where(Issue.id == request.issue_id, visible_issues(user))):
        raise Refusal("not_found", "延期申请不存在或您无权查看。")
    return request


def requests_of(session: DbSession, issue: Issue) -> list[ExtensionRequest]:
    """The issue's extension requests, oldest first, with who asked and decided (one query)."""
    return list(session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.issue_id == issue.id)
        .options(joinedload(ExtensionRequest.requested_by), joinedload(ExtensionRequest.decided_by),
                 joinedload(ExtensionRequest.attachment))
        .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)))


def decidable_issues(user: User) -> ColumnElement[bool]:
    """The issues whose extension requests `user` may decide, in SQL (agrees with
    `permissions.DECIDE_EXTENSION`): a supervisor's area holds the lead unit; one without an area
    decides for every issue; other roles for none."""
    if user.role not in permissions.holders(Permission.DECIDE_EXTENSION):
        return false()
    if user.unit_id is None or user.unit is None:
        return true() if user.unit_id is None else false()
    area = select(Unit.id).where(Unit.path.startswith(user.unit.path, autoescape=True))
    return Issue.lead_unit_id.in_(area)


def decidable_extensions(user: User) -> ColumnElement[bool]:
    """The WHERE clause over `ExtensionRequest` of the pending requests `user` may decide: the to-do
    list counts them, the extensions page (`list_requests`, state pending) lists exactly them."""
    issues = select(Issue.id).where(visible_issues(user), decidable_issues(user))
    return and_(ExtensionRequest.state == ExtensionState.PENDING, ExtensionRequest.issue_id.in_(issues))


def ancestor_paths(unit: Unit) -> list[str]:
    """The paths of the unit and every unit above it ("/A/", "/A/B/", ...): whose areas hold it."""
    path = unit.path or ""
    return [path[:i + 1] for i, ch in enumerate(path) if ch == "/" and i > 0]


def deciders(session: DbSession, issue: Issue) -> ColumnElement[bool]:
    """The users who may decide the issue's extension requests, as a condition on `User` (agrees with
    `permissions.DECIDE_EXTENSION`): supervisors without an area, or whose area holds the lead unit."""
    lead = issue.lead_unit or session.get(Unit, issue.lead_unit_id)
    above = select(Unit.id).where(Unit.path.in_(ancestor_paths(lead))) if lead is not None else select(Unit.id).where(
        false())
    deciding = sorted(permissions.holders(Permission.DECIDE_EXTENSION))
    return User.role.in_(deciding) & (User.unit_id.is_(None) | User.unit_id.in_(above))


@dataclass(frozen=True)
class RequestRow:
    """A row of the /extensions list: the request and its issue."""

    request: ExtensionRequest
    issue: Issue


LIST_STATES = ("pending", "approved", "rejected", "all")


def list_requests(session: DbSession, user: User, state: str = "pending", limit: int = 500) -> list[RequestRow]:
    """Extension requests in the user's scope (`visible_issues`): for a supervisor those they may decide,
    for others those of the issues they see; of one state (or "all"), oldest first. One query."""
    cond = [visible_issues(user)]
    if user.role in permissions.holders(Permission.DECIDE_EXTENSION):
        cond.append(decidable_issues(user))
    if state != "all":
        cond.append(ExtensionRequest.state == state)
    order = (ExtensionRequest.requested_at, ExtensionRequest.id) if state == "pending" else (
        ExtensionRequest.requested_at.desc(), ExtensionRequest.id.desc())
    rows = session.execute(
        select(ExtensionRequest, Issue).join(Issue, Issue.id == ExtensionRequest.issue_id).where(*cond)
        .options(joinedload(ExtensionRequest.requested_by), joinedload(ExtensionRequest.decided_by),
                 joinedload(Issue.lead_unit))
        .order_by(*order).limit(limit)).unique().all()
    return [RequestRow(r, i) for r, i in rows]
