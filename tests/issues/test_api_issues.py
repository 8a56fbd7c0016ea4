"""The JSON API: tokens, units, users, rounds, issues, and every refusal leaving the data as it was."""
from __future__ import annotations

import hashlib
import io
import logging
from datetime import date
from typing import Any, Optional

import pytest
from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.accounts.models import ApiToken, User
from tracker.issues.models import Attachment, Event, Issue, ProgressReport
from tracker.rounds.models import Round
from tracker.units.models import Unit
from tracker.core.files import path_for

from tests.support.factories import PASSWORD, PDF_BYTES, make_attachment, make_issue, make_report, make_round

ISSUE_KEYS = {"id", "code", "title", "round_id", "category", "rectify_type", "deadline", "lead_unit",
              "cooperating_units", "state", "progress_percent", "overdue", "days_overdue", "lagging", "light",
              "merged_into", "version", "created_at", "updated_at"}
PREFIX = "/api/v1"


# --- helpers -----------------------------------------------------------------

class Api:
    """The test client calling the API with one user's bearer token."""

    def __init__(self, client, token: Optional[str]):
        self.client = client
        self.token = token

    def _headers(self, extra: Optional[dict] = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, path: str, **kw):
        return self.client.get(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, **kw):
        return self.client.post(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def upload(self, issue_id: int, content: bytes = PDF_BYTES, name: str = "整改证明.pdf"):
        return self.post(f"/issues/{issue_id}/attachments", data={"file": (io.BytesIO(content), name)},
                         content_type="multipart/form-data")

    def act(self, issue_id: int, **body):
        return self.post(f"/issues/{issue_id}/transitions", json=body)


def token_for(client, user: User | str, password: str = PASSWORD) -> str:
    """Sign in through POST /auth/token and return the token."""
    name = user if isinstance(user, str) else user.username
    response = client.post(f"{PREFIX}/auth/token", json={"username": name, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["token"]


def api_for(client, user: User) -> Api:
    """An API caller signed in as `user` (commits pending test data first)."""
    db.session.commit()
    return Api(client, token_for(client, user))


def snapshot(issue_id: int) -> dict[str, Any]:
    """The issue's state as another connection sees it: what a refusal must leave alone."""
    with db.engine.connect() as conn:
        state, version, progress, summary, verified_by, merged_into = conn.execute(
            select(Issue.state, Issue.version, Issue.progress_percent, Issue.summary, Issue.verified_by_id,
                   Issue.merged_into_id).where(Issue.id == issue_id)
        ).one()

        def count(model) -> int:
            return conn.scalar(select(func.count()).select_from(model).where(model.issue_id == issue_id))

        return {
            "state": state, "version": version, "progress": progress, "summary": summary,
            "verified_by": verified_by, "merged_into": merged_into,
            "events": count(Event), "reports": count(ProgressReport), "attachments": count(Attachment),
        }


def rows(model) -> int:
    """How many rows a table holds, read on another connection."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def assert_refused(response, status: int, fragment: str = "") -> str:
    """The response is a refusal of the given status in the API's error shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"], body
    assert fragment in body["error"], body["error"]
    return body["error"]


# --- tokens ------------------------------------------------------------------

def test_token_is_issued_for_good_credentials_and_stored_hashed(client, world):
    response = client.post(f"{PREFIX}/auth/token", json={"username": "staff", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_json()["token"]
    assert len(token) >= 32
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored and token not in stored


@pytest.mark.parametrize("body", [
    {"username": "staff", "password": "wrong-password"},
    {"username": "nobody", "password": PASSWORD},
])
def test_wrong_credentials_get_401_and_no_token(client, world, body):
    assert_refused(client.post(f"{PREFIX}/auth/token", json=body), 401, "用户名或密码不正确")
    assert rows(ApiToken) == 0


def test_inactive_user_gets_no_token(client, world):
    world["staff"].active = False
    db.session.commit()
    assert_refused(client.post(f"{PREFIX}/auth/token", json={"username": "staff", "password": PASSWORD}), 401)
    assert rows(ApiToken) == 0


@pytest.mark.parametrize("kwargs, fragment", [
    ({"data": "{not json", "content_type": "application/json"}, "不是合法的 JSON"),
    ({"data": "", "content_type": "application/json"}, "请求体为空"),
    ({"json": ["staff", PASSWORD]}, "必须是 JSON 对象"),
    ({"json": {"username": "staff", "password": 12345678}}, "字段 password 应为字符串"),
    ({"json": {"username": "staff"}}, "请提供 username 和 password"),
])
def test_malformed_token_requests_get_400(client, world, kwargs, fragment):
    assert_refused(client.post(f"{PREFIX}/auth/token", **kwargs), 400, fragment)
    assert rows(ApiToken) == 0


def test_calls_without_token_get_401_and_are_logged(client, world, caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.api"):
        response = client.get(f"{PREFIX}/issues")
    assert_refused(response, 401, "缺少访问令牌")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert any(r.name == "tracker.api" and r.levelno == logging.WARNING and "401" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("header, fragment", [
    ("Bearer not-a-real-token", "无效"),
    ("Basic c3RhZmY6cGFzc3dvcmQxMjM=", "格式不正确"),
    ("Bearer", "格式不正确"),
])
def test_bad_tokens_get_401(client, world, header, fragment):
    assert_refused(client.get(f"{PREFIX}/units", headers={"Authorization": header}), 401, fragment)


def test_session_cookie_does_not_authenticate_the_api(client, world, login_as):
    login_as(world["supervisor"])
    assert client.get("/").status_code == 200  # the browser session works for pages
    assert_refused(client.get(f"{PREFIX}/issues"), 401)
    before = rows(Round)
    assert_refused(client.post(f"{PREFIX}/rounds", json={"name": "轮次", "level": "central", "kind": "regular"}),
                   401)
    assert rows(Round) == before


def test_revoked_token_gets_401(client, world):
    api = api_for(client, world["staff"])
    assert api.get("/units").status_code == 200
    response = api.delete("/auth/token")
    assert response.status_code == 204
    assert_refused(api.get("/units"), 401, "已被撤销")
    assert_refused(api.delete("/auth/token"), 401)
    # Another token of the same user still works: only the presented one was revoked.
    other = Api(client, token_for(client, world["staff"]))
    assert other.get("/units").status_code == 200


def test_token_of_deactivated_user_stops_working(client, world):
    api = api_for(client, world["staff"])
    world["staff"].active = False
    db.session.commit()
    assert_refused(api.get("/units"), 401)


def test_unknown_api_path_answers_json_404(client, world):
    api = api_for(client, world["staff"])
    assert_refused(api.get("/nothing-here"), 404)


# --- units, users, rounds ----------------------------------------------------

def test_admin_creates_units_and_anyone_lists_them(client, world):
    admin = api_for(client, world["admin"])
    response = admin.post("/units", json={"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD",
                                          "email": "town@example.cn"})
    assert response.status_code == 201
    assert response.get_json() == {"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD",
                                   "email": "town@example.cn"}
    staff = api_for(client, world["staff"])
    items = staff.get("/units").get_json()["items"]
    assert [u["code"] for u in items] == ["COOP", "LEAD", "OTHER", "TOWN"]
    assert {"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD", "email": "town@example.cn"} in items
    assert {"code": "LEAD", "name": "牵头局", "parent_code": None, "email": None} in items


@pytest.mark.parametrize("who, body, status, fragment", [
    ("supervisor", {"code": "X1", "name": "新单位"}, 403, "无权"),
    ("staff", {"code": "X1", "name": "新单位"}, 403, "无权"),
    ("admin", {"code": "LEAD", "name": "重名单位"}, 409, "已存在"),
    ("admin", {"code": "X1"}, 422, "单位名称"),
    ("admin", {"code": "X1", "name": "新单位", "parent_code": "NOPE"}, 422, "NOPE"),
    ("admin", {"code": "X1", "name": "新单位", "email": "not-an-address"}, 422, "邮箱"),
    ("admin", {"code": 7, "name": "新单位"}, 400, "字段 code 应为字符串"),
])
def test_unit_creation_refusals_change_nothing(client, world, who, body, status, fragment):
    api = api_for(client, world[who])
    before = rows(Unit)
    assert_refused(api.post("/units", json=body), status, fragment)
    assert rows(Unit) == before


def test_admin_creates_user_without_exposing_the_hash(client, world):
    admin = api_for(client, world["admin"])
    response = admin.post("/users", json={"username": "clerk2", "password": "s3cret-pass", "role": "unit_staff",
                                          "unit_code": "LEAD", "email": "c@example.cn", "display_name": "张三"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "clerk2" and body["unit_code"] == "LEAD" and body["role"] == "unit_staff"
    assert body["display_name"] == "张三" and body["active"] is True
    text = response.get_data(as_text=True)
    assert "password" not in text and "scrypt" not in text and "s3cret" not in text
    # The new user can sign in to the API at once.
    assert token_for(client, "clerk2", "s3cret-pass")


@pytest.mark.parametrize("who, body, status, fragment", [
    ("supervisor", {"username": "u2", "password": "password123", "role": "leader"}, 403, "无权"),
    ("admin", {"username": "staff", "password": "password123", "role": "leader"}, 409, "已存在"),
    ("admin", {"username": "u2", "password": "password123", "role": "unit_staff"}, 422, "所属单位"),
    ("admin", {"username": "u2", "password": "short", "role": "leader"}, 422, "密码"),
    ("admin", {"username": "u2", "password": "password123", "role": "king"}, 422, "角色"),
    ("admin", {"username": "u2", "password": "password123", "role": ["leader"]}, 400, "字段 role"),
])
def test_user_creation_refusals_change_nothing(client, world, who, body, status, fragment):
    api = api_for(client, world[who])
    before = rows(User)
    assert_refused(api.post("/users", json=body), status, fragment)
    assert rows(User) == before


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_admin_and_supervisor_create_rounds(client, world, who):
    api = api_for(client, world[who])
    response = api.post("/rounds", json={"name": f"{who}的回头看", "level": "central", "kind": "look_back",
                                         "feedback_date": "2018-10-30"})
    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["feedback_date"] == "2018-10-30" and body["kind"] == "look_back"
    assert db.session.get(Round, body["id"]).name == f"{who}的回头看"


@pytest.mark.parametrize("who, body, status, fragment", [
    ("head", {"name": "R", "level": "central", "kind": "regular"}, 403, "无权"),
    ("approver", {"name": "R", "level": "central", "kind": "regular"}, 403, "无权"),
    ("supervisor", {"name": "R", "level": "galactic", "kind": "regular"}, 422, "层级"),
    ("supervisor", {"name": "R", "level": "central", "kind": "regular", "feedback_date": "2018/10/30"}, 422,
     "YYYY-MM-DD"),
    ("supervisor", {"name": "第一轮中央环保督察", "level": "central", "kind": "regular"}, 409, "已存在"),
    ("supervisor", {"name": "R", "level": "central", "kind": "regular", "feedback_date": 20181030}, 400,
     "feedback_date"),
])
def test_round_creation_refusals_change_nothing(client, world, who, body, status, fragment):
    api = api_for(client, world[who])
    before = rows(Round)
    assert_refused(api.post("/rounds", json=body), status, fragment)
    assert rows(Round) == before


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
    assert set(body) == ISSUE_KEYS
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
    assert set(events[0]) == {"at", "actor", "action", "from_state", "to_state", "comment"}
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
