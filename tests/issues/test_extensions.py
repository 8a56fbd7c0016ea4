"""Deadline extensions (延期申请): the lead unit's head asks, the office whose area holds the lead unit
approves (as asked or with another date) or rejects; the round limits how many; wrong people are refused
with nothing changed; the deciders and the unit are told; the issue page and the /extensions list."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import PDF_BYTES, make_issue, make_round, make_unit, make_user
from tests.support.queries import statements_for
from tests.support.web import client_for
from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.issues import extensions as ext
from tracker.issues.models import Attachment, DeadlineChange, Event, ExtensionRequest, Issue
from tracker.notify.models import Notice, Outbox
from tracker.rounds.models import Round
from tracker.units.models import Unit

NOW = datetime(2020, 7, 15, 2, 0, 0)
LATER = datetime(2020, 7, 16, 2, 0, 0)

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def world(session):
    """A city with two counties; the issue is led by a town of county 1, with a cooperating unit."""
    city = make_unit("CITY", "某市")
    county1 = make_unit("C1", "一区", parent=city)
    county2 = make_unit("C2", "二区", parent=city)
    town = make_unit("T1", "一镇", parent=county1)
    housing = make_unit("HOUSING", "市住建局", parent=city)
    round_ = make_round("第一轮")
    round_.max_extensions = 2
    people = dict(
        head=make_user("unit_head", town, username="head", email="head@example.org"),
        staff=make_user("unit_staff", town, username="staff", email="staff@example.org"),
        coop=make_user("unit_head", housing, username="coop", email="coop@example.org"),
        sup=make_user("supervisor", username="sup", email="sup@example.org"),
        sup1=make_user("supervisor", county1, username="sup1", email="sup1@example.org"),
        sup2=make_user("supervisor", county2, username="sup2", email="sup2@example.org"),
        city_sup=make_user("supervisor", city, username="citysup", email="citysup@example.org"),
        approver=make_user("approver", username="approver", email="approver@example.org"),
        leader=make_user("leader", username="leader", email="leader@example.org"),
    )
    issue = make_issue(lead_unit=town, round=round_, cooperating=(housing,), code="A-01", title="扬尘治理",
                       deadline=date(2020, 9, 30), original_deadline=date(2020, 9, 30))
    session.commit()
    return dict(city=city, county1=county1, county2=county2, town=town, housing=housing, round=round_,
                issue=issue, **people)


def ask(world, new="2020-12-31", reason="汛期影响施工", who="head", at=NOW) -> ExtensionRequest:
    request = ext.request_extension(db.session, world[who], at, world["issue"], new, reason)
    db.session.commit()
    return request


def decide(world, request, decision="approve", who="sup1", at=LATER, **kw) -> ExtensionRequest:
    ext.decide_extension(db.session, world[who], at, request, decision, **kw)
    db.session.commit()
    return request


def state(issue_id: int) -> tuple:
    """What a refusal must leave alone."""
    db.session.expire_all()
    issue = db.session.get(Issue, issue_id)
    return (issue.deadline, issue.version,
            db.session.scalar(select(func.count()).select_from(Event).where(Event.issue_id == issue_id)),
            db.session.scalar(select(func.count()).select_from(DeadlineChange)),
            [(r.state, r.granted_deadline) for r in db.session.scalars(select(ExtensionRequest)
                                                                      .order_by(ExtensionRequest.id))],
            db.session.scalar(select(func.count()).select_from(Notice)),
            db.session.scalar(select(func.count()).select_from(Outbox)))


# --- the service -----------------------------------------------------------------------------

def test_approved_as_asked_moves_the_deadline_with_its_history_and_timeline(world):
    request = ask(world)
    assert (request.state, request.old_deadline, request.new_deadline) == ("pending", date(2020, 9, 30),
                                                                             date(2020, 12, 31))
    decide(world, request, reason="同意")
    issue = db.session.get(Issue, world["issue"].id)
    assert (issue.deadline, issue.original_deadline) == (date(2020, 12, 31), date(2020, 9, 30))
    assert (request.state, request.granted_deadline, request.decided_by_id, request.decision_reason) == \
        ("approved", date(2020, 12, 31), world["sup1"].id, "同意")
    change = db.session.scalars(select(DeadlineChange)).one()
    assert (change.old_deadline, change.new_deadline, change.source, change.reason, change.changed_by_id) == \
        (date(2020, 9, 30), date(2020, 12, 31), "extension", "汛期影响施工", world["sup1"].id)
    actions = [e.action for e in db.session.scalars(select(Event).where(Event.issue_id == issue.id)
                                                    .order_by(Event.id))]
    assert actions == ["extension_request", "extension_approve"]
    approve = db.session.scalars(select(Event).where(Event.action == "extension_approve")).one()
    assert approve.changed == {"deadline": ["2020-09-30", "2020-12-31"]}
    assert "2020-09-30 调整为 2020-12-31" in approve.comment and "汛期影响施工" in approve.comment


def test_approved_with_another_date_keeps_the_date_asked_and_grants_the_other(world):
    request = ask(world, new="2020-12-31")
    decide(world, request, deadline="2020-11-30")
    issue = db.session.get(Issue, world["issue"].id)
    assert issue.deadline == date(2020, 11, 30)
    assert (request.new_deadline, request.granted_deadline) == (date(2020, 12, 31), date(2020, 11, 30))
    approve = db.session.scalars(select(Event).where(Event.action == "extension_approve")).one()
    assert "(申请延至 2020-12-31)" in approve.comment


def test_another_date_must_be_after_the_current_deadline(world):
    request = ask(world)
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.decide_extension(db.session, world["sup1"], LATER, request, "approve", deadline="2020-09-30")
    db.session.rollback()
    assert refused.value.kind == "invalid" and "须晚于现整改时限 2020-09-30" in refused.value.message
    assert state(world["issue"].id) == before


def test_rejected_needs_a_reason_and_leaves_the_deadline(world):
    request = ask(world)
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.decide_extension(db.session, world["sup1"], LATER, request, "reject", reason="  ")
    db.session.rollback()
    assert refused.value.kind == "invalid" and refused.value.message == "请填写驳回理由。"
    assert state(world["issue"].id) == before
    decide(world, request, "reject", reason="理由不充分")
    issue = db.session.get(Issue, world["issue"].id)
    assert issue.deadline == date(2020, 9, 30)
    assert (request.state, request.granted_deadline, request.decision_reason) == ("rejected", None, "理由不充分")
    assert db.session.scalar(select(func.count()).select_from(DeadlineChange)) == 0
    reject = db.session.scalars(select(Event).where(Event.action == "extension_reject")).one()
    assert "理由不充分" in reject.comment and "2020-12-31" in reject.comment


def test_a_decided_request_cannot_be_decided_again(world):
    request = decide(world, ask(world))
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.decide_extension(db.session, world["sup"], LATER, request, "reject", reason="再议")
    db.session.rollback()
    assert refused.value.kind == "conflict" and "已处理(已批准)" in refused.value.message
    assert state(world["issue"].id) == before


def test_over_the_rounds_limit_is_refused(world):
    world["round"].max_extensions = 1
    db.session.commit()
    decide(world, ask(world, new="2020-10-31"))
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.request_extension(db.session, world["head"], LATER, world["issue"], "2020-12-31", "还需时间")
    db.session.rollback()
    assert refused.value.kind == "conflict"
    assert refused.value.message == "本轮次每个问题最多延期 1 次,已延期 1 次。"
    assert state(world["issue"].id) == before


def test_a_rejected_request_does_not_count_against_the_limit(world):
    world["round"].max_extensions = 1
    db.session.commit()
    decide(world, ask(world), "reject", reason="不同意")
    decide(world, ask(world, at=LATER), at=LATER)
    assert db.session.get(Issue, world["issue"].id).deadline == date(2020, 12, 31)


def test_a_second_request_while_one_is_pending_is_refused(world):
    ask(world)
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.request_extension(db.session, world["head"], LATER, world["issue"], "2021-01-31", "再延")
    db.session.rollback()
    assert refused.value.kind == "conflict" and "已有一份待审批的延期申请" in refused.value.message
    assert state(world["issue"].id) == before


@pytest.mark.parametrize("new, reason, field, message", [
    ("2020-09-30", "理由", "new_deadline", "须晚于现整改时限 2020-09-30"),
    ("2020-08-01", "理由", "new_deadline", "须晚于现整改时限"),
    ("明年", "理由", "new_deadline", "格式 YYYY-MM-DD"),
    ("2020-12-31", " ", "reason", "请填写延期理由。"),
    ("2020-12-31", "长" * 501, "reason", "不能超过 500 个字"),
])
def test_a_request_needs_a_later_date_and_a_reason(world, new, reason, field, message):
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.request_extension(db.session, world["head"], NOW, world["issue"], new, reason)
    db.session.rollback()
    assert (refused.value.kind, refused.value.field) == ("invalid", field) and message in refused.value.message
    assert state(world["issue"].id) == before


@pytest.mark.parametrize("issue_state", ["submitted", "verified", "closed"])
def test_only_an_issue_being_rectified_may_be_extended(world, issue_state):
    world["issue"].state = issue_state
    db.session.commit()
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.request_extension(db.session, world["head"], NOW, world["issue"], "2020-12-31", "理由")
    db.session.rollback()
    assert refused.value.kind == "conflict" and "整改中或基本完成" in refused.value.message
    assert state(world["issue"].id) == before


@pytest.mark.parametrize("who, message", [
    ("staff", "经办人请报请单位负责人申请"),
    ("coop", "配合单位请与牵头单位协商"),
    ("sup", "只有牵头单位负责人可以申请延期"),
    ("approver", "只有牵头单位负责人可以申请延期"),
])
def test_only_the_lead_units_head_may_ask(world, who, message):
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.request_extension(db.session, world[who], NOW, world["issue"], "2020-12-31", "理由")
    db.session.rollback()
    assert refused.value.kind == "forbidden" and message in refused.value.message
    assert state(world["issue"].id) == before


@pytest.mark.parametrize("who, message", [
    ("head", "只有督察整改办可以审批延期申请"),
    ("staff", "只有督察整改办可以审批延期申请"),
    ("coop", "只有督察整改办可以审批延期申请"),
    ("approver", "只有督察整改办可以审批延期申请"),
    ("leader", "只有督察整改办可以审批延期申请"),
    ("sup2", "不在您所在督察整改办的管辖范围内"),
])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_an_office_whose_area_holds_the_lead_unit_may_decide(world, who, message, decision):
    request = ask(world)
    before = state(world["issue"].id)
    with pytest.raises(Refusal) as refused:
        ext.decide_extension(db.session, world[who], LATER, request, decision, reason="意见")
    db.session.rollback()
    assert refused.value.kind == "forbidden" and message in refused.value.message
    assert state(world["issue"].id) == before


@pytest.mark.parametrize("who", ["sup", "sup1", "city_sup"])
def test_the_county_the_city_and_an_office_without_an_area_may_decide(world, who):
    decide(world, ask(world), who=who)
    assert db.session.get(Issue, world["issue"].id).deadline == date(2020, 12, 31)


def test_the_sql_rules_agree_with_the_permission(world):
    """`decidable_issues` and `deciders` say in SQL what DECIDE_EXTENSION says per record."""
    other = make_issue(lead_unit=world["county2"], round=world["round"])
    db.session.commit()
    issues = [world["issue"], other]
    users = db.session.scalars(select(User).order_by(User.id)).all()
    for user in users:
        in_sql = set(db.session.scalars(select(Issue.id).where(ext.decidable_issues(user))))
        assert in_sql == {i.id for i in issues if permissions.can(user, Permission.DECIDE_EXTENSION, i)}, \
            user.username
    for issue in issues:
        told = set(db.session.scalars(select(User.id).where(ext.deciders(db.session, issue))))
        assert told == {u.id for u in users if permissions.can(u, Permission.DECIDE_EXTENSION, issue)}


def test_evidence_sent_with_a_request_is_kept_as_the_issues_evidence(world, app):
    upload = ext.EvidenceUpload("延期说明.pdf", io.BytesIO(PDF_BYTES), app.config["UPLOAD_DIR"], 1024 * 1024)
    request = ext.request_extension(db.session, world["head"], NOW, world["issue"], "2020-12-31", "理由", upload)
    db.session.commit()
    attachment = db.session.get(Attachment, request.attachment_id)
    assert (attachment.issue_id, attachment.filename) == (world["issue"].id, "延期说明.pdf")


# --- who is told -------------------------------------------------------------------------------

def test_a_request_is_told_to_the_deciding_offices_and_the_decision_to_the_lead_unit(world):
    request = ask(world)
    told = {(n.user_id, n.kind) for n in db.session.scalars(select(Notice))}
    expected = {(world[w].id, "extension_requested") for w in ("sup", "sup1", "city_sup")}
    assert told == expected
    mails = {(m.to_addr, m.kind) for m in db.session.scalars(select(Outbox))}
    assert mails == {(f"{w}@example.org", "extension_requested") for w in ("sup", "sup1", "citysup")}
    mail = db.session.scalars(select(Outbox).where(Outbox.to_addr == "sup1@example.org")).one()
    assert "【延期申请】A-01 扬尘治理" == mail.subject and "2020-09-30 延至 2020-12-31" in mail.body_text
    assert "汛期影响施工" in mail.body_text

    decide(world, request, deadline="2020-11-30")
    decided = {(n.user_id, n.kind)
               for n in db.session.scalars(select(Notice).where(Notice.kind != "extension_requested"))}
    # Told once, as the decision: the moved deadline is not told again as a change.
    assert decided == {(world["head"].id, "extension_decided"), (world["staff"].id, "extension_decided")}
    mail = db.session.scalars(select(Outbox).where(Outbox.to_addr == "head@example.org")).one()
    assert mail.subject == "【延期已批准】A-01 扬尘治理" and "调整为 2020-11-30" in mail.body_text


def test_a_rejection_tells_the_unit_why(world):
    decide(world, ask(world), "reject", reason="理由不充分")
    mail = db.session.scalars(select(Outbox).where(Outbox.to_addr == "staff@example.org")).one()
    assert mail.subject == "【延期申请被驳回】A-01 扬尘治理" and "理由不充分" in mail.body_text


# --- the pages ---------------------------------------------------------------------------------

def test_the_head_asks_on_the_issue_page_and_the_county_office_decides_there(app, world):
    issue_id = world["issue"].id
    head = client_for(app, world["head"])
    html = head.get(f"/issues/{issue_id}").get_data(as_text=True)
    assert 'id="extensions"' in html and 'id="extension-form"' in html
    assert "本轮次每个问题最多延期 2 次,还可延期 2 次。" in html
    response = head.post(f"/issues/{issue_id}/extensions", data={
        "new_deadline": "2020-12-31", "reason": "汛期影响施工", "file": (io.BytesIO(PDF_BYTES), "说明.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "延期申请已提交(申请延至 2020-12-31),等待督察整改办审批。" in html
    assert 'data-state="pending"' in html and "说明.pdf" in html and 'id="extension-refusal"' in html
    assert "已有一份待审批的延期申请" in html

    request = db.session.scalars(select(ExtensionRequest)).one()
    office = client_for(app, world["sup1"])
    html = office.get(f"/issues/{issue_id}").get_data(as_text=True)
    assert f'id="decide-extension-{request.id}"' in html and 'id="extension-form"' not in html
    response = office.post(f"/issues/{issue_id}/extensions/{request.id}/decision",
                           data={"decision": "approve_other", "deadline": "2020-11-30", "reason": "压缩工期"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已批准延期,整改时限调整为 2020-11-30。" in html
    assert 'data-state="approved"' in html and "压缩工期" in html
    assert db.session.get(Issue, issue_id).deadline == date(2020, 11, 30)


def test_the_page_refuses_a_rejection_without_a_reason_and_another_date_left_empty(app, world):
    request = ask(world)
    office = client_for(app, world["sup1"])
    before = state(world["issue"].id)
    response = office.post(f"/issues/{world['issue'].id}/extensions/{request.id}/decision",
                           data={"decision": "reject", "reason": ""})
    assert response.status_code == 422 and "请填写驳回理由。" in response.get_data(as_text=True)
    response = office.post(f"/issues/{world['issue'].id}/extensions/{request.id}/decision",
                           data={"decision": "approve_other", "deadline": ""})
    assert response.status_code == 422 and "按其他日期批准时请填写批准的整改时限。" in response.get_data(as_text=True)
    assert state(world["issue"].id) == before


def test_a_request_of_another_issue_is_not_found_under_this_ones_address(app, world):
    request = ask(world)
    other = make_issue(lead_unit=world["town"], round=world["round"])
    db.session.commit()
    office = client_for(app, world["sup1"])
    before = state(world["issue"].id)
    response = office.post(f"/issues/{other.id}/extensions/{request.id}/decision", data={"decision": "approve"})
    assert response.status_code == 404
    assert state(world["issue"].id) == before


def test_a_get_changes_nothing(app, world):
    head = client_for(app, world["head"])
    before = state(world["issue"].id)
    response = head.get(f"/issues/{world['issue'].id}/extensions")
    assert response.status_code == 302
    assert state(world["issue"].id) == before


def test_others_see_the_section_without_forms(app, world):
    ask(world)
    for who in ("staff", "coop", "approver"):
        html = client_for(app, world[who]).get(f"/issues/{world['issue'].id}").get_data(as_text=True)
        assert 'id="extensions"' in html and 'data-state="pending"' in html, who
        assert 'id="extension-form"' not in html and "decide-extension-" not in html, who
    # Another county's office does not see the issue at all (its jurisdiction).
    assert client_for(app, world["sup2"]).get(f"/issues/{world['issue'].id}").status_code == 404


def test_the_extensions_list_holds_what_the_office_may_decide(app, world):
    mine = ask(world)
    other = make_issue(lead_unit=world["county2"], round=world["round"], code="B-01", title="污水直排")
    db.session.commit()
    head2 = make_user("unit_head", world["county2"], username="head2")
    db.session.commit()
    theirs = ext.request_extension(db.session, head2, NOW, other, "2021-03-31", "资金未到位")
    db.session.commit()
    html = client_for(app, world["sup1"]).get("/extensions/").get_data(as_text=True)
    assert "A-01 扬尘治理" in html and "B-01" not in html
    assert f'href="/issues/{world["issue"].id}#extensions"' in html
    html = client_for(app, world["sup"]).get("/extensions/").get_data(as_text=True)
    assert "A-01 扬尘治理" in html and "B-01 污水直排" in html
    # The unit's head sees its own unit's requests.
    html = client_for(app, world["head"]).get("/extensions/").get_data(as_text=True)
    assert "A-01 扬尘治理" in html and "B-01" not in html
    decide(world, mine)
    sup = client_for(app, world["sup"])
    assert "A-01" not in sup.get("/extensions/").get_data(as_text=True)
    html = sup.get("/extensions/?state=approved").get_data(as_text=True)
    assert "A-01 扬尘治理" in html and "B-01" not in html
    html = sup.get("/extensions/?state=all").get_data(as_text=True)
    assert "A-01" in html and "B-01" in html
    html = sup.get("/extensions/?state=nonsense").get_data(as_text=True)
    assert "状态「nonsense」无效" in html and "B-01" in html and "A-01" not in html
    assert theirs.state == "pending"


def test_the_extensions_list_keeps_its_query_count(app, world):
    sup = client_for(app, world["sup"])
    ask(world)
    county2_id, round_id = world["county2"].id, world["round"].id
    few = len(statements_for(sup, "/extensions/"))
    for n in range(6):
        unit = make_unit(parent=db.session.get(Unit, county2_id))
        head = make_user("unit_head", unit)
        issue = make_issue(lead_unit=unit, round=db.session.get(Round, round_id))
        db.session.commit()
        ext.request_extension(db.session, head, NOW, issue, "2021-03-31", f"理由{n}")
        db.session.commit()
    many = len(statements_for(sup, "/extensions/"))
    assert many == few, (few, many)
