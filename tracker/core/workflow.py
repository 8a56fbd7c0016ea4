"""The verify-and-close (销号) workflow: states, actions, who may act, and guards.

Pure: no Flask, no database. Services describe an issue as a `Situation` and ask
`decide()` whether an actor may take an action; every page, API call and job goes
through here, so the rules live in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tracker.core.enums import CHAIN_ROLES, OPEN_STATES, Action, RectifyType, Role, State
from tracker.core.errors import Precondition, Refusal
from tracker.core.labels import ACTION_LABELS, ROLE_LABELS, STATE_LABELS, UNIT_LEVEL_LABELS

IN_PROGRESS, BASICALLY_DONE, SUBMITTED, VERIFIED, CLOSED = (
    State.IN_PROGRESS, State.BASICALLY_DONE, State.SUBMITTED, State.VERIFIED, State.CLOSED)
SUBMIT, VERIFY, APPROVE, RETURN, REOPEN, MARK_BASICALLY_DONE, MERGE = (
    Action.SUBMIT, Action.VERIFY, Action.APPROVE, Action.RETURN, Action.REOPEN, Action.MARK_BASICALLY_DONE,
    Action.MERGE)
ACTIONS = tuple(Action)

# (action, from_state) -> (roles allowed from that state, to_state)
# A closure request then passes the round's approval chain (审核链): each step is taken by the role the
# step names (one of CHAIN_ROLES), every step but the last with `verify`, the last with `approve`; whoever
# may take the step the issue waits for may also return it. The issue is `submitted` until its first
# signature, `verified` after (and still in the chain until the last step is signed).
CHAIN_STATES = (SUBMITTED, VERIFIED)
TRANSITIONS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    (SUBMIT, IN_PROGRESS): ((Role.UNIT_HEAD,), SUBMITTED),
    (SUBMIT, BASICALLY_DONE): ((Role.UNIT_HEAD,), SUBMITTED),
    (VERIFY, SUBMITTED): (CHAIN_ROLES, VERIFIED),
    (VERIFY, VERIFIED): (CHAIN_ROLES, VERIFIED),
    (APPROVE, SUBMITTED): (CHAIN_ROLES, CLOSED),
    (APPROVE, VERIFIED): (CHAIN_ROLES, CLOSED),
    (RETURN, SUBMITTED): (CHAIN_ROLES, IN_PROGRESS),
    (RETURN, VERIFIED): (CHAIN_ROLES, IN_PROGRESS),
    (REOPEN, CLOSED): ((Role.SUPERVISOR,), IN_PROGRESS),
    (MARK_BASICALLY_DONE, IN_PROGRESS): ((Role.UNIT_HEAD,), BASICALLY_DONE),
    # A merge keeps the issue's own state until it follows its target (see services).
    (MERGE, IN_PROGRESS): ((Role.SUPERVISOR,), IN_PROGRESS),
    (MERGE, BASICALLY_DONE): ((Role.SUPERVISOR,), BASICALLY_DONE),
}
# Actions a unit user may take only for the unit that leads the issue.
LEAD_UNIT_ACTIONS = (SUBMIT, MARK_BASICALLY_DONE)
REASON_REQUIRED = (RETURN, REOPEN)
# The actions a step of the chain is taken (or refused) with.
CHAIN_ACTIONS = (VERIFY, APPROVE, RETURN)




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
    # The approval-chain step the issue waits for (while submitted or verified): its role, label and
    # level, whether it is the last step that applies to the issue, whether the actor's office fits the
    # step (its level, above the issue's lead unit), and who signed earlier steps of this pass. Left
    # empty, the step is today's default: verification by a supervisor, then approval by an approver.
    step_role: Optional[str] = None
    step_label: Optional[str] = None
    step_level: Optional[str] = None
    step_last: Optional[bool] = None
    fits_step: bool = True
    signed_by: frozenset[int] = frozenset()
    # (action, role) pairs the round's chain has at some step (a role that never verifies in it is
    # refused verification outright; one whose turn is not now is told whose turn it is).
    chain_actions: frozenset[tuple[str, str]] = frozenset()


# Today's default chain: a supervisor verifies, an approver approves, either returns at their step.
DEFAULT_CHAIN_ACTIONS = frozenset({(VERIFY, Role.SUPERVISOR), (APPROVE, Role.APPROVER),
                                   (RETURN, Role.SUPERVISOR), (RETURN, Role.APPROVER)})


def chain_actions(steps: list[tuple[str, bool]]) -> frozenset[tuple[str, str]]:
    """The (action, role) pairs of a chain given as (role, is last) per step."""
    pairs = set()
    for role, last in steps:
        pairs.add((APPROVE if last else VERIFY, role))
        pairs.add((RETURN, role))
    return frozenset(pairs)


def current_step(issue: Situation) -> tuple[str, str, bool]:
    """The step an issue in the chain waits for: (role, label, is last); the default chain's when not given."""
    if issue.step_role is not None:
        return issue.step_role, issue.step_label or "", bool(issue.step_last)
    if issue.state == SUBMITTED:
        return Role.SUPERVISOR, "验收", False
    return Role.APPROVER, "销号", True


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
    if role not in roles_for(action) or (
            action in CHAIN_ACTIONS and (action, role) not in (issue.chain_actions or DEFAULT_CHAIN_ACTIONS)):
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
    if action in CHAIN_ACTIONS and issue.state in CHAIN_STATES:
        _check_step(action, role, actor_id, issue, label)
    if action == MARK_BASICALLY_DONE and issue.rectify_type != RectifyType.LONG_TERM:
        raise Refusal("conflict", "只有长期坚持类问题可以标记为基本完成。")
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


def _check_step(action: str, role: str, actor_id: Optional[int], issue: Situation, label: str) -> None:
    """Refuse a chain action the step the issue waits for does not allow this actor."""
    step_role, step_label, last = current_step(issue)
    waiting = f"问题当前待「{step_label}」"
    if role != step_role:
        who = ROLE_LABELS.get(step_role, step_role)
        raise Refusal("conflict", f"{waiting},由{who}办理,您的角色不能「{label}」。")
    if not issue.fits_step:
        level = UNIT_LEVEL_LABELS.get(issue.step_level or "", "")
        raise Refusal("forbidden", f"「{step_label}」须由问题牵头单位所在辖区的{level}"
                                   f"{ROLE_LABELS.get(step_role, step_role)}办理,您所在的辖区不符。")
    if action == VERIFY and last:
        raise Refusal("conflict", f"{waiting},这是审核链的最后一步,请「{ACTION_LABELS[APPROVE]}」或退回。")
    if action == APPROVE and not last:
        raise Refusal("conflict", f"{waiting},之后还有审核环节,请「{ACTION_LABELS[VERIFY]}」或退回。")
    if action != RETURN and actor_id is not None and (actor_id in issue.signed_by or issue.verified_by_id == actor_id):
        raise Refusal("conflict", "您已签署过本问题的审核环节(验收人不能再批准同一问题的销号),"
                                  "同一问题的各环节须由不同的人办理。")


# The actions that move a closure request along, each taken from one state by its roles:
# whoever may take one has the issues in that state as their queue (待验收, 待销号).
QUEUE_ACTIONS = (VERIFY, APPROVE)


def takes_steps(role: str) -> bool:
    """Whether a role may take steps of an approval chain (and so has a queue of issues waiting for it)."""
    return role in CHAIN_ROLES
