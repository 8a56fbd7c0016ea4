"""The API of deadline extensions: ask (201), decide (200), the issue's `extensions` and deadline history;
refusals in the error shape (403, 404, 409, 422) change nothing."""
from __future__ import annotations

from datetime import date

import pytest

from tests.support.api import api_for, assert_refused, rows, snapshot
from tests.support.factories import make_issue, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues.models import DeadlineChange, ExtensionRequest, Issue

KEYS = {"id", "state", "issue_id", "old_deadline", "new_deadline", "reason", "requested_at", "requested_by",
        "granted_deadline", "decided_at", "decided_by", "decision_reason", "state_label"}


@pytest.fixture
def world(session):
    county1, county2 = make_unit("C1", "一区"), make_unit("C2", "二区")
    lead, coop, other = make_unit("L1", "一区环保局", parent=county1), make_unit("L2", "一区住建局", parent=county1), \
        make_unit("L3", "二区环保局", parent=county2)
    round_ = make_round("第一轮")
    issue = make_issue(lead_unit=lead, round=round_, cooperating=(coop,), deadline=date(2020, 9, 30),
                       original_deadline=date(2020, 9, 30))
    people = dict(head=make_user("unit_head", lead, username="head"), staff=make_user("unit_staff", lead),
                  coop=make_user("unit_head", coop), outsider=make_user("unit_head", other),
                  sup1=make_user("supervisor", county1, username="sup1"), sup2=make_user("supervisor", county2),
                  approver=make_user("approver"))
    session.commit()
    return dict(issue=issue, round=round_, **people)


def ask(client, world, **body):
    return api_for(client, world["head"]).post(f"/issues/{world['issue'].id}/extensions",
                                               json={"new_deadline": "2020-12-31", "reason": "汛期", **body})


def test_ask_decide_and_read_the_issue(client, world):
    response = ask(client, world)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == KEYS
    assert (body["state"], body["state_label"], body["issue_id"], body["old_deadline"], body["new_deadline"],
            body["reason"], body["requested_by"], body["granted_deadline"], body["decided_at"]) == \
        ("pending", "待审批", world["issue"].id, "2020-09-30", "2020-12-31", "汛期", "head", None, None)
    assert body["requested_at"] == "2020-07-15T02:00:00Z"

    office = api_for(client, world["sup1"])
    response = office.post(f"/extensions/{body['id']}/decision",
                           json={"decision": "approve", "deadline": "2020-11-30", "reason": "压缩工期"})
    assert response.status_code == 200, response.get_json()
    decided = response.get_json()
    assert (decided["state"], decided["state_label"], decided["granted_deadline"], decided["decided_by"],
            decided["decision_reason"]) == ("approved", "已批准", "2020-11-30", "sup1", "压缩工期")

    issue = office.get(f"/issues/{world['issue'].id}").get_json()
    assert issue["deadline"] == "2020-11-30" and issue["original_deadline"] == "2020-09-30"
    assert [e["id"] for e in issue["extensions"]] == [body["id"]] and issue["extensions"][0]["state"] == "approved"
    assert [(c["old"], c["new"], c["source"], c["by"]) for c in issue["deadline_history"]] == \
        [("2020-09-30", "2020-11-30", "extension", "sup1")]


def test_a_rejection_needs_a_reason(client, world):
    request_id = ask(client, world).get_json()["id"]
    office = api_for(client, world["sup1"])
    before = snapshot(world["issue"].id)
    assert_refused(office.post(f"/extensions/{request_id}/decision", json={"decision": "reject"}), 422,
                   "请填写驳回理由")
    assert snapshot(world["issue"].id) == before
    response = office.post(f"/extensions/{request_id}/decision", json={"decision": "reject", "reason": "不充分"})
    assert response.status_code == 200 and response.get_json()["state"] == "rejected"
    assert db.session.get(Issue, world["issue"].id).deadline == date(2020, 9, 30)


@pytest.mark.parametrize("who, body, status, fragment", [
    ("head", {"new_deadline": "2020-09-01", "reason": "x"}, 422, "须晚于现整改时限"),
    ("head", {"new_deadline": "2020/12/31", "reason": "x"}, 422, "YYYY-MM-DD"),
    ("head", {"new_deadline": "2020-12-31"}, 422, "请填写延期理由"),
    ("head", {"new_deadline": 20201231, "reason": "x"}, 400, "new_deadline"),
    ("staff", {"new_deadline": "2020-12-31", "reason": "x"}, 403, "牵头单位负责人"),
    ("coop", {"new_deadline": "2020-12-31", "reason": "x"}, 403, "配合单位"),
    ("sup1", {"new_deadline": "2020-12-31", "reason": "x"}, 403, "牵头单位负责人"),
    ("outsider", {"new_deadline": "2020-12-31", "reason": "x"}, 404, "不存在"),
])
def test_request_refusals_change_nothing(client, world, who, body, status, fragment):
    api = api_for(client, world[who])
    before = snapshot(world["issue"].id), rows(ExtensionRequest)
    assert_refused(api.post(f"/issues/{world['issue'].id}/extensions", json=body), status, fragment)
    assert (snapshot(world["issue"].id), rows(ExtensionRequest)) == before


def test_a_second_request_and_a_second_decision_conflict(client, world):
    request_id = ask(client, world).get_json()["id"]
    before = snapshot(world["issue"].id), rows(ExtensionRequest)
    assert_refused(ask(client, world, new_deadline="2021-01-31"), 409, "待审批")
    assert (snapshot(world["issue"].id), rows(ExtensionRequest)) == before
    office = api_for(client, world["sup1"])
    assert office.post(f"/extensions/{request_id}/decision", json={"decision": "approve"}).status_code == 200
    before = snapshot(world["issue"].id), rows(DeadlineChange)
    assert_refused(office.post(f"/extensions/{request_id}/decision", json={"decision": "approve"}), 409, "已处理")
    assert (snapshot(world["issue"].id), rows(DeadlineChange)) == before


def test_over_the_limit_conflicts(client, world):
    world["round"].max_extensions = 0
    db.session.commit()
    assert_refused(ask(client, world), 409, "本轮次每个问题最多延期 0 次,已延期 0 次。")


@pytest.mark.parametrize("who, body, status, fragment", [
    ("sup2", {"decision": "approve"}, 404, "不存在"),  # another county's office does not see the issue at all
    ("approver", {"decision": "approve"}, 403, "督察整改办"),
    ("head", {"decision": "approve"}, 403, "督察整改办"),
    ("outsider", {"decision": "approve"}, 404, "不存在"),
    ("sup1", {"decision": "maybe"}, 422, "approve"),
    ("sup1", {"decision": "approve", "deadline": "2020-09-30"}, 422, "须晚于"),
])
def test_decision_refusals_change_nothing(client, world, who, body, status, fragment):
    request_id = ask(client, world).get_json()["id"]
    api = api_for(client, world[who])
    before = snapshot(world["issue"].id), rows(DeadlineChange)
    assert_refused(api.post(f"/extensions/{request_id}/decision", json=body), status, fragment)
    assert (snapshot(world["issue"].id), rows(DeadlineChange)) == before
    assert db.session.get(ExtensionRequest, request_id).state == "pending"


def test_an_unknown_request_is_not_found(client, world):
    assert_refused(api_for(client, world["sup1"]).post("/extensions/999999/decision", json={"decision": "approve"}),
                   404, "不存在")
