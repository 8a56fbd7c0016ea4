"""Approval chains (审核链): which step of its round's chain an issue waits for, who may sign it, and
the same rule in SQL for the queues ("waiting for my step").

A round's chain is an ordered list of steps {level, role, label}. A step applies to an issue unless its
level lies below the issue's lead unit's level (a city department's issue skips 县级验收). A step is
signed by a user of the step's role whose office sits at the step's level and holds the issue's lead
unit in its subtree; a step without a level, by such a user at any level whose office holds the lead
unit; a user serving the whole tree (no office unit) may sign any step of their role. Nobody signs two
steps of one pass (a return or a reopening starts a new pass).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import and_, false, func, or_, select, true, tuple_, update
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import permissions, workflow
from tracker.core.enums import CHAIN_ROLES, LEVEL_RANK, State
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.labels import ROLE_LABELS, UNIT_LEVEL_LABELS
from tracker.core.permissions import Permission
from tracker.issues.models import Issue, Signature
from tracker.rounds import services as rounds_service
from tracker.rounds.models import DEFAULT_CHAIN, Round, RoundStep, StepSpec
from tracker.units.models import Unit

CHAIN_STATES = (State.SUBMITTED, State.VERIFIED)


def steps_of(round_: Round) -> list[StepSpec]:
    """The round's chain as written; today's default for a round that has none."""
    return [step.spec for step in round_.steps] or list(DEFAULT_CHAIN)


def applies(step: StepSpec, lead_unit: Unit) -> bool:
    """Whether a step applies to an issue led by `lead_unit` (not below the lead unit's level)."""
    return step.level is None or LEVEL_RANK[step.level] >= LEVEL_RANK[lead_unit.level]


def first_step(round_: Round, lead_unit: Unit) -> int:
    """The position of the first step a submitted issue waits for (the last step always applies)."""
    return next_step(round_, lead_unit, -1)


def next_step(round_: Round, lead_unit: Unit, position: int) -> int:
    """The position of the first applying step after `position`; the last step when none applies
    before it (a chain always ends with its approval, whatever the levels)."""
    steps = steps_of(round_)
    for later in range(position + 1, len(steps)):
        if applies(steps[later], lead_unit):
            return later
    return len(steps) - 1


def is_last(round_: Round, position: int) -> bool:
    """Whether `position` is the chain's last step (taken with `approve`)."""
    return position >= len(steps_of(round_)) - 1


def actions_of(round_: Round) -> frozenset[tuple[str, str]]:
    """The (action, role) pairs the round's chain has at some step (for the workflow's refusals)."""
    steps = steps_of(round_)
    return workflow.chain_actions([(step.role, n == len(steps) - 1) for n, step in enumerate(steps)])


def position_of(issue: Issue) -> Optional[int]:
    """The position of the step the issue waits for; None outside the chain (`Issue.waiting_position`)."""
    return issue.waiting_position


def step_at(round_: Round, position: Optional[int]) -> Optional[StepSpec]:
    """The step at `position`, None when the issue is not in the chain."""
    steps = steps_of(round_)
    if position is None or not 0 <= position < len(steps):
        return None
    return steps[position]


def office_fits(user: User, step: StepSpec, lead_unit: Unit) -> bool:
    """Whether the user's office may sign `step` for an issue led by `lead_unit` (the role aside)."""
    office = user.unit
    if office is None:
        return True
    if step.level is not None and office.level != step.level:
        return False
    return office.contains(lead_unit)


def signers(session: DbSession, issue: Issue) -> frozenset[int]:
    """Who signed a step of the issue's current pass."""
    return frozenset(session.scalars(
        select(Signature.user_id).where(Signature.issue_id == issue.id, Signature.cleared_at.is_(None))))


def sign(session: DbSession, issue: Issue, user: User, now: datetime) -> Signature:
    """Record the user's signature of the step the issue waits for."""
    position = position_of(issue)
    step = step_at(issue.round, position)
    assert step is not None and position is not None  # the workflow allowed the action
    signature = Signature(issue_id=issue.id, position=position, label=step.label, user_id=user.id,
                          signed_at=now)
    session.add(signature)
    return signature


def clear(session: DbSession, issue: Issue, now: datetime) -> None:
    """End the issue's current pass (a return or a reopening): its signatures stay as history."""
    session.execute(update(Signature).where(Signature.issue_id == issue.id, Signature.cleared_at.is_(None))
                    .values(cleared_at=now).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class StepView:
    """A step of the issue's chain as its page shows it: signed (by whom, when), waited for, to come, or
    skipped (below the lead unit's level)."""

    label: str
    office: str  # "县级·督察整改办", or the role alone for a step at any level
    status: str  # "signed", "waiting", "pending" or "skipped"
    signer: Optional[str] = None
    signed_at: Optional[datetime] = None


def progress(session: DbSession, issue: Issue) -> list[StepView]:
    """The issue's chain with the signatures of its current (or, once closed, last) pass: one query."""
    rows = session.execute(select(Signature.position, Signature.signed_at, User.display_name, User.username)
                           .join(User, User.id == Signature.user_id)
                           .where(Signature.issue_id == issue.id, Signature.cleared_at.is_(None))).all()
    signed = {position: (display or username, at) for position, at, display, username in rows}
    views = []
    for position, step in enumerate(steps_of(issue.round)):
        office = "·".join(x for x in (UNIT_LEVEL_LABELS.get(step.level or "", ""),
                                      ROLE_LABELS.get(step.role, step.role)) if x)
        if position in signed:
            views.append(StepView(step.label, office, "signed", *signed[position]))
        elif position == position_of(issue):
            views.append(StepView(step.label, office, "waiting"))
        elif not applies(step, issue.lead_unit) and position < len(steps_of(issue.round)) - 1:
            views.append(StepView(step.label, office, "skipped"))
        else:
            views.append(StepView(step.label, office, "pending"))
    return views


def waiting_label(issue: Issue) -> Optional[str]:
    """Where an issue in the chain waits, as lists say it: "待市级验收"; None outside the chain."""
    return issue.waiting_label


@dataclass(frozen=True)
class Waiting:
    """The step an issue waits for, as the API tells it (step counted from 1)."""

    step: int
    label: str
    level: Optional[str]
    role: str

    @property
    def level_label(self) -> str:
        """The step's level in Chinese (empty for any level)."""
        return UNIT_LEVEL_LABELS.get(self.level or "", "")


def waiting_for(issue: Issue) -> Optional[Waiting]:
    """The step the issue waits for, None when it is not in the chain."""
    position = position_of(issue)
    step = step_at(issue.round, position)
    if step is None or position is None:
        return None
    return Waiting(position + 1, step.label, step.level, step.role)


def awaiting(user: User) -> ColumnElement[bool]:
    """The WHERE clause of the issues waiting for a step this user may sign now: the step's role is
    theirs, their office fits it, and they signed no earlier step of the pass. Add `visible_issues`."""
    steps = select(RoundStep.round_id, RoundStep.position).where(RoundStep.role == user.role)
    office = user.unit
    lead_inside: ColumnElement[bool] = true()
    if office is not None:
        steps = steps.where(or_(RoundStep.level.is_(None), RoundStep.level == office.level))
        lead_inside = Issue.lead_unit_id.in_(
            select(Unit.id).where(Unit.path.startswith(office.path, autoescape=True)))
    if user.role not in CHAIN_ROLES:
        return false()
    return and_(
        Issue.state.in_(CHAIN_STATES),
        tuple_(Issue.round_id, Issue.chain_step).in_(steps),
        lead_inside,
        Issue.id.not_in(select(Signature.issue_id).where(Signature.user_id == user.id,
                                                         Signature.cleared_at.is_(None))),
    )


def may_sign(session: DbSession, issue: Issue, users: Sequence[User]) -> list[User]:
    """Those of `users` who may sign the step the issue waits for now (role, office, not signed before)."""
    step = step_at(issue.round, position_of(issue))
    if step is None:
        return []
    signed = signers(session, issue)
    return [u for u in users if u.role == step.role and u.id not in signed
            and office_fits(u, step, issue.lead_unit)]


def in_chain_count(session: DbSession, round_: Round) -> int:
    """How many of the round's issues are in its approval chain now (submitted or verified)."""
    return int(session.scalar(select(func.count()).select_from(Issue).where(
        Issue.round_id == round_.id, Issue.state.in_(CHAIN_STATES))) or 0)


def change_chain(session: DbSession, actor: Optional[User], round_: Round, raw: Any) -> Round:
    """Replace a round's approval chain (admin). Refused while any issue of the round is in the chain:
    its signatures and the step it waits for are positions in the old chain."""
    permissions.require(actor, Permission.ADMINISTER, message="只有系统管理员可以修改审核链。")
    steps = rounds_service.parse_chain(raw)
    if steps == steps_of(round_):
        return round_
    waiting = in_chain_count(session, round_)
    if waiting:
        raise Refusal("conflict", f"本轮次有 {waiting} 个问题正在审核中(已提交销号、尚未销号),"
                                  "修改审核链会打乱其审核环节;请待这些问题销号或被退回后再修改。", "chain")
    rounds_service.replace_chain(round_, steps)
    session.flush()
    return round_
