"""The JSON API's issues: register, read, list, progress, evidence, transitions; refusals leave the data as it was."""
from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from sqlalchemy import select

from tests.support.api import ISSUE_KEYS, api_for, assert_refused, rows, snapshot
from tests.support.factories import PDF_BYTES, make_attachment, make_issue, make_report, make_round
from tracker.core.extensions import db
from tracker.core.files import path_for
from tracker.issues.models import Event, Issue, ProgressReport

# --- issues: create, read, list ----------------------------------------------

def issue_body(world, **over) -> dict:
    body = {"round_id": world["round"].id, "code": "API-001", "title": "某河流域水质不达标",
            "description": "反馈指出某河断面水质长期为劣V类。", "category": "feedback",
            "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": "LEAD",
            "cooperating_units": ["COOP", "OTHER"], "target": "断面水质达到IV类", "measures": "截污纳管",
            "domain": "水"}
    body.update(over)
    return body


def test_supervisor_registers_an_issue(client, world):
    api = api_for(client, world["supervisor"])
    response = api.post("/issues", json=issue_body(world))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == ISSUE_KEYS
    assert body["code"] == "API-001" and body["lead_unit"] == "LEAD"
    assert body["cooperating_units"] == ["COOP", "OTHER"]
    assert body["state"] == "in_progress" and body["merged_into"] is None
    assert body["deadline"] == "2020-12-31" and body["round_id"] == world["round"].id
    assert body["overdue"] is False and body["days_overdue"] == 0 and body["light"] in ("green", "yellow")
    assert body["created_at"].endswith("Z") and isinstance(body["version"], int)
    assert response.headers["Location"].endswith(f"/api/v1/issues/{body['id']}")
    events = api.get(f"/issues/{body['id']}/events").get_json()["items"]
    assert [(e["action"], e["actor"], e["to_state"]) for e in events] == [("create", "super", "in_progress")]


@pytest.mark.parametrize("who, over, status, fragment", [
    ("head", {}, 403, "只有督察整改办"),
    ("admin", {}, 403, "只有督察整改办"),
    ("supervisor", {"code": "Z-001"}, 409, "已存在"),
    ("supervisor", {"lead_unit": "NOPE"}, 422, "NOPE"),
    ("supervisor", {"cooperating_units": ["NOPE"]}, 422, "NOPE"),
    ("supervisor", {"category": "gossip"}, 422, "问题类别"),
    ("supervisor", {"deadline": "明年"}, 422, "YYYY-MM-DD"),
    ("supervisor", {"title": ""}, 422, "标题"),
    ("supervisor", {"round_id": 999999}, 422, "轮次"),
    ("supervisor", {"round_id": "1"}, 400, "字段 round_id 应为整数"),
    ("supervisor", {"cooperating_units": "COOP"}, 400, "字段 cooperating_units"),
    ("supervisor", {"deadline": 20201231}, 400, "字段 deadline"),
])
def test_issue_registration_refusals_change_nothing(client, world, who, over, status, fragment):
    api = api_for(client, world[who])
    before = (rows(Issue), rows(Event))
    assert_refused(api.post("/issues", json=issue_body(world, **over)), status, fragment)
    assert (rows(Issue), rows(Event)) == before


def test_get_issue_has_exactly_the_contract_fields(client, world):
    issue = world["issue"]
    api = api_for(client, world["coop_staff"])
    response = api.get(f"/issues/{issue.id}")
    assert response.status_code == 200
    body = response.get_json()
    # The contract only grows: every field of the list's issue, the deadline history, the step it waits
    # for and extension requests.
    assert set(body) == ISSUE_KEYS | {"original_deadline", "deadline_history", "waiting_for", "extensions"}
    assert body["original_deadline"] == body["deadline"] and body["deadline_history"] == []
    assert body["extensions"] == []
    # Deadline 2020-06-30, today 2020-07-15 in Beijing: 15 days overdue, red.
    assert (body["overdue"], body["days_overdue"], body["light"]) == (True, 15, "red")
    assert body["lead_unit"] == "LEAD" and body["cooperating_units"] == ["COOP"]
    assert body["progress_percent"] == 40 and body["version"] == issue.version


@pytest.mark.parametrize("path", ["", "/events"])
def test_issue_outside_scope_is_404(client, world, path):
    api = api_for(client, world["other_staff"])
    assert_refused(api.get(f"/issues/{world['issue'].id}{path}"), 404, "不存在或您无权查看")
    assert_refused(api.get(f"/issues/999999{path}"), 404, "不存在或您无权查看")


def test_events_list_actor_usernames_in_order(client, world, clock):
    issue = world["issue"]
    staff = api_for(client, world["staff"])
    assert staff.post(f"/issues/{issue.id}/progress",
                      json={"period": "2020-06", "percent": 60, "text": "完成截污管网铺设"}).status_code == 201
    clock.set("2020-07-15T03:00:00")
    assert staff.upload(issue.id).status_code == 201
    events = staff.get(f"/issues/{issue.id}/events").get_json()["items"]
    assert [(e["action"], e["actor"]) for e in events] == [("progress", "staff"), ("evidence", "staff")]
    # The contract only grows: `changes` lists what an edit changed ({} for other entries).
    assert set(events[0]) == {"at", "actor", "action", "from_state", "to_state", "comment", "changes"}
    assert events[0]["changes"] == {}
    assert events[0]["at"] == "2020-07-15T02:00:00Z" and events[1]["at"] == "2020-07-15T03:00:00Z"
    assert events[1]["comment"] == "整改证明.pdf"


def test_list_filters(client, world):
    lead, coop, other = world["lead"], world["coop"], world["other"]
    round2 = make_round("草原专项督察", kind="special")
    make_issue(lead_unit=other, round=round2, code="G-001", title="草原超载放牧", state="closed",
               deadline=date(2020, 3, 1))
    make_issue(lead_unit=coop, round=round2, code="G-002", title="矿山修复滞后", deadline=date(2020, 7, 18),
               progress_percent=90)
    make_issue(lead_unit=lead, round=round2, code="G-003", title="污水处理厂扩建", state="submitted",
               deadline=date(2021, 6, 30), progress_percent=100)
    api = api_for(client, world["supervisor"])

    def codes(query: str) -> list[str]:
        response = api.get(f"/issues?{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["total"] == len(body["items"])
        return sorted(item["code"] for item in body["items"])

    assert codes("") == ["G-001", "G-002", "G-003", "Z-001"]
    assert codes("state=closed") == ["G-001"]
    assert codes("state=open") == ["G-002", "G-003", "Z-001"]
    assert codes("unit=COOP") == ["G-002", "Z-001"]
    assert codes(f"round_id={round2.id}") == ["G-001", "G-002", "G-003"]
    assert codes("overdue=true") == ["Z-001"]
    assert codes("overdue=false") == ["G-001", "G-002", "G-003"]
    assert codes("light=red") == ["Z-001"]
    assert codes("light=yellow") == ["G-002"]
    assert codes("q=草原") == ["G-001"]
    assert codes("q=g-00") == ["G-001", "G-002", "G-003"]
    assert codes(f"round_id={round2.id}&unit=LEAD&state=submitted") == ["G-003"]


def test_list_pagination(client, world):
    for n in range(2, 8):
        make_issue(lead_unit=world["lead"], round=world["round"], code=f"Z-{n:03d}", deadline=date(2020, 8, n))
    api = api_for(client, world["staff"])
    first = api.get("/issues?per_page=3").get_json()
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (7, 1, 3, 3)
    third = api.get("/issues?per_page=3&page=3").get_json()
    assert (third["total"], third["page"], len(third["items"])) == (7, 3, 1)
    beyond = api.get("/issues?per_page=3&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 7
    seen = [i["code"] for p in (1, 2, 3) for i in api.get(f"/issues?per_page=3&page={p}").get_json()["items"]]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 7
    assert api.get("/issues").get_json()["per_page"] == 20


@pytest.mark.parametrize("query, fragment", [
    ("state=bogus", "参数 state"),
    ("unit=NOPE", "NOPE"),
    ("round_id=abc", "参数 round_id 应为整数"),
    ("overdue=maybe", "参数 overdue 应为 true 或 false"),
    ("light=blue", "参数 light"),
    ("page=0", "参数 page"),
    ("page=x", "参数 page"),
    ("per_page=101", "参数 per_page 应为1 到 100"),
    ("per_page=0", "参数 per_page"),
])
def test_list_bad_parameters_get_400(client, world, query, fragment):
    api = api_for(client, world["supervisor"])
    assert_refused(api.get(f"/issues?{query}"), 400, fragment)


# --- progress and evidence ---------------------------------------------------

@pytest.mark.parametrize("who", ["staff", "head", "coop_staff"])
def test_lead_and_cooperating_units_report_progress(client, world, who):
    issue = world["issue"]
    api = api_for(client, world[who])
    response = api.post(f"/issues/{issue.id}/progress", json={"period": "2020-07", "percent": 55,
                                                              "text": "已完成管网改造的一半"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["period"] == "2020-07" and body["percent"] == 55 and body["author"] == who
    assert body["issue_id"] == issue.id and isinstance(body["id"], int)
    after = snapshot(issue.id)
    assert after["progress"] == 55 and after["reports"] == 1 and after["events"] == 1


def test_second_report_for_a_period_replaces_the_first(client, world):
    issue = world["issue"]
    api = api_for(client, world["staff"])
    for pct in (50, 70):
        assert api.post(f"/issues/{issue.id}/progress",
                        json={"period": "2020-07", "percent": pct, "text": "进展"}).status_code == 201
    live = db.session.scalars(select(ProgressReport).where(ProgressReport.issue_id == issue.id,
                                                           ProgressReport.replaced_at.is_(None))).all()
    assert [r.percent for r in live] == [70]
    assert snapshot(issue.id)["reports"] == 2


@pytest.mark.parametrize("who, body, status, fragment", [
    ("other_staff", {"period": "2020-07", "percent": 50, "text": "x"}, 404, "不存在或您无权查看"),
    ("supervisor", {"period": "2020-07", "percent": 50, "text": "x"}, 403, "只有责任单位"),
    ("staff", {"period": "2020-13", "percent": 50, "text": "x"}, 422, "YYYY-MM"),
    ("staff", {"period": "2020-07", "percent": 150, "text": "x"}, 422, "0 到 100"),
    ("staff", {"period": "2020-07", "percent": 50, "text": "  "}, 422, "进展情况"),
    ("staff", {"period": "2020-07", "percent": "50", "text": "x"}, 400, "字段 percent 应为整数"),
    ("staff", {"period": "2020-07", "percent": True, "text": "x"}, 400, "字段 percent 应为整数"),
])
def test_progress_refusals_change_nothing(client, world, who, body, status, fragment):
    issue = world["issue"]
    api = api_for(client, world[who])
    before = snapshot(issue.id)
    assert_refused(api.post(f"/issues/{issue.id}/progress", json=body), status, fragment)
    assert snapshot(issue.id) == before


def test_progress_on_closed_issue_is_409(client, world, session):
    issue = make_issue(lead_unit=world["lead"], round=world["round"], state="closed")
    api = api_for(client, world["staff"])
    before = snapshot(issue.id)
    assert_refused(api.post(f"/issues/{issue.id}/progress", json={"period": "2020-07", "percent": 5, "text": "x"}),
                   409, "已销号")
    assert snapshot(issue.id) == before


def test_evidence_upload(client, world, app):
    issue = world["issue"]
    api = api_for(client, world["coop_staff"])
    response = api.upload(issue.id, name="../../etc/验收报告.pdf")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "filename", "size", "sha256"}
    assert body["filename"] == "验收报告.pdf" and body["size"] == len(PDF_BYTES)
    assert body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert path_for(app.config["UPLOAD_DIR"], body["sha256"]).read_bytes() == PDF_BYTES
    assert snapshot(issue.id)["attachments"] == 1


@pytest.mark.parametrize("content, name, fragment", [
    (b"MZ\x90\x00\x03" + b"\x00" * 100, "virus.exe", "不支持的文件类型"),
    (b"just some text, not a pdf at all", "fake.pdf", "内容与扩展名"),
])
def test_refused_file_type_is_422(client, world, content, name, fragment):
    issue = world["issue"]
    api = api_for(client, world["staff"])
    before = snapshot(issue.id)
    assert_refused(api.upload(issue.id, content, name), 422, fragment)
    assert snapshot(issue.id) == before


def test_file_over_upload_limit_is_413(client, world, app):
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    issue = world["issue"]
    api = api_for(client, world["staff"])
    before = snapshot(issue.id)
    big = PDF_BYTES + b"0" * (1024 * 1024)
    assert_refused(api.upload(issue.id, big), 413, "1 MB")
    assert snapshot(issue.id) == before


def test_body_over_max_content_length_is_json_413(client, world, app):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    issue = world["issue"]
    api = api_for(client, world["staff"])
    before = snapshot(issue.id)
    assert_refused(api.upload(issue.id, PDF_BYTES + b"0" * 10_000), 413, "太大")
    assert snapshot(issue.id) == before


def test_upload_without_file_field_is_400(client, world):
    issue = world["issue"]
    api = api_for(client, world["staff"])
    before = snapshot(issue.id)
    response = api.post(f"/issues/{issue.id}/attachments", data={"other": (io.BytesIO(PDF_BYTES), "a.pdf")},
                        content_type="multipart/form-data")
    assert_refused(response, 400, "字段名为 file")
    assert snapshot(issue.id) == before


@pytest.mark.parametrize("who, status", [("other_staff", 404), ("supervisor", 403)])
def test_upload_refused_for_outsiders(client, world, who, status):
    issue = world["issue"]
    api = api_for(client, world[who])
    before = snapshot(issue.id)
    assert_refused(api.upload(issue.id), status)
    assert snapshot(issue.id) == before


# --- transitions -------------------------------------------------------------

@pytest.fixture
def ready(world, session):
    """The world's issue with a report and evidence, ready for its unit head to submit."""
    make_report(world["issue"], percent=100)
    make_attachment(world["issue"])
    session.commit()
    return world


def test_unit_head_submits(client, ready):
    issue = ready["issue"]
    api = api_for(client, ready["head"])
    response = api.act(issue.id, action="submit", summary="已完成截污纳管,断面水质达标。", version=issue.version)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == ISSUE_KEYS
    assert body["state"] == "submitted" and body["version"] == issue.version
    # Submitted issues are no longer counted as overdue.
    assert body["overdue"] is False
    after = snapshot(issue.id)
    assert after["state"] == "submitted" and after["summary"] == "已完成截污纳管,断面水质达标。"


@pytest.mark.parametrize("who, state, body, status, fragment", [
    ("staff", "in_progress", {"action": "submit", "summary": "总结"}, 403, "您的角色无权"),
    ("coop_head", "in_progress", {"action": "submit", "summary": "总结"}, 403, "配合单位不能"),
    ("leader", "submitted", {"action": "verify"}, 403, "您的角色无权"),
    ("head", "submitted", {"action": "approve"}, 403, "您的角色无权"),
    ("supervisor", "in_progress", {"action": "verify"}, 409, "不能「验收通过」"),
    ("approver", "submitted", {"action": "approve"}, 409, "不能「批准销号」"),
    ("head", "submitted", {"action": "submit", "summary": "总结"}, 409, "不能「提交销号申请」"),
    ("supervisor", "submitted", {"action": "return"}, 422, "必须填写理由"),
    ("supervisor", "submitted", {"action": "return", "comment": "   "}, 422, "必须填写理由"),
    ("approver", "verified", {"action": "return"}, 422, "必须填写理由"),
    ("supervisor", "closed", {"action": "reopen"}, 422, "必须填写理由"),
    ("head", "in_progress", {"action": "submit"}, 422, "整改情况总结"),
    ("head", "in_progress", {"action": "mark_basically_done"}, 409, "长期坚持"),
    ("supervisor", "in_progress", {"action": "fly"}, 422, "未知的操作"),
    ("supervisor", "submitted", {"comment": "x"}, 400, "请提供 action"),
    ("supervisor", "submitted", {"action": "verify", "version": "1"}, 400, "字段 version 应为整数"),
    ("supervisor", "submitted", {"action": "verify", "comment": 5}, 400, "字段 comment 应为字符串"),
])
def test_transition_refusals_change_nothing(client, ready, session, who, state, body, status, fragment):
    issue = ready["issue"]
    issue.state = state
    session.commit()
    api = api_for(client, ready[who])
    before = snapshot(issue.id)
    assert_refused(api.act(issue.id, **body), status, fragment)
    assert snapshot(issue.id) == before


@pytest.mark.parametrize("who", ["other_head", "other_staff"])
def test_transition_out_of_scope_is_404(client, ready, who):
    issue = ready["issue"]
    api = api_for(client, ready[who])
    before = snapshot(issue.id)
    assert_refused(api.act(issue.id, action="submit", summary="总结"), 404, "不存在或您无权查看")
    assert snapshot(issue.id) == before


@pytest.mark.parametrize("missing, fragment", [("report", "整改进展"), ("evidence", "佐证材料")])
def test_submit_without_report_or_evidence_is_409(client, world, session, missing, fragment):
    issue = make_issue(lead_unit=world["lead"], round=world["round"])
    if missing != "report":
        make_report(issue)
    if missing != "evidence":
        make_attachment(issue)
    api = api_for(client, world["head"])
    before = snapshot(issue.id)
    assert_refused(api.act(issue.id, action="submit", summary="总结"), 409, fragment)
    assert snapshot(issue.id) == before


def test_stale_version_is_409(client, ready, session):
    issue = ready["issue"]
    issue.state = "submitted"
    session.commit()
    api = api_for(client, ready["supervisor"])
    before = snapshot(issue.id)
    assert_refused(api.act(issue.id, action="verify", version=before["version"] - 1), 409, "刚被他人修改")
    assert snapshot(issue.id) == before
    assert api.act(issue.id, action="verify", version=before["version"]).status_code == 200


def test_second_of_two_submissions_with_same_version_loses(client, ready):
    issue = ready["issue"]
    head = api_for(client, ready["head"])
    version = issue.version
    assert head.act(issue.id, action="submit", summary="总结", version=version).status_code == 200
    supervisor = api_for(client, ready["supervisor"])
    before = snapshot(issue.id)
    assert_refused(supervisor.act(issue.id, action="return", comment="材料不全", version=version), 409, "刚被他人修改")
    assert snapshot(issue.id) == before


def test_approver_who_verified_may_not_approve(client, world, session):
    # Verify is the office's and approve the approver's, so one person doing both only happens
    # when a role changes between the two steps: the rule still holds.
    approver = world["approver"]
    issue = make_issue(lead_unit=world["lead"], round=world["round"], state="verified",
                       verified_by_id=approver.id)
    api = api_for(client, approver)
    before = snapshot(issue.id)
    assert_refused(api.act(issue.id, action="approve"), 409, "验收人不能再批准")
    assert snapshot(issue.id) == before


@pytest.mark.parametrize("data", ["{broken", "[1, 2]", "\"submit\"", ""])
def test_malformed_transition_body_is_400(client, ready, data):
    issue = ready["issue"]
    api = api_for(client, ready["head"])
    before = snapshot(issue.id)
    response = api.post(f"/issues/{issue.id}/transitions", data=data, content_type="application/json")
    assert_refused(response, 400)
    assert snapshot(issue.id) == before


def test_unknown_issue_is_404_for_every_issue_call(client, world):
    api = api_for(client, world["supervisor"])
    assert_refused(api.get("/issues/424242"), 404)
    assert_refused(api.get("/issues/424242/events"), 404)
    assert_refused(api.post("/issues/424242/progress", json={"period": "2020-07", "percent": 1, "text": "x"}), 404)
    assert_refused(api.upload(424242), 404)
    assert_refused(api.act(424242, action="verify"), 404)


def test_merge_and_follow(client, world, session):
    main = world["issue"]
    side = make_issue(lead_unit=world["other"], round=world["round"], code="Z-002")
    session.commit()
    api = api_for(client, world["supervisor"])
    response = api.act(side.id, action="merge", target_issue_id=main.id, comment="同一河段")
    assert response.status_code == 200
    assert response.get_json()["merged_into"] == main.id
    listed = {i["code"]: i for i in api.get("/issues?state=merged").get_json()["items"]}
    assert list(listed) == ["Z-002"]
    before = snapshot(side.id)
    assert_refused(api.act(side.id, action="merge", target_issue_id=main.id), 409, "已合并整改")
    assert snapshot(side.id) == before


def test_reopen_with_reason(client, world, session):
    issue = make_issue(lead_unit=world["lead"], round=world["round"], state="closed")
    session.commit()
    api = api_for(client, world["supervisor"])
    response = api.act(issue.id, action="reopen", comment="回头看发现问题反弹")
    assert response.status_code == 200
    assert response.get_json()["state"] == "in_progress"
    last = api.get(f"/issues/{issue.id}/events").get_json()["items"][-1]
    assert (last["action"], last["from_state"], last["to_state"], last["comment"]) == \
        ("reopen", "closed", "in_progress", "回头看发现问题反弹")
