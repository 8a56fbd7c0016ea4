"""Approval chains (审核链): a central round's three steps county → city → region, each signed by the
office at its level above the issue's lead unit, with a return at step 2, the separation of duties,
the skipping of steps below the lead unit's level, who is told, the queues' SQL, and changing a chain."""
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.support.api import api_for
from tests.support.factories import make_attachment, make_issue, make_report, make_round, make_unit, make_user
from tracker.core.enums import NoticeKind
from tracker.core.errors import Refusal
from tracker.issues import chain
from tracker.issues import services as svc
from tracker.issues.models import Event, Issue, Signature
from tracker.notify.models import Notice
from tracker.rounds import services as rounds_service
from tracker.rounds.models import DEFAULT_CHAIN, StepSpec

NOW = datetime(2020, 7, 15, 2, 0)
CENTRAL = [("county", "supervisor", "县级验收"), ("city", "supervisor", "市级验收"),
           ("province", "approver", "自治区审核销号")]


@pytest.fixture
def tree(session):
    """A city with two counties, a town in the first, departments at each level, and the offices:
    a supervisor per county and for the city, one serving the whole tree, and two approvers."""
    city = make_unit("C", "霍林郭勒市人民政府", level="city")
    k1 = make_unit("K1", "一号旗人民政府", parent=city, level="county")
    k2 = make_unit("K2", "二号区人民政府", parent=city, level="county")
    town = make_unit("T1", "一号镇人民政府", parent=k1, level="town")
    t = dict(city=city, k1=k1, k2=k2, town=town,
             town_dept=make_unit("T1-HB", "一号镇环保办", parent=town),
             city_dept=make_unit("C-ZJ", "市住建局", parent=city))
    t.update(
        head=make_user("unit_head", t["town_dept"], username="t1head"),
        city_head=make_user("unit_head", t["city_dept"], username="zjhead"),
        sup_k1=make_user("supervisor", k1, username="sup_k1"),
        sup_k2=make_user("supervisor", k2, username="sup_k2"),
        sup_city=make_user("supervisor", city, username="sup_city"),
        sup_all=make_user("supervisor", username="sup_all"),
        approver=make_user("approver", username="region"),
        city_approver=make_user("approver", city, username="city_appr"),
    )
    t["round"] = make_round("中央督察(三级审核)", chain=CENTRAL)
    return t


def ready(issue):
    """An issue its unit may submit: a report and a piece of evidence."""
    make_report(issue)
    make_attachment(issue)
    return issue


def act(session, user, issue, action, comment=None):
    svc.transition(session, user, NOW, issue, action, comment=comment,
                   summary="已完成整改" if action == "submit" else None)
    session.commit()
    return issue


def refused(session, user, issue, action, comment=None):
    """A refused step: the refusal, with the issue, its timeline and signatures unchanged."""
    def state():
        session.expire_all()
        fresh = session.get(Issue, issue.id)
        return (fresh.state, fresh.chain_step, fresh.version,
                session.scalar(select(func.count()).select_from(Event).where(Event.issue_id == issue.id)),
                session.scalar(select(func.count()).select_from(Signature).where(Signature.issue_id == issue.id)))
    before = state()
    with pytest.raises(Refusal) as err:
        svc.transition(session, user, NOW, session.get(Issue, issue.id), action, comment=comment)
    session.rollback()
    assert state() == before
    return err.value


def test_three_steps_with_a_return_at_step_two_and_separation_of_duties(session, tree):
    issue = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    act(session, tree["head"], issue, "submit")
    assert (issue.state, issue.chain_step, chain.waiting_label(issue)) == ("submitted", 0, "待县级验收")

    # Step 1 is the county's: neither the other county nor the city may sign it.
    other = refused(session, tree["sup_k2"], issue, "verify")
    assert other.kind == "forbidden" and "县级督察整改办" in other.message
    assert refused(session, tree["sup_city"], issue, "verify").kind == "forbidden"
    assert "最后一步" not in refused(session, tree["approver"], issue, "approve").message
    act(session, tree["sup_k1"], issue, "verify", "现场核查属实")
    assert (issue.state, issue.chain_step, chain.waiting_label(issue)) == ("verified", 1, "待市级验收")

    # Step 2 returns the issue to its unit with a reason; the pass's signatures end.
    assert refused(session, tree["sup_k1"], issue, "return", "退回").kind == "forbidden"
    act(session, tree["sup_city"], issue, "return", "佐证照片不能反映整改后现状")
    assert (issue.state, issue.chain_step, issue.verified_by_id) == ("in_progress", None, None)
    assert session.scalar(select(func.count()).select_from(Signature).where(
        Signature.issue_id == issue.id, Signature.cleared_at.is_(None))) == 0
    returned = session.scalars(select(Notice).where(Notice.kind == NoticeKind.RETURNED)).all()
    assert [n.user_id for n in returned] == [tree["head"].id]
    assert "佐证照片不能反映整改后现状" in returned[0].body

    # A new pass: whoever serves the whole tree signs step 1 and may not sign step 2 as well.
    act(session, tree["head"], issue, "submit")
    act(session, tree["sup_all"], issue, "verify")
    twice = refused(session, tree["sup_all"], issue, "verify")
    assert twice.kind == "conflict" and "不同的人" in twice.message
    act(session, tree["sup_city"], issue, "verify")
    assert chain.waiting_label(issue) == "待自治区审核销号"
    assert refused(session, tree["approver"], issue, "verify").kind == "forbidden"  # approvers only approve here
    act(session, tree["approver"], issue, "approve")
    assert (issue.state, issue.chain_step) == ("closed", None)

    signed = session.execute(select(Event.action, Event.comment, Event.actor_id).where(
        Event.issue_id == issue.id, Event.action.in_(("verify", "approve", "return")))
        .order_by(Event.id)).all()
    assert signed == [
        ("verify", "县级验收:现场核查属实", tree["sup_k1"].id),
        ("return", "佐证照片不能反映整改后现状", tree["sup_city"].id),
        ("verify", "县级验收", tree["sup_all"].id),
        ("verify", "市级验收", tree["sup_city"].id),
        ("approve", "自治区审核销号", tree["approver"].id),
    ]


def test_a_step_below_the_lead_units_level_is_skipped(session, tree):
    issue = ready(make_issue(lead_unit=tree["city_dept"], round=tree["round"]))
    act(session, tree["city_head"], issue, "submit")
    assert (issue.chain_step, chain.waiting_label(issue)) == (1, "待市级验收")
    assert refused(session, tree["sup_k1"], issue, "verify").kind == "forbidden"
    act(session, tree["sup_city"], issue, "verify")
    act(session, tree["approver"], issue, "approve")
    assert issue.state == "closed"


def test_the_next_signers_are_told(session, tree):
    issue = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))

    def told(kind):
        return {n.user_id for n in session.scalars(select(Notice).where(Notice.kind == kind))}

    act(session, tree["head"], issue, "submit")
    assert told(NoticeKind.SUBMITTED) == {tree["sup_k1"].id, tree["sup_all"].id}
    act(session, tree["sup_k1"], issue, "verify")
    assert told(NoticeKind.VERIFIED) == {tree["sup_city"].id, tree["sup_all"].id}
    subject = session.scalar(select(Notice.title).where(Notice.kind == NoticeKind.VERIFIED))
    assert subject.startswith("【待市级验收】")


def test_the_queue_in_sql_agrees_with_the_per_issue_rule(session, tree):
    issues = []
    for lead, head in ((tree["town_dept"], tree["head"]), (tree["city_dept"], tree["city_head"])):
        for verifiers in ((), ("sup_k1",), ("sup_all", "sup_city")):
            issue = ready(make_issue(lead_unit=lead, round=tree["round"]))
            act(session, head, issue, "submit")
            for name in verifiers:
                if session.get(Issue, issue.id).chain_step == 0 or name != "sup_k1":
                    try:
                        act(session, tree[name], issue, "verify")
                    except Refusal:
                        session.rollback()
            issues.append(issue)
    issues.append(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))  # not in the chain
    users = [tree[k] for k in ("sup_k1", "sup_k2", "sup_city", "sup_all", "approver", "city_approver", "head")]
    for user in users:
        in_sql = set(session.scalars(select(Issue.id).where(chain.awaiting(user))))
        by_rule = {i.id for i in issues if chain.may_sign(session, session.get(Issue, i.id), [user])}
        assert in_sql == by_rule, user.username
    assert set(session.scalars(select(Issue.id).where(chain.awaiting(tree["sup_k1"])))), "the test must have rows"


def test_a_chain_cannot_change_under_issues_in_it(session, tree):
    admin = make_user("admin")
    issue = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    act(session, tree["head"], issue, "submit")
    provincial = [{"level": "county", "role": "supervisor", "label": "县级验收"},
                  {"level": "city", "role": "approver", "label": "市级销号"}]
    with pytest.raises(Refusal) as err:
        chain.change_chain(session, admin, tree["round"], provincial)
    session.rollback()
    assert err.value.kind == "conflict" and "1 个问题正在审核中" in err.value.message
    assert [s.label for s in tree["round"].steps] == ["县级验收", "市级验收", "自治区审核销号"]
    with pytest.raises(Refusal):
        chain.change_chain(session, tree["sup_city"], tree["round"], provincial)  # admins only
    session.rollback()

    act(session, tree["sup_k1"], issue, "return", "补充材料")
    chain.change_chain(session, admin, tree["round"], provincial)
    session.commit()
    assert chain.steps_of(tree["round"]) == [StepSpec("county", "supervisor", "县级验收"),
                                             StepSpec("city", "approver", "市级销号")]


@pytest.mark.parametrize("raw, words", [
    ([], "1 到 6 个环节"),
    ([{"role": "supervisor", "label": f"第{n}步"} for n in range(7)], "1 到 6 个环节"),
    ([{"role": "leader", "label": "领导审阅"}], "办理角色"),
    ([{"level": "village", "role": "supervisor", "label": "村级"}], "层级"),
    ([{"role": "supervisor", "label": ""}], "环节的名称"),
    ([{"role": "supervisor", "label": "验收"}, {"role": "approver", "label": "验收"}], "重复"),
    ([{"level": "city", "role": "supervisor", "label": "市级验收"},
      {"level": "county", "role": "approver", "label": "县级销号"}], "逐级向上"),
    (["县级验收"], "格式"),
])
def test_a_bad_chain_is_refused_naming_the_step(raw, words):
    with pytest.raises(Refusal) as err:
        rounds_service.parse_chain(raw)
    assert err.value.kind == "invalid" and err.value.field == "chain"
    assert words in err.value.message


def test_a_round_without_a_chain_gets_todays(session):
    round_ = make_round()
    assert chain.steps_of(round_) == list(DEFAULT_CHAIN)
    assert [s.label for s in round_.steps] == ["验收", "销号"]


# --- the API -------------------------------------------------------------------

def test_api_round_with_a_chain_and_an_issue_waiting_for_a_step(client, session, tree):
    admin_api = api_for(client, make_user("admin"))
    created = admin_api.post("/rounds", json={
        "name": "2019年自治区生态环境保护督察", "level": "provincial", "kind": "regular",
        "chain": [{"level": "county", "role": "supervisor", "label": "县级验收"},
                  {"level": "city", "role": "supervisor", "label": "市级销号"}]})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["chain"] == [{"level": "county", "role": "supervisor", "label": "县级验收"},
                                           {"level": "city", "role": "supervisor", "label": "市级销号"}]
    read = api_for(client, tree["head"]).get(f"/rounds/{created.get_json()['id']}")
    assert read.status_code == 200 and read.get_json()["chain"][1]["label"] == "市级销号"
    assert admin_api.get("/rounds/999999").status_code == 404
    default = admin_api.post("/rounds", json={"name": "默认审核链轮次", "level": "central", "kind": "regular"})
    assert [s["label"] for s in default.get_json()["chain"]] == ["验收", "销号"]
    bad = admin_api.post("/rounds", json={"name": "倒序轮次", "level": "central", "kind": "regular", "chain": [
        {"level": "city", "role": "supervisor", "label": "市级"},
        {"level": "town", "role": "approver", "label": "镇级"}]})
    assert bad.status_code == 422 and "逐级向上" in bad.get_json()["error"]

    issue = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    session.commit()
    head_api = api_for(client, tree["head"])
    assert head_api.get(f"/issues/{issue.id}").get_json()["waiting_for"] is None
    assert head_api.act(issue.id, action="submit", summary="已完成整改").status_code == 200
    assert head_api.get(f"/issues/{issue.id}").get_json()["waiting_for"] == {
        "step": 1, "label": "县级验收", "level": "county", "role": "supervisor"}
    refused_ = api_for(client, tree["sup_k2"]).act(issue.id, action="verify")
    assert refused_.status_code in (403, 404)
    assert api_for(client, tree["sup_k1"]).act(issue.id, action="verify").status_code == 200
    assert head_api.get(f"/issues/{issue.id}").get_json()["waiting_for"]["label"] == "市级验收"


def test_admin_edits_the_chain_on_the_round_page(client, session, tree, login_as):
    admin = make_user("admin")
    session.commit()
    login_as(admin)
    page = client.get(f"/admin/rounds/{tree['round'].id}/edit")
    assert page.status_code == 200 and "审核链" in page.get_data(as_text=True)
    form = {"steps-0-level": "county", "steps-0-role": "supervisor", "steps-0-label": "县级验收",
            "steps-1-level": "city", "steps-1-role": "approver", "steps-1-label": "市级销号"}
    saved = client.post(f"/admin/rounds/{tree['round'].id}/chain", data=form)
    assert saved.status_code == 302
    session.expire_all()
    assert [s.label for s in tree["round"].steps] == ["县级验收", "市级销号"]
    bad = client.post(f"/admin/rounds/{tree['round'].id}/chain", data={
        "steps-0-level": "city", "steps-0-role": "supervisor", "steps-0-label": "市级",
        "steps-1-level": "county", "steps-1-role": "approver", "steps-1-label": "县级"})
    assert bad.status_code == 422 and "逐级向上" in bad.get_data(as_text=True)
    session.expire_all()
    assert [s.label for s in tree["round"].steps] == ["县级验收", "市级销号"]


def test_the_issue_page_shows_each_signature_and_the_step_waited_for(client, session, tree, login_as):
    issue = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    skipping = ready(make_issue(lead_unit=tree["city_dept"], round=tree["round"]))
    act(session, tree["head"], issue, "submit")
    act(session, tree["sup_k1"], issue, "verify")
    act(session, tree["city_head"], skipping, "submit")
    login_as(tree["sup_city"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    panel = page[page.index('id="issue-chain"'):page.index("</ol>", page.index('id="issue-chain"'))]
    assert "县级验收" in panel and "sup_k1" in panel and "签署" in panel
    assert panel.index("市级验收") < panel.index("当前环节") < panel.index("自治区审核销号")
    assert "待市级验收" in page
    other = client.get(f"/issues/{skipping.id}").get_data(as_text=True)
    assert "不经过此环节" in other


def test_the_statistics_say_where_issues_wait_and_each_count_opens_its_rows(client, session, tree, login_as):
    waiting_county = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    waiting_city = ready(make_issue(lead_unit=tree["town_dept"], round=tree["round"]))
    skipping = ready(make_issue(lead_unit=tree["city_dept"], round=tree["round"]))
    make_issue(lead_unit=tree["town_dept"], round=tree["round"])  # not in the chain
    for issue, head in ((waiting_county, tree["head"]), (waiting_city, tree["head"]), (skipping, tree["city_head"])):
        act(session, head, issue, "submit")
    act(session, tree["sup_k1"], waiting_city, "verify")
    login_as(tree["sup_city"])
    page = client.get("/stats/").get_data(as_text=True)
    line = page[page.index('class="small waiting-steps"'):]
    line = line[:line.index("</span>")]
    assert "待县级验收 1 个" in line and "待市级验收 2 个" in line
    listed = client.get(f"/issues/?round={tree['round'].id}&step=1").get_data(as_text=True)
    assert waiting_city.code in listed and skipping.code in listed and waiting_county.code not in listed
    assert "待审核链第 2 个环节" in listed
    bad = client.get(f"/issues/?round={tree['round'].id}&step=9")
    assert bad.status_code == 200 and "审核环节" in bad.get_data(as_text=True)


def test_an_area_office_registers_issues_only_inside_its_area(session, tree):
    data = {"round_id": tree["round"].id, "code": "K2-001", "title": "二号区的问题", "category": "feedback",
            "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": "K2"}
    session.commit()
    count = session.scalar(select(func.count()).select_from(Issue))
    with pytest.raises(Refusal) as err:
        svc.create_issue(session, tree["sup_k1"], NOW, dict(data), NOW.date())
    session.rollback()
    assert err.value.field == "lead_unit" and "不在您的辖区(一号旗人民政府)内" in err.value.message
    assert session.scalar(select(func.count()).select_from(Issue)) == count
    created = svc.create_issue(session, tree["sup_k2"], NOW, dict(data), NOW.date())
    session.commit()
    with pytest.raises(Refusal):
        svc.update_issue(session, tree["sup_k2"], NOW, created, {"lead_unit": "T1"}, NOW.date())
    session.rollback()
    assert session.get(Issue, created.id).lead_unit_id == tree["k2"].id
