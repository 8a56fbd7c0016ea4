"""The workflow table on its own: every state x action x role, allowed or refused, and each guard."""
import itertools
from types import SimpleNamespace

import pytest

from tracker.core import permissions
from tracker.core import workflow as wf
from tracker.core.enums import ROLES, STATES
from tracker.core.errors import Refusal
from tracker.core.permissions import Permission
from tracker.core.workflow import Situation, decide

# Written out by hand from DOMAIN.md, independently of workflow.TRANSITIONS.
ALLOWED = {
    ("submit", "in_progress", "unit_head"): "submitted",
    ("submit", "basically_done", "unit_head"): "submitted",
    ("verify", "submitted", "supervisor"): "verified",
    ("approve", "verified", "approver"): "closed",
    ("return", "submitted", "supervisor"): "in_progress",
    ("return", "verified", "approver"): "in_progress",
    ("reopen", "closed", "supervisor"): "in_progress",
    ("mark_basically_done", "in_progress", "unit_head"): "basically_done",
    ("merge", "in_progress", "supervisor"): "in_progress",
    ("merge", "basically_done", "supervisor"): "basically_done",
}
# The roles a step of an approval chain may name: each of them may verify, approve or return when the
# step an issue waits for is theirs (the default chain: a supervisor verifies, an approver approves).
CHAIN = {"supervisor", "approver"}  # the roles any chain's steps may name
ROLES_BY_ACTION = {
    "submit": {"unit_head"},
    "verify": {"supervisor"},
    "approve": {"approver"},
    "return": {"supervisor", "approver"},
    "reopen": {"supervisor"},
    "mark_basically_done": {"unit_head"},
    "merge": {"supervisor"},
}
READY = dict(rectify_type="long_term", has_summary=True, evidence_count=1, report_count=1)
OPEN_TARGET = Situation(state="in_progress")


@pytest.mark.parametrize("state, action, role", list(itertools.product(STATES, wf.ACTIONS, ROLES)))
def test_every_state_action_role(state, action, role):
    relation = "lead" if role in ("unit_staff", "unit_head") else None
    sit = Situation(state=state, relation=relation, **READY)
    expected = ALLOWED.get((action, state, role))
    if expected is not None:
        assert decide(action, role, 1, sit, comment="理由", target=OPEN_TARGET) == expected
        return
    with pytest.raises(Refusal) as refused:
        decide(action, role, 1, sit, comment="理由", target=OPEN_TARGET)
    # With today's chain, a role the chain never lets take the action is refused it outright.
    assert refused.value.kind == ("forbidden" if role not in ROLES_BY_ACTION[action] else "conflict")
    assert refused.value.message  # a clear message for every refusal
    assert refused.value.status in (403, 409)


# Every (action, state, role) the table lets through to the guards, before the chain's step is judged.
TABLE = {
    **{k: v for k, v in ALLOWED.items() if k[0] not in ("verify", "approve", "return")},
    **{("verify", state, role): "verified" for state in ("submitted", "verified") for role in CHAIN},
    **{("approve", state, role): "closed" for state in ("submitted", "verified") for role in CHAIN},
    **{("return", state, role): "in_progress" for state in ("submitted", "verified") for role in CHAIN},
}


def test_transitions_table_matches_the_hand_written_one():
    derived = {(a, s, r): to for (a, s), (roles, to) in wf.TRANSITIONS.items() for r in roles}
    assert derived == TABLE


# A three-step chain (县级验收 → 市级验收 → 自治区审核销号), seen at each step.
def step(position, **fields):
    chain = [("supervisor", "县级验收", "county"), ("supervisor", "市级验收", "city"),
             ("approver", "自治区审核销号", "province")]
    role, label, level = chain[position]
    values = dict(state="submitted" if position == 0 else "verified", step_role=role, step_label=label,
                  step_level=level, step_last=position == 2, **READY,
                  chain_actions=wf.chain_actions([(r, n == 2) for n, (r, _, _) in enumerate(chain)]))
    values.update(fields)
    return Situation(**values)


def test_each_step_is_taken_by_its_role_with_verify_and_the_last_with_approve():
    assert decide("verify", "supervisor", 1, step(0)) == "verified"
    assert decide("verify", "supervisor", 2, step(1, signed_by=frozenset({1}))) == "verified"
    assert decide("approve", "approver", 3, step(2, signed_by=frozenset({1, 2}))) == "closed"
    assert decide("return", "supervisor", 2, step(1), comment="材料不全") == "in_progress"


@pytest.mark.parametrize("action, role, position, fields, kind, words", [
    ("verify", "approver", 1, {}, "forbidden", "无权"),  # the approver verifies no step of this chain
    ("approve", "supervisor", 2, {}, "forbidden", "无权"),  # the last step is the approver's
    ("return", "approver", 1, {}, "conflict", "待「市级验收」"),  # the approver's turn is later
    ("verify", "supervisor", 1, {"fits_step": False}, "forbidden", "市级督察整改办"),  # another county's office
    # A chain of one role throughout: approve before the last step, verify at the last step.
    ("approve", "supervisor", 1, {"chain_actions": frozenset({("verify", "supervisor"), ("approve", "supervisor")})},
     "conflict", "之后还有审核环节"),
    ("verify", "approver", 2, {"chain_actions": frozenset({("verify", "approver"), ("approve", "approver")})},
     "conflict", "最后一步"),
    ("verify", "supervisor", 1, {"signed_by": frozenset({1})}, "conflict", "不同的人"),  # a second signature
    ("approve", "approver", 2, {"signed_by": frozenset({1})}, "conflict", "不同的人"),
    ("return", "supervisor", 1, {"fits_step": False}, "forbidden", "辖区不符"),
])
def test_chain_refusals(action, role, position, fields, kind, words):
    with pytest.raises(Refusal) as refused:
        decide(action, role, 1, step(position, **fields), comment="理由")
    assert refused.value.kind == kind
    assert words in refused.value.message


def test_a_signer_may_still_return_the_issue():
    # Separation of duties bars a second signature, not a return with a reason.
    assert decide("return", "supervisor", 1, step(1, signed_by=frozenset({1})), comment="复核发现问题") == "in_progress"


def refusal(action, role="unit_head", comment="理由", target=OPEN_TARGET, actor_id=1, **fields):
    values = dict(state="in_progress", relation="lead", **READY)
    values.update(fields)
    with pytest.raises(Refusal) as refused:
        decide(action, role, actor_id, Situation(**values), comment=comment, target=target)
    return refused.value


def test_cooperating_unit_cannot_submit():
    err = refusal("submit", relation="cooperating")
    assert (err.kind, err.status) == ("forbidden", 403)
    assert "配合单位" in err.message


def test_other_unit_cannot_submit():
    assert refusal("submit", relation=None).kind == "forbidden"


@pytest.mark.parametrize("missing, words", [
    ({"report_count": 0}, "进展"), ({"evidence_count": 0}, "佐证材料"),
])
def test_submit_needs_report_and_evidence(missing, words):
    err = refusal("submit", **missing)
    assert (err.kind, err.status) == ("conflict", 409)
    assert words in err.message


def test_submit_needs_summary():
    err = refusal("submit", has_summary=False)
    assert (err.kind, err.status) == ("invalid", 422)


@pytest.mark.parametrize("action, role, state", [
    ("return", "supervisor", "submitted"), ("return", "approver", "verified"), ("reopen", "supervisor", "closed"),
])
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_reason_required(action, role, state, comment):
    err = refusal(action, role=role, state=state, relation=None, comment=comment)
    assert (err.kind, err.status) == ("invalid", 422)
    assert "理由" in err.message


def test_approver_who_verified_cannot_approve():
    err = refusal("approve", role="approver", state="verified", relation=None, verified_by_id=7, actor_id=7)
    assert err.kind == "conflict"
    assert decide("approve", "approver", 8, Situation(state="verified", verified_by_id=7)) == "closed"


def test_basically_done_only_for_long_term():
    err = refusal("mark_basically_done", rectify_type="deadline")
    assert err.kind == "conflict" and "长期坚持" in err.message


def test_merged_issue_takes_no_action():
    err = refusal("submit", merged=True)
    assert err.kind == "conflict" and "合并" in err.message


@pytest.mark.parametrize("target, kind", [
    (None, "invalid"),
    (Situation(state="closed"), "conflict"),
    (Situation(state="in_progress", merged=True), "conflict"),
])
def test_merge_target_must_be_an_open_unmerged_issue(target, kind):
    err = refusal("merge", role="supervisor", relation=None, target=target)
    assert err.kind == kind


def test_issue_with_merged_issues_cannot_be_merged_itself():
    assert refusal("merge", role="supervisor", relation=None, has_merged_issues=True).kind == "conflict"


def test_unknown_action():
    assert refusal("delete").kind == "invalid"


def test_form_check_skips_inputs():
    sit = Situation(state="submitted")
    assert decide("return", "supervisor", 1, sit, check_inputs=False) == "in_progress"


def test_may_report():
    def refused(role, relation, state, merged):
        actor = SimpleNamespace(id=1, role=role, unit_id=1)
        return permissions.refusal(actor, Permission.REPORT, Situation(state=state, relation=relation, merged=merged))

    assert refused("unit_staff", "cooperating", "in_progress", False) is None
    assert refused("unit_staff", None, "in_progress", False).kind == "forbidden"
    assert refused("supervisor", None, "in_progress", False).kind == "forbidden"
    assert refused("unit_head", "lead", "closed", False).kind == "conflict"
    assert refused("unit_head", "lead", "in_progress", True).kind == "conflict"
