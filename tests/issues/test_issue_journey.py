"""The verify-and-close journey through the pages, and every refused action changing nothing."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from tests.support.factories import make_attachment, make_issue, make_report, make_round, make_unit, make_user, pdf_file
from tests.support.web import client_for, csrf_token, form_ids, snapshot
from tracker.core.extensions import db
from tracker.issues.models import Issue
from tracker.issues.services import STALE_MESSAGE

pytestmark = pytest.mark.usefixtures("fast_passwords", "fresh_login_per_request")  # tests/conftest.py


def page(client, issue_id: int) -> str:
    response = client.get(f"/issues/{issue_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def version_in(html: str, action: str) -> str:
    form = re.search(rf'<form[^>]*id="action-{action}".*?</form>', html, re.S)
    assert form, f"no form for {action}"
    return re.search(r'name="version" value="(\d+)"', form.group(0)).group(1)


def state_shown(html: str) -> str:
    return re.search(r'id="issue-state">([^<]+)<', html).group(1)


def timeline(html: str) -> list[str]:
    block = re.search(r'<ol[^>]*id="timeline".*?</ol>', html, re.S).group(0)
    return re.findall(r'<li class="event" data-action="([a-z_]+)"', block)


def act(client, issue_id: int, action: str, version, **fields):
    """POST one workflow action and follow the redirect back to the issue page."""
    data = {"action": action, "version": str(version), **fields}
    response = client.post(f"/issues/{issue_id}/transition", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == f"/issues/{issue_id}"
    return response.get_data(as_text=True)


@pytest.fixture
def cast(session):
    lead = make_unit("ENV", "市生态环境分局")
    coop = make_unit("HOUSING", "市住建局")
    round_ = make_round("第一轮中央环保督察")
    people = dict(
        staff=make_user("unit_staff", lead, username="clerk"),
        head=make_user("unit_head", lead, username="chief"),
        coop_head=make_user("unit_head", coop, username="coop_chief"),
        supervisor=make_user("supervisor", username="office", display_name="督察办小王"),
        approver=make_user("approver", username="approver"),
        leader=make_user("leader", username="leader"),
    )
    session.commit()
    return dict(lead=lead, coop=coop, round=round_, **people)


def test_full_journey_from_registration_to_closed(app, cast, clock):
    office = client_for(app, cast["supervisor"])
    clerk = client_for(app, cast["staff"])
    chief = client_for(app, cast["head"])
    approver = client_for(app, cast["approver"])

    # 1. The office registers the issue.
    response = office.post("/issues/new", data={
        "round_id": str(cast["round"].id), "code": "ZY-2016-07", "title": "黑臭水体整治不到位",
        "description": "城区河道黑臭", "category": "feedback", "rectify_type": "deadline", "domain": "水",
        "deadline": "2020-12-31", "assigned_on": "2020-07-15", "lead_unit": "ENV",
        "cooperating_units": ["HOUSING"], "target": "消除黑臭", "measures": "截污纳管",
    })
    assert response.status_code == 302
    issue_id = db.session.scalar(select(Issue.id).where(Issue.code == "ZY-2016-07"))

    # 2. The clerk files a progress report and uploads evidence; the clerk cannot submit.
    clock.set("2020-07-16T01:00:00")
    html = page(clerk, issue_id)
    assert 'id="progress-form"' in html and 'id="evidence-form"' in html and form_ids(html) == set()
    html = clerk.post(f"/issues/{issue_id}/progress",
                      data={"period": "2020-07", "percent": "80", "text": "已完成截污管网"},
                      follow_redirects=True).get_data(as_text=True)
    assert "2020-07 的进展已报送,进度 80%。" in html
    data, name = pdf_file("整改验收报告.pdf")
    html = clerk.post(f"/issues/{issue_id}/attachments", data={"file": (data, name)},
                      content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "佐证材料「整改验收报告.pdf」已上传。" in html and "整改验收报告.pdf</a>" in html

    # 3. The unit head submits with a summary.
    clock.set("2020-07-17T01:00:00")
    html = page(chief, issue_id)
    assert form_ids(html) == {"action-submit"}
    html = act(chief, issue_id, "submit", version_in(html, "submit"), summary="已完成全部整改措施", comment="请验收")
    assert "已提交销号申请,等待督察整改办验收。" in html
    assert state_shown(html) == "待验收"

    # 4. The office returns it, with a reason.
    clock.set("2020-07-18T01:00:00")
    html = page(office, issue_id)
    assert form_ids(html) == {"action-verify", "action-return"}
    html = act(office, issue_id, "return", version_in(html, "return"), comment="佐证材料不足,请补充监测报告")
    assert "已退回,问题回到整改中。" in html and state_shown(html) == "整改中"

    # 5. The head resubmits; the earlier summary is offered again.
    clock.set("2020-07-19T01:00:00")
    html = page(chief, issue_id)
    assert "已完成全部整改措施</textarea>" in html
    html = act(chief, issue_id, "submit", version_in(html, "submit"), summary="已完成全部整改措施,补充监测报告")
    assert state_shown(html) == "待验收"

    # 6. The office verifies.
    clock.set("2020-07-20T01:00:00")
    html = act(office, issue_id, "verify", version_in(page(office, issue_id), "verify"), comment="验收合格")
    assert "已验收通过,等待销号审批。" in html and state_shown(html) == "待销号"

    # 7. The approver approves: closed.
    clock.set("2020-07-21T01:00:00")
    html = page(approver, issue_id)
    assert form_ids(html) == {"action-approve", "action-return"}
    html = act(approver, issue_id, "approve", version_in(html, "approve"))
    assert "已批准销号,问题已销号。" in html
    assert state_shown(html) == "已销号"
    assert form_ids(html) == set()

    # Every step is on the timeline, in order, with who and why.
    html = page(office, issue_id)
    assert timeline(html) == ["create", "progress", "evidence", "submit", "return", "submit", "verify", "approve"]
    block = re.search(r'<ol[^>]*id="timeline".*?</ol>', html, re.S).group(0)
    for text in ("登记问题", "报送进展", "上传佐证材料", "提交销号申请", "退回", "验收通过", "批准销号",
                 "佐证材料不足,请补充监测报告", "整改中 → 待验收", "待验收 → 整改中", "待销号 → 已销号",
                 "督察办小王", "chief", "clerk", "approver", "2020-07-21 09:00"):
        assert text in block, text
    issue = db.session.get(Issue, issue_id)
    assert issue.state == "closed" and issue.verified_by_id == cast["supervisor"].id
    assert "验收人</th><td>督察办小王" in html


@pytest.fixture
def ready(cast, session):
    """An issue led by ENV with HOUSING cooperating, a report and evidence filed, not yet submitted."""
    issue = make_issue(cast["lead"], cast["round"], (cast["coop"],), code="R-01")
    make_report(issue)
    make_attachment(issue)
    session.commit()
    return issue


def refused(client, issue_id: int, message: str, method: str = "post", path: str = "transition", **kwargs):
    """Make a request that must be refused: the message shows and nothing changes."""
    before = snapshot(issue_id)
    call = getattr(client, method)
    response = call(f"/issues/{issue_id}/{path}", follow_redirects=True, **kwargs)
    html = response.get_data(as_text=True)
    assert message in html, html[-3000:]
    assert snapshot(issue_id) == before
    return response


def test_cooperating_unit_cannot_submit(app, cast, ready):
    client = client_for(app, cast["coop_head"])
    assert "action-submit" not in form_ids(page(client, ready.id))
    refused(client, ready.id, "配合单位不能「提交销号申请」,请由牵头单位负责人办理。",
            data={"action": "submit", "version": ready.version, "summary": "总结"})


def test_wrong_role_cannot_verify(app, cast, ready, session):
    ready.state = "submitted"
    session.commit()
    for who in ("approver", "head", "leader"):
        refused(client_for(app, cast[who]), ready.id, "您的角色无权执行「验收通过」。",
                data={"action": "verify", "version": ready.version})


def test_return_without_reason_is_refused(app, cast, ready, session):
    ready.state = "submitted"
    session.commit()
    refused(client_for(app, cast["supervisor"]), ready.id, "「退回」必须填写理由。",
            data={"action": "return", "version": ready.version, "comment": "   "})


def test_reopen_without_reason_is_refused(app, cast, ready, session):
    ready.state = "closed"
    session.commit()
    refused(client_for(app, cast["supervisor"]), ready.id, "「重新打开」必须填写理由。",
            data={"action": "reopen", "version": ready.version})


def test_submit_without_evidence_shows_why_and_is_refused(app, cast, session):
    issue = make_issue(cast["lead"], cast["round"], code="R-02")
    make_report(issue)
    session.commit()
    client = client_for(app, cast["head"])
    html = page(client, issue.id)
    assert "action-submit" not in form_ids(html)
    assert "提交销号前需至少上传一份佐证材料。" in html
    refused(client, issue.id, "提交销号前需至少上传一份佐证材料。",
            data={"action": "submit", "version": issue.version, "summary": "总结"})


def test_submit_without_summary_is_refused(app, cast, ready):
    refused(client_for(app, cast["head"]), ready.id, "提交销号必须填写整改情况总结。",
            data={"action": "submit", "version": ready.version, "summary": ""})


def test_stale_version_is_refused(app, cast, ready):
    client = client_for(app, cast["head"])
    html = page(client, ready.id)
    old = version_in(html, "submit")
    # Someone else changes the issue meanwhile (a progress report bumps the version).
    client_for(app, cast["staff"]).post(f"/issues/{ready.id}/progress",
                                        data={"period": "2020-07", "percent": "90", "text": "补充"})
    refused(client, ready.id, STALE_MESSAGE, data={"action": "submit", "version": old, "summary": "总结"})


def test_missing_version_is_refused(app, cast, ready):
    refused(client_for(app, cast["head"]), ready.id, "页面已过期,请刷新页面后重试。",
            data={"action": "submit", "summary": "总结"})


def test_unknown_action_is_refused(app, cast, ready):
    refused(client_for(app, cast["supervisor"]), ready.id, "未知的操作:destroy",
            data={"action": "destroy", "version": ready.version})


@pytest.mark.parametrize("name, content, message", [
    ("病毒.exe", b"MZ\x90\x00", "不支持的文件类型「exe」"),
    ("伪装.pdf", b"just some text, not a pdf", "文件内容与扩展名「.pdf」不符"),
    ("空.pdf", b"", "文件是空的。"),
])
def test_bad_file_type_is_refused(app, cast, ready, name, content, message):
    refused(client_for(app, cast["staff"]), ready.id, message, path="attachments",
            data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_upload_without_file_is_refused(app, cast, ready):
    refused(client_for(app, cast["staff"]), ready.id, "请选择要上传的文件。", path="attachments",
            data={}, content_type="multipart/form-data")


def test_too_large_file_is_refused(app, cast, ready):
    app.config["MAX_UPLOAD_BYTES"] = 100
    big = b"%PDF-1.4\n" + b"0" * 200
    refused(client_for(app, cast["staff"]), ready.id, "文件超过大小上限", path="attachments",
            data={"file": (io.BytesIO(big), "大.pdf")}, content_type="multipart/form-data")


@pytest.mark.parametrize("data, message", [
    ({"period": "2020-7", "percent": "50", "text": "x"}, "报送期次格式应为 YYYY-MM"),
    ({"period": "2020-13", "percent": "50", "text": "x"}, "报送期次格式应为 YYYY-MM"),
    ({"period": "2020-07", "percent": "150", "text": "x"}, "进度必须是 0 到 100 的整数。"),
    ({"period": "2020-07", "percent": "abc", "text": "x"}, "进度必须是 0 到 100 的整数。"),
    ({"period": "2020-07", "percent": "50", "text": ""}, "请填写进展情况。"),
])
def test_bad_progress_report_is_refused(app, cast, ready, data, message):
    refused(client_for(app, cast["staff"]), ready.id, message, path="progress", data=data)


@pytest.mark.parametrize("who, message", [
    ("supervisor", "只有责任单位可以报送进展和上传材料。"),
    ("approver", "只有责任单位可以报送进展和上传材料。"),
])
def test_non_unit_roles_cannot_report(app, cast, ready, who, message):
    client = client_for(app, cast[who])
    refused(client, ready.id, message, path="progress",
            data={"period": "2020-07", "percent": "50", "text": "x"})
    data, name = pdf_file()
    refused(client, ready.id, message, path="attachments", data={"file": (data, name)},
            content_type="multipart/form-data")


@pytest.mark.parametrize("path", ["transition", "progress", "attachments"])
def test_get_on_a_post_only_route_changes_nothing(app, cast, ready, path):
    response = refused(client_for(app, cast["head"]), ready.id, "该操作需要在问题页面上点击按钮提交,请重新操作。",
                       method="get", path=f"{path}?action=submit&version={ready.version}&summary=x")
    assert response.request.path == f"/issues/{ready.id}"


def test_post_without_csrf_token_is_refused(app, cast, ready):
    client = client_for(app, cast["staff"])
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(ready.id)
    response = client.post(f"/issues/{ready.id}/progress", data={"period": "2020-07", "percent": "50", "text": "x"})
    assert response.status_code == 400
    assert "页面已过期或表单校验失败" in response.get_data(as_text=True)
    assert snapshot(ready.id) == before
    # With the token the page carries, the same report goes through.
    token = csrf_token(page(client, ready.id))
    response = client.post(f"/issues/{ready.id}/progress",
                           data={"period": "2020-07", "percent": "50", "text": "x", "csrf_token": token})
    assert response.status_code == 302
    assert snapshot(ready.id) != before


def test_merge_through_the_page(app, cast, ready, session):
    other = make_issue(cast["lead"], cast["round"], code="R-09", title="同类问题")
    session.commit()
    client = client_for(app, cast["supervisor"])
    html = page(client, other.id)
    assert f'<option value="{ready.id}">R-01' in html
    refused(client, other.id, "目标问题编号「NOPE」不存在。",
            data={"action": "merge", "version": other.version, "target_code": "NOPE"})
    refused(client, other.id, "请选择要合并整改的目标问题。", data={"action": "merge", "version": other.version})
    html = act(client, other.id, "merge", version_in(html, "merge"), target_code="R-01", comment="同一河段")
    assert "已与问题 R-01 合并整改。" in html
    assert "合并整改·整改中" in html
    assert db.session.get(Issue, other.id).merged_into_id == ready.id
    html = page(client, ready.id)
    assert 'id="merged-in"' in html and "R-09" in html
    assert timeline(html)[-1] == "merged_in"


def test_unit_head_marks_long_term_issue_basically_done(app, cast, session):
    issue = make_issue(cast["lead"], cast["round"], code="L-01", rectify_type="long_term")
    session.commit()
    client = client_for(app, cast["head"])
    html = act(client, issue.id, "mark_basically_done", version_in(page(client, issue.id), "mark_basically_done"))
    assert "已标记为基本完成。" in html and state_shown(html) == "基本完成"


def test_out_of_scope_actions_answer_404_and_change_nothing(app, cast, ready, session):
    stranger = make_user("unit_head", make_unit("FAR", "远方单位"), username="stranger")
    session.commit()
    client = client_for(app, stranger)
    before = snapshot(ready.id)
    assert client.post(f"/issues/{ready.id}/transition",
                       data={"action": "submit", "version": ready.version, "summary": "x"}).status_code == 404
    data, name = pdf_file()
    assert client.post(f"/issues/{ready.id}/attachments", data={"file": (data, name)},
                       content_type="multipart/form-data").status_code == 404
    assert snapshot(ready.id) == before  # the attachment count included
