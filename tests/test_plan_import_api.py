"""POST /api/v1/imports/plan: the preview of a plan's tasks, who may ask for it, and its refusals."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Issue, Unit

from .factories import PASSWORD, make_round, make_unit, make_user

PREFIX = "/api/v1"
FIXTURES = Path(__file__).parent / "fixtures" / "plans"
HUOLINGGUOLE = (FIXTURES / "huolingguole-2020-action-plan.txt").read_text(encoding="utf-8")
ZHONGBEI = (FIXTURES / "zhongbei-2017-rectification-plan.txt").read_text(encoding="utf-8")


def _headers(client, user) -> dict:
    db.session.commit()
    response = client.post(f"{PREFIX}/auth/token", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


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
    ({"text": "1.整治。(环保办)", "confirm": True}, 422, "暂不支持直接创建:请先预览,再逐条登记问题。"),
])
def test_refused_requests_say_why_and_write_nothing(client, body, status, message):
    headers = _headers(client, make_user("supervisor"))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan", json=body, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json() == {"error": message}
    assert _counts() == before


def test_confirm_with_a_round_is_refused_for_now(client):
    round_ = make_round()
    headers = _headers(client, make_user("supervisor"))
    before = _counts()
    response = client.post(f"{PREFIX}/imports/plan",
                           json={"text": HUOLINGGUOLE, "round_id": round_.id, "confirm": True}, headers=headers)
    assert response.status_code == 422
    assert "暂不支持直接创建" in response.get_json()["error"]
    assert _counts() == before
