"""POST /api/v1/imports/plan: the preview of a plan's tasks, who may ask for it, and its refusals."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.api import token_for
from tests.support.factories import make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues.models import Event, Issue
from tracker.units.models import Unit

PREFIX = "/api/v1"
FIXTURES = Path(__file__).parent / "fixtures" / "plans"
HUOLINGGUOLE = (FIXTURES / "huolingguole-2020-action-plan.txt").read_text(encoding="utf-8")
TITLE_OF_6 = "实行烟花爆竹禁(限)放管制"  # item (6)'s first sentence
ZHONGBEI = (FIXTURES / "zhongbei-2017-rectification-plan.txt").read_text(encoding="utf-8")


def _headers(client, user) -> dict:
    db.session.commit()
    return {"Authorization": f"Bearer {token_for(client, user)}"}  # an admin gives the code too


def _counts() -> tuple[int, int]:
    return db.session.scalar(select(func.count(Issue.id))), db.session.scalar(select(func.count(Unit.id)))


def test_supervisor_previews_the_huolingguole_plan(client):
    make_unit(code="HLGL-STHJ", name="市生态环境分局")
    make_unit(code="HLGL-ZJ", name="市住建局")
    headers = _headers(client, make_user("supervisor"))
    before = _counts()

    response = client.post(f"{PREFIX}/imports/plan", json={"text": HUOLINGGUOLE, "confirm": False},
                           headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["year"] == 2020
    assert len(body["tasks"]) == 66
    first = body["tasks"][0]
    assert {k: first[k] for k in ("number", "lead_units", "cooperating_units", "deadline", "deadline_text")} == {
        "number": "二.(一).1.(1)", "lead_units": ["市生态环境分局"], "cooperating_units": ["市住建局"],
        "deadline": None, "deadline_text": None,
    }
    assert first["text"].startswith("大力提升城市环境空气质量。")
    sixth = next(t for t in body["tasks"] if t["number"] == "二.(一).1.(6)")
    assert (sixth["deadline"], sixth["deadline_text"]) == ("2020-09-30", "9月底前")
    # Known names are matched to the tracker's units; the rest are listed, in plan order, to map or create.
    assert "市生态环境分局" not in body["unknown_units"] and "市住建局" not in body["unknown_units"]
    assert body["unknown_units"][:3] == ["市城管局", "市市场监督管理局", "市商务局"]
    assert [t["number"] for t in body["unassigned"]][:2] == ["一.(一)", "一.(二)"]
    assert _counts() == before  # a preview writes nothing


def test_year_given_by_the_user_reads_month_only_deadlines(client):
    headers = _headers(client, make_user("supervisor"))
    response = client.post(f"{PREFIX}/imports/plan", json={"text": ZHONGBEI, "year": 2018}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["year"] == 2018
    assert len(body["tasks"]) == 32
    assert body["tasks"][0]["lead_units"] == ["党办"] and body["tasks"][0]["cooperating_units"] == ["宣传办"]


@pytest.mark.parametrize("role", ["admin", "approver", "unit_staff", "unit_head", "leader"])
def test_only_the_supervisor_may_import_a_plan(client, role):
    headers = _headers(client, make_user(role))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan", json={"text": HUOLINGGUOLE}, headers=headers)
    assert response.status_code == 403
    assert response.get_json() == {"error": "只有督察整改办可以导入整改方案。"}
    assert _counts() == before


def test_without_a_token_the_call_is_refused(client):
    response = client.post(f"{PREFIX}/imports/plan", json={"text": HUOLINGGUOLE})
    assert response.status_code == 401


@pytest.mark.parametrize("body, status, message", [
    ({}, 422, "请粘贴或上传整改方案的文本。"),
    ({"text": "   "}, 422, "请粘贴或上传整改方案的文本。"),
    ({"text": 5}, 400, "字段 text 应为字符串。"),
    ({"text": "1.整治。(环保办)", "year": "2020"}, 400, "字段 year 应为整数。"),
    ({"text": "1.整治。(环保办)", "year": 20}, 422, "年份应在 1949 至 2100 之间。"),
    ({"text": "1.整治。(环保办)", "confirm": "yes"}, 400, "字段 confirm 应为 true 或 false。"),
    ({"text": "1.整治。(环保办)", "round_id": 999999}, 422, "请选择存在的督察轮次。"),
    ({"text": "1.整治。(环保办)", "confirm": True}, 422, "创建问题需要指定督察轮次 round_id。"),
    ({"text": "1.整治。(环保办)", "unit_map": ["环保办"]}, 400,
     "字段 unit_map 应为对象:{\"方案中的单位名称\": \"单位编码\" 或 \"+new\"}。"),
])
def test_refused_requests_say_why_and_write_nothing(client, body, status, message):
    headers = _headers(client, make_user("supervisor"))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan", json=body, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json() == {"error": message}
    assert _counts() == before


def _huolingguole_units() -> dict[str, Unit]:
    return {"sthj": make_unit(code="HLGL-STHJ", name="市生态环境分局"),
            "zj": make_unit(code="HLGL-ZJ", name="市住建局")}


def test_confirmed_plan_becomes_66_issues_with_units_and_deadlines(client, clock):
    units = _huolingguole_units()
    round_ = make_round()
    headers = _headers(client, make_user("supervisor"))
    preview = client.post(f"{PREFIX}/imports/plan", json={"text": HUOLINGGUOLE}, headers=headers).get_json()
    # The plan's abbreviation of the existing unit is suggested; the user maps it there and creates the rest.
    assert preview["suggestions"]["市生态环境局"] == "市生态环境分局"
    unit_map = {name: "+new" for name in preview["unknown_units"]}
    unit_map["市生态环境局"] = "HLGL-STHJ"

    response = client.post(f"{PREFIX}/imports/plan", headers=headers, json={
        "text": HUOLINGGUOLE, "round_id": round_.id, "confirm": True, "unit_map": unit_map})

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["created"] == 66 and len(body["issue_ids"]) == 66
    assert body["codes"][0] == "FA2020-001" and body["codes"][-1] == "FA2020-066"
    issues = {i.code: i for i in db.session.scalars(select(Issue).where(Issue.round_id == round_.id))}
    assert len(issues) == 66
    tasks = preview["tasks"]
    for seq, task in enumerate(tasks, start=1):
        issue = issues[f"FA2020-{seq:03d}"]
        lead = "市生态环境分局" if task["lead_units"][0] == "市生态环境局" else task["lead_units"][0]
        assert issue.lead_unit.name == lead, task["number"]
        coop = {"市生态环境分局" if n == "市生态环境局" else n
                for n in task["lead_units"][1:] + task["cooperating_units"]}
        coop.discard(lead)
        assert {db.session.get(Unit, c.unit_id).name for c in issue.cooperating} == coop, task["number"]
        assert issue.description == task["text"]
        if task["deadline"]:
            assert (issue.deadline.isoformat(), issue.rectify_type) == (task["deadline"], "deadline"), task["number"]
        else:  # no deadline phrase: the plan's year end, as a standing task
            assert (issue.deadline.isoformat(), issue.rectify_type) == ("2020-12-31", "long_term"), task["number"]
        assert issue.assigned_on.isoformat() == "2020-01-01"
        assert issue.category == "feedback" and issue.state == "in_progress"
    seq = next(i for i, t in enumerate(tasks, start=1) if t["number"] == "二.(一).1.(6)")
    sixth = issues[f"FA2020-{seq:03d}"]
    assert sixth.deadline.isoformat() == "2020-09-30"
    assert sixth.title == TITLE_OF_6
    first_event = db.session.scalars(select(Event).where(Event.issue_id == sixth.id).order_by(Event.id)).first()
    assert first_event.action == "create"
    assert "方案第 二.(一).1.(6) 项" in first_event.comment and "9月底前" in first_event.comment
    # Units the user asked to create exist under the plan's names; the mapped one was not created.
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.name == "市生态环境局")) == 0
    created_units = set(db.session.scalars(select(Unit.name).where(Unit.code.like("P%"))))
    assert created_units == set(unit_map) - {"市生态环境局"}
    assert units["zj"].name == "市住建局"

    # The same plan again: every code exists, nothing more is written.
    before = _counts()
    again = client.post(f"{PREFIX}/imports/plan", headers=headers, json={
        "text": HUOLINGGUOLE, "round_id": round_.id, "confirm": True, "unit_map": unit_map})
    assert again.status_code == 422
    assert len([e for e in again.get_json()["errors"] if e["field"] == "code"]) == 66
    assert _counts() == before


def test_unmapped_units_refuse_the_whole_plan(client):
    _huolingguole_units()
    round_ = make_round()
    headers = _headers(client, make_user("supervisor"))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan", headers=headers, json={
        "text": HUOLINGGUOLE, "round_id": round_.id, "confirm": True, "unit_map": {"市生态环境局": "NO-SUCH"}})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"].endswith("未创建任何问题。")
    messages = [e["message"] for e in body["errors"]]
    assert "单位「市生态环境局」对应的单位编码「NO-SUCH」不存在。" in messages
    assert "系统中没有单位「达苏木」:请选择对应的单位,或新建该单位。" in messages
    assert _counts() == before


@pytest.mark.parametrize("extra, field, message", [
    ({"code_prefix": "FA 2020"}, None, "编号前缀应为 1 至 40 个字母、数字、汉字或 - _ .。"),
    ({"assigned_on": "2020/01/01"}, None, "交办日期格式应为 YYYY-MM-DD。"),
    ({"category": "nonsense"}, "category", "请选择问题类别。"),
    ({"rectify_type": "nonsense"}, "rectify_type", "请选择整改类型。"),
    ({"assigned_on": "2021-01-01"}, "deadline", "整改时限 2020-12-31 早于交办日期 2021-01-01。"),
])
def test_bad_options_refuse_the_plan_and_write_nothing(client, extra, field, message):
    make_unit(code="HB", name="环保办")
    round_ = make_round()
    headers = _headers(client, make_user("supervisor"))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan", headers=headers, json={
        "text": "2020年工作方案\n1.整治散乱污企业,年底前完成。(责任单位:环保办)", "round_id": round_.id,
        "confirm": True, **extra})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    if field is None:
        assert body == {"error": message}
    else:
        assert {"task": None if field == "category" else "1", "field": field, "message": message} in body["errors"]
    assert _counts() == before
