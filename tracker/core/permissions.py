"""Who may do what: the one module that views, the API, services and templates (`can(...)`) all ask.

A permission is either a `Permission` below (a role-based right, some also judged on the record:
editing looks at the issue's state, reporting at the actor's unit's relation to the issue) or a
workflow `Action` judged by `workflow.decide` on the issue's `Situation`. `refusal` says why not
(a `Refusal` with the HTTP status it answers with), `can` says whether, `require` raises.
Templates call `can("manage_issues")` or `can("publish", issue)`; no role name appears in them.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any, Optional, Protocol, Union

from tracker.core import workflow
from tracker.core.enums import OPEN_STATES, UNIT_ROLES, Action, Role, State
from tracker.core.errors import Precondition, Refusal
from tracker.core.labels import STATE_LABELS


class Actor(Protocol):
    """Who acts: a signed-in user (`tracker.accounts.models.User`), as the rules see them."""

    id: int
    role: str
    unit_id: Optional[int]


class Permission(StrEnum):
    """A right, held by roles (and for some, judged on a record too)."""

    # Units, users, reminder and escalation settings, scorecard rules, the mail log, the public page.
    ADMINISTER = "administer"
    # Register and correct inspection rounds.
    MANAGE_ROUNDS = "manage_rounds"
    # Register issues, import ledgers and plans (the rectification office).
    MANAGE_ISSUES = "manage_issues"
    # Edit an issue's fields and deadline: the office, never once closed (subject: the issue).
    EDIT_ISSUE = "edit_issue"
    # Mark an issue for the public disclosure page (整改公示).
    PUBLISH = "publish"
    # File a progress report or upload evidence (subject: the issue's `Situation` for the actor).
    REPORT = "report"
    # See figures across every unit (charts by round and month) rather than one unit's tables.
    SEE_OVERVIEW = "see_overview"
    # See the leaders' board of interviews and supervision orders to units on the home page.
    SEE_BOARD = "see_board"
    # See units ranked against each other on the scorecard.
    RANK_UNITS = "rank_units"
    # Change another user's notification preferences.
    MANAGE_PREFERENCES = "manage_preferences"
    # Ask for a later deadline (延期申请): the head of the unit leading the issue (subject: the issue).
    REQUEST_EXTENSION = "request_extension"
    # Approve or reject an extension request: the office whose area holds the issue's lead unit
    # (subject: the issue, its lead unit loaded), or an office serving the whole tree.
    DECIDE_EXTENSION = "decide_extension"


OFFICE_ROLES = (Role.SUPERVISOR, Role.APPROVER, Role.LEADER, Role.ADMIN)
ROLES: dict[Permission, tuple[Role, ...]] = {
    Permission.ADMINISTER: (Role.ADMIN,),
    Permission.MANAGE_ROUNDS: (Role.SUPERVISOR, Role.ADMIN),
    Permission.MANAGE_ISSUES: (Role.SUPERVISOR,),
    Permission.EDIT_ISSUE: (Role.SUPERVISOR,),
    Permission.PUBLISH: (Role.SUPERVISOR,),
    Permission.REPORT: UNIT_ROLES,
    Permission.SEE_OVERVIEW: OFFICE_ROLES,
    Permission.SEE_BOARD: (Role.LEADER, Role.SUPERVISOR),
    Permission.RANK_UNITS: OFFICE_ROLES,
    Permission.MANAGE_PREFERENCES: (Role.ADMIN,),
    Permission.REQUEST_EXTENSION: (Role.UNIT_HEAD,),
    Permission.DECIDE_EXTENSION: (Role.SUPERVISOR,),
}
# Who holds each right, as a refusal names them ("只有{who}可以{doing}。").
HOLDERS = {
    Permission.ADMINISTER: "系统管理员",
    Permission.MANAGE_ROUNDS: "系统管理员和督察整改办",
    Permission.MANAGE_ISSUES: "督察整改办",
    Permission.EDIT_ISSUE: "督察整改办",
    Permission.PUBLISH: "督察整改办",
    Permission.REPORT: "责任单位",
    Permission.SEE_OVERVIEW: "督察整改办、销号审批、分管领导和系统管理员",
    Permission.SEE_BOARD: "分管领导和督察整改办",
    Permission.RANK_UNITS: "督察整改办、销号审批、分管领导和系统管理员",
    Permission.MANAGE_PREFERENCES: "系统管理员",
    Permission.REQUEST_EXTENSION: "牵头单位负责人",
    Permission.DECIDE_EXTENSION: "督察整改办",
}
# What the right does, for the default refusal.
DOING = {
    Permission.ADMINISTER: "管理系统设置",
    Permission.MANAGE_ROUNDS: "管理督察轮次",
    Permission.MANAGE_ISSUES: "登记问题",
    Permission.EDIT_ISSUE: "修改问题",
    Permission.PUBLISH: "设置问题是否公示",
    Permission.REPORT: "报送进展和上传材料",
    Permission.SEE_OVERVIEW: "查看全部单位的统计图",
    Permission.SEE_BOARD: "查看约谈和督办事项",
    Permission.RANK_UNITS: "查看单位排名",
    Permission.MANAGE_PREFERENCES: "修改他人的通知设置",
    Permission.REQUEST_EXTENSION: "申请延期",
    Permission.DECIDE_EXTENSION: "审批延期申请",
}

What = Union[Permission, Action, str]


def acts_for_unit(actor: Actor) -> bool:
    """Whether the actor acts for a responsible unit (and so sees only its unit's issues)."""
    return actor.role in UNIT_ROLES


def _permission(what: What) -> Union[Permission, Action]:
    if isinstance(what, (Permission, Action)):
        return what
    if what in Permission.__members__.values():
        return Permission(what)
    if what in Action.__members__.values():
        return Action(what)
    raise ValueError(f"unknown permission {what!r}")


def refusal(actor: Optional[Actor], what: What, subject: Any = None,
            doing: Optional[str] = None, message: Optional[str] = None) -> Optional[Refusal]:
    """Why `actor` may not do `what` (to `subject`), or None when allowed.

    `actor` None is the system (the command line, the demo loader): it may do anything.
    `doing` words the refusal for the page asking ("导入整改台账" -> "只有督察整改办可以导入整改台账。");
    `message` replaces a role refusal's whole text.
    """
    if actor is None:
        return None
    rule = _permission(what)
    if isinstance(rule, Action):
        if not isinstance(subject, workflow.Situation):
            raise TypeError("a workflow action is judged on the issue's Situation")
        try:
            workflow.decide(rule, actor.role, actor.id, subject, check_inputs=False)
        except Refusal as refused:
            return refused
        return None
    if rule == Permission.REPORT:
        return _report_refusal(actor, subject)
    if rule == Permission.REQUEST_EXTENSION:
        return _request_extension_refusal(actor, subject)
    if rule == Permission.DECIDE_EXTENSION:
        return _decide_extension_refusal(actor, subject)
    if actor.role not in ROLES[rule]:
        return Refusal("forbidden", message or f"只有{HOLDERS[rule]}可以{doing or DOING[rule]}。")
    if rule == Permission.EDIT_ISSUE and subject is not None and subject.state == State.CLOSED:
        return Refusal("conflict", "已销号的问题不能修改;如需整改请先重新打开。")
    return None


def _report_refusal(actor: Actor, subject: Optional[workflow.Situation]) -> Optional[Refusal]:
    """Progress reports and evidence: the issue's own units, while it is being rectified and not merged.

    Not one of the issue's units: forbidden; the issue's own unit at the wrong time: conflict."""
    if actor.role not in ROLES[Permission.REPORT]:
        return Refusal("forbidden", "只有责任单位可以报送进展和上传材料。")
    if subject is None:
        return None
    if subject.relation is None:
        return Refusal("forbidden", "您的单位不是该问题的责任单位。")
    if subject.merged:
        return Refusal("conflict", "该问题已合并整改,请在所并入的问题上报送。")
    if subject.state not in OPEN_STATES:
        label = STATE_LABELS.get(State(subject.state), subject.state)
        return Refusal("conflict", f"问题当前状态为「{label}」,不能再报送或上传。")
    return None


class ExtensionSubject(Protocol):
    """What the extension rules read of an issue: its lead unit (id, and the unit for its place in the tree)."""

    lead_unit_id: int
    lead_unit: Any


def _request_extension_refusal(actor: Actor, subject: Optional[ExtensionSubject]) -> Optional[Refusal]:
    """Extensions are asked for by the head of the unit leading the issue; a cooperating unit's head,
    staff and the offices are refused (the issue's state is the service's to judge: a conflict)."""
    if actor.role not in ROLES[Permission.REQUEST_EXTENSION]:
        if actor.role in UNIT_ROLES:
            return Refusal("forbidden", "只有牵头单位负责人可以申请延期,经办人请报请单位负责人申请。")
        return Refusal("forbidden", "只有牵头单位负责人可以申请延期。")
    if subject is None:
        return None
    if actor.unit_id is None or actor.unit_id != subject.lead_unit_id:
        return Refusal("forbidden", "只有牵头单位负责人可以申请延期;配合单位请与牵头单位协商。")
    return None


def _decide_extension_refusal(actor: Actor, subject: Optional[ExtensionSubject]) -> Optional[Refusal]:
    """Extension requests are decided by the office (督察整改办) whose area holds the issue's lead unit;
    an office user without an area serves the whole tree."""
    if actor.role not in ROLES[Permission.DECIDE_EXTENSION]:
        return Refusal("forbidden", "只有督察整改办可以审批延期申请。")
    if subject is None or actor.unit_id is None:
        return None
    office = getattr(actor, "unit", None)
    lead = subject.lead_unit
    if office is None or lead is None or not office.contains(lead):
        return Refusal("forbidden", "该问题的牵头单位不在您所在督察整改办的管辖范围内,不能审批其延期申请。")
    return None


def can(actor: Optional[Actor], what: What, subject: Any = None) -> bool:
    """Whether `actor` may do `what` (to `subject`); a workflow action waiting only for something
    the user can still supply (a report, evidence) is not allowed yet."""
    return refusal(actor, what, subject) is None


def require(actor: Optional[Actor], what: What, subject: Any = None, doing: Optional[str] = None,
            message: Optional[str] = None) -> None:
    """Raise the `Refusal` saying why `actor` may not do `what` (to `subject`); nothing when allowed."""
    refused = refusal(actor, what, subject, doing, message)
    if refused is not None:
        raise refused


def is_precondition(refused: Optional[Refusal]) -> bool:
    """Whether a refusal only waits for something the user can supply (the page shows the action anyway)."""
    return isinstance(refused, Precondition)


def holders(what: Permission) -> tuple[Role, ...]:
    """The roles holding a right (e.g. who is told of a submission: whoever may verify)."""
    return ROLES[what]
