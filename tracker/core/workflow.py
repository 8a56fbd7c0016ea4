"""The verify-and-close (销号) workflow: states, actions, who may act, and guards.

Pure: no Flask, no database. Services describe an issue as a `Situation` and ask
`decide()` whether an actor may take an action; every page, API call and job goes
through here, so the rules live in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tracker.core.enums import OPEN_STATES, Action, RectifyType, Role, State
from tracker.core.errors import Precondition, Refusal
from tracker.core.labels import ACTION_LABELS, STATE_LABELS

IN_PROGRESS, BASICALLY_DONE, SUBMITTED, VERIFIED, CLOSED = (
    State.IN_PROGRESS, State.BASICALLY_DONE, State.SUBMITTED, State.VERIFIED, State.CLOSED)
SUBMIT, VERIFY, APPROVE, RETURN, REOPEN, MARK_BASICALLY_DONE, MERGE = (
    Action.SUBMIT, Action.VERIFY, Action.APPROVE, Action.RETURN, Action.REOPEN, Action.MARK_BASICALLY_DONE,
    Action.MERGE)
ACTIONS = tuple(Action)

# (action, from_state) -> (roles allowed from that state, to_state)
TRANSITIONS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    (SUBMIT, IN_PROGRESS): ((Role.UNIT_HEAD,), SUBMITTED),
    (SUBMIT, BASICALLY_DONE): ((Role.UNIT_HEAD,), SUBMITTED),
    (VERIFY, SUBMITTED): ((Role.SUPERVISOR,), VERIFIED),
    (APPROVE, VERIFIED): ((Role.APPROVER,), CLOSED),
    (RETURN, SUBMITTED): ((Role.SUPERVISOR,), IN_PROGRESS),
    (RETURN, VERIFIED): ((Role.APPROVER,), IN_PROGRESS),
    (REOPEN, CLOSED): ((Role.SUPERVISOR,), IN_PROGRESS),
    (MARK_BASICALLY_DONE, IN_PROGRESS): ((Role.UNIT_HEAD,), BASICALLY_DONE),
    # A merge keeps the issue's own state until it follows its target (see services).
    (MERGE, IN_PROGRESS): ((Role.SUPERVISOR,), IN_PROGRESS),
    (MERGE, BASICALLY_DONE): ((Role.SUPERVISOR,), BASICALLY_DONE),
}
# Actions a unit user may take only for the unit that leads the issue.
LEAD_UNIT_ACTIONS = (SUBMIT, MARK_BASICALLY_DONE)
REASON_REQUIRED = (RETURN, REOPEN)




@dataclass(frozen=True)
class Situation:
    """What the workflow needs to know about an issue to judge an action."""

    state: str
    rectify_type: str = RectifyType.DEADLINE
    merged: bool = False
    has_merged_issues: bool = False
    relation: Optional[str] = None  # the actor's unit: "lead", "cooperating" or None
    has_summary: bool = False
    evidence_count: int = 0
    report_count: int = 0
    verified_by_id: Optional[int] = None


def roles_for(action: str) -> set[str]:
    """Every role that may take `action` from some state."""
    return {role for (act, _), (roles, _) in TRANSITIONS.items() if act == action for role in roles}


def decide(
    action: str,
    role: str,
    actor_id: Optional[int],
    issue: Situation,
    comment: Optional[str] = None,
    target: Optional[Situation] = None,
    check_inputs: bool = True,
) -> str:
    """Return the state `action` leads to, or raise `Refusal` saying why not.

    With check_inputs=False the reason, summary and merge target are not checked:
    that answers "may this user take this action now" for showing a form.
    """
    if action not in ACTIONS:
        raise Refusal("invalid", f"未知的操作:{action}")
    label = ACTION_LABELS[action]
    if role not in roles_for(action):
        raise Refusal("forbidden", f"您的角色无权执行「{label}」。")
    if action in LEAD_UNIT_ACTIONS and issue.relation != "lead":
        if issue.relation == "cooperating":
            raise Refusal("forbidden", f"配合单位不能「{label}」,请由牵头单位负责人办理。")
        raise Refusal("forbidden", f"只有牵头单位负责人可以「{label}」。")
    if issue.merged:
        raise Refusal("conflict", "该问题已合并整改,随所并入的问题流转,不能单独办理。")
    rule = TRANSITIONS.get((action, issue.state))
    state_label = STATE_LABELS.get(issue.state, issue.state)
    if rule is None:
        raise Refusal("conflict", f"问题当前状态为「{state_label}」,不能「{label}」。")
    roles, to_state = rule
    if role not in roles:
        raise Refusal("conflict", f"问题当前状态为「{state_label}」,您的角色不能「{label}」。")
    if action == MARK_BASICALLY_DONE and issue.rectify_type != RectifyType.LONG_TERM:
        raise Refusal("conflict", "只有长期坚持类问题可以标记为基本完成。")
    if action == APPROVE and actor_id is not None and issue.verified_by_id == actor_id:
        raise Refusal("conflict", "验收人不能再批准同一问题的销号,请由其他审批人办理。")
    if action == SUBMIT:
        if issue.report_count < 1:
            raise Precondition("提交销号前需至少报送一次整改进展。")
        if issue.evidence_count < 1:
            raise Precondition("提交销号前需至少上传一份佐证材料。")
    if action == MERGE and issue.has_merged_issues:
        raise Refusal("conflict", "已有其他问题并入本问题,本问题不能再并入其他问题。")
    if not check_inputs:
        return to_state
    if action in REASON_REQUIRED and not (comment or "").strip():
        raise Refusal("invalid", f"「{label}」必须填写理由。")
    if action == SUBMIT and not issue.has_summary:
        raise Refusal("invalid", "提交销号必须填写整改情况总结。")
    if action == MERGE:
        if target is None:
            raise Refusal("invalid", "请选择要合并整改的目标问题。")
        if target.merged:
            raise Refusal("conflict", "目标问题本身已合并到其他问题,请选择其最终问题。")
        if target.state not in OPEN_STATES:
            raise Refusal("conflict", "目标问题已不在整改中,不能合并。")
    return to_state


# The actions that move a closure request along, each taken from one state by its roles:
# whoever may take one has the issues in that state as their queue (待验收, 待销号).
QUEUE_ACTIONS = (VERIFY, APPROVE)


def queue_of(role: str) -> Optional[tuple[Action, State]]:
    """The queue a role works through: (the action it takes, the state issues wait in), or None."""
    for (action, from_state), (roles, _to) in TRANSITIONS.items():
        if action in QUEUE_ACTIONS and role in roles:
            return Action(action), State(from_state)
    return None
