"""The API's schemas: what the hand-written checks accepted and refused is still accepted and refused,
word for word, and the generated OpenAPI document describes every operation with them."""
from __future__ import annotations

import io
from typing import Any

import pytest

from tests.support.factories import PASSWORD, PDF_BYTES, make_issue, make_round, make_unit, make_user
from tracker import create_app
from tracker.core.extensions import db

PREFIX = "/api/v1"


def headers_for(client, user) -> dict[str, str]:
    """The Authorization header of a token signed in as `user` (commits pending test data first)."""
    db.session.commit()
    response = client.post(f"{PREFIX}/auth/token", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def refusal(response, status: int) -> str:
    """The message of a refusal in the API's error shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
def office(client, session):
    """The office's token, a unit's clerk's token, a unit, a round and one issue of the unit."""
    unit = make_unit("SCH", "某局")
    other = make_unit("ELSE", "另一局")
    round_ = make_round("第一轮")
    issue = make_issue(lead_unit=unit, round=round_, code="S-001")
    supervisor = make_user("supervisor")
    outsider = make_user("unit_staff", other)
    return {"unit": unit, "round": round_, "issue": issue,
            "office": headers_for(client, supervisor), "outsider": headers_for(client, outsider)}


# --- request bodies ----------------------------------------------------------

NOT_JSON = "请求体须为 JSON(Content-Type: application/json)。"
ROUND = '{"name": "回头看", "level": "central", "kind": "look_back"}'


def _rounds() -> int:
    from sqlalchemy import func, select

    from tracker.rounds.models import Round
    return db.session.scalar(select(func.count(Round.id)))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", None])
def test_a_json_body_under_another_content_type_is_refused_415(client, office, content_type):
    """ASVS 13.1.5: a simple cross-site form or text/plain post is never read as the operation's JSON."""
    before = _rounds()
    headers = dict(office["office"])
    kwargs: dict[str, Any] = {"data": ROUND.encode()}
    if content_type:
        kwargs["content_type"] = content_type
    response = client.post(f"{PREFIX}/rounds", headers=headers, **kwargs)
    assert refusal(response, 415) == NOT_JSON
    assert _rounds() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8"])
def test_a_json_body_as_application_json_is_read(client, office, content_type):
    response = client.post(f"{PREFIX}/rounds", data=ROUND.encode(), content_type=content_type, headers=office["office"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["kind"] == "look_back"


def test_415_is_documented_on_json_bodied_operations_only(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    for path, method, op in _operations(doc):
        content = op.get("requestBody", {}).get("content", {})
        assert ("415" in op["responses"]) == ("application/json" in content), (path, method)
    assert "415" in doc["paths"]["/issues/{issue_id}/progress"]["post"]["responses"]
    assert "415" not in doc["paths"]["/issues/{issue_id}/attachments"]["post"]["responses"]


def test_unknown_fields_are_ignored_and_null_is_absent(client, office):
    response = client.post(f"{PREFIX}/rounds", headers=office["office"], json={
        "name": "专项", "level": "central", "kind": "special", "feedback_date": None, "document_no": None,
        "colour": "blue"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["feedback_date"] is None and response.get_json()["document_no"] is None


@pytest.mark.parametrize("body, message", [
    ({"round_id": "1", "title": 5, "cooperating_units": "X"}, "字段 round_id 应为整数。"),
    ({"round_id": True}, "字段 round_id 应为整数。"),
    ({"round_id": 1.0}, "字段 round_id 应为整数。"),
    ({"title": 5, "cooperating_units": "X"}, "字段 title 应为字符串。"),
    ({"cooperating_units": ["A", 1]}, "字段 cooperating_units 应为字符串数组。"),
])
def test_the_first_wrong_field_in_order_is_reported(client, office, body, message):
    assert refusal(client.post(f"{PREFIX}/issues", json=body, headers=office["office"]), 400) == message


@pytest.mark.parametrize("data, message", [
    ("", "请求体为空:应为 JSON 对象。"),
    ("   ", "请求体为空:应为 JSON 对象。"),
    ("{oops", "请求体不是合法的 JSON。"),
    ("null", "请求体必须是 JSON 对象(形如 {\"字段\": 值})。"),
    ("[]", "请求体必须是 JSON 对象(形如 {\"字段\": 值})。"),
])
def test_a_body_that_is_no_json_object_is_refused(client, office, data, message):
    response = client.post(f"{PREFIX}/units", data=data, content_type="application/json", headers=office["office"])
    assert refusal(response, 400) == message


def test_a_transition_needs_an_action_before_the_workflow_is_asked(client, office):
    url = f"{PREFIX}/issues/{office['issue'].id}/transitions"
    assert refusal(client.post(url, json={"action": ""}, headers=office["office"]), 400) == \
        "请提供 action(要执行的操作)。"
    assert refusal(client.post(url, json={"action": None, "version": "2"}, headers=office["office"]), 400) == \
        "字段 version 应为整数。"


@pytest.mark.parametrize("path", ["progress", "transitions"])
def test_an_issue_out_of_scope_is_404_whatever_the_body(client, office, path):
    response = client.post(f"{PREFIX}/issues/{office['issue'].id}/{path}", data="{broken",
                           content_type="application/json", headers=office["outsider"])
    assert refusal(response, 404) == "问题不存在或您无权查看。"


def test_an_upload_out_of_scope_is_404_even_without_a_file(client, office):
    response = client.post(f"{PREFIX}/issues/{office['issue'].id}/attachments", data={"other": "x"},
                           content_type="multipart/form-data", headers=office["outsider"])
    assert refusal(response, 404) == "问题不存在或您无权查看。"


def test_a_form_field_named_file_is_no_file(client, office, session):
    clerk = make_user("unit_staff", office["unit"])
    response = client.post(f"{PREFIX}/issues/{office['issue'].id}/attachments", data={"file": "not a file"},
                           content_type="multipart/form-data", headers=headers_for(client, clerk))
    assert refusal(response, 400) == "请以 multipart/form-data 上传文件,字段名为 file。"


# --- query strings -----------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("unit=NOPE&page=0", "参数 unit:单位编码「NOPE」不存在。"),
    ("round_id=x&state=bogus", "参数 round_id 应为整数。"),
    ("state=bogus", "参数 state 应为 in_progress、basically_done、submitted、verified、closed、open、merged 之一。"),
    ("light=blue", "参数 light 应为 red、yellow、green 之一。"),
    ("overdue=maybe", "参数 overdue 应为 true 或 false。"),
    ("page=x", "参数 page 应为整数。"),
    # As the API has always said it: no space before 的 after the bound.
    ("page=0", "参数 page 应为不小于 1的整数。"),
    ("per_page=101", "参数 per_page 应为1 到 100的整数。"),
])
def test_list_arguments_are_refused_word_for_word(client, office, query, message):
    assert refusal(client.get(f"{PREFIX}/issues?{query}", headers=office["office"]), 400) == message


def test_blank_and_unknown_arguments_count_as_absent(client, office):
    response = client.get(f"{PREFIX}/issues?page=%20&per_page=&state=&OVERDUE=x&q=%20S-001%20",
                          headers=office["office"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 1)
    assert response.get_json()["items"][0]["code"] == "S-001"


def test_the_export_still_checks_the_page_arguments(client, office):
    assert refusal(client.get(f"{PREFIX}/issues/export.xlsx?page=0", headers=office["office"]), 400) == \
        "参数 page 应为不小于 1的整数。"


@pytest.mark.parametrize("path", ["/stats", "/stats/scorecard"])
def test_the_statistics_round_filter(client, office, path):
    assert refusal(client.get(f"{PREFIX}{path}?round_id=abc", headers=office["office"]), 400) == \
        "参数 round_id 应为整数。"
    assert refusal(client.get(f"{PREFIX}{path}?round_id=%200%20", headers=office["office"]), 400) == \
        "督察轮次 0 不存在。"
    assert client.get(f"{PREFIX}{path}?round_id={office['round'].id}", headers=office["office"]).status_code == 200


# --- the plan import and the ledger upload -----------------------------------

def test_plan_import_reads_a_falsy_unit_map_as_none_and_refuses_a_null_confirm(client, office):
    url = f"{PREFIX}/imports/plan"
    for empty in ([], "", 0, False, None):
        response = client.post(url, json={"text": "1.整治。(某局)", "unit_map": empty}, headers=office["office"])
        assert response.status_code == 200, (empty, response.get_data(as_text=True))
    assert refusal(client.post(url, json={"text": "1.整治。(某局)", "confirm": None}, headers=office["office"]),
                   400) == "字段 confirm 应为 true 或 false。"
    assert refusal(client.post(url, json={"text": "1.整治。(某局)", "unit_map": {"某局": 1}},
                               headers=office["office"]), 400).startswith("字段 unit_map 应为对象")


@pytest.mark.parametrize("form, message", [
    ({"file": "text, not a file"}, "请以 multipart/form-data 上传台账文件,字段名为 file。"),
    ({"confirm": "maybe", "round_id": "x"}, "字段 confirm 应为 true 或 false。"),
    ({"confirm": " TRUE ", "round_id": "-1"}, "字段 round_id 应为整数。"),
])
def test_ledger_form_fields_are_refused_word_for_word(client, office, form, message):
    data: dict[str, Any] = {"file": (io.BytesIO(b"not read"), "ledger.xlsx"), **form}
    response = client.post(f"{PREFIX}/imports/ledger", data=data, content_type="multipart/form-data",
                           headers=office["office"])
    assert refusal(response, 400) == message


# --- the document ------------------------------------------------------------

def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        _, section, kind, name = node["$ref"].split("/")
        node = doc[section][kind][name]
    return node


def _operations(doc: dict[str, Any]):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_every_error_response_is_an_error_and_every_id_is_unique(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"]["type"] == "string"
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            response = _resolve(doc, response)
            assert response["description"], (path, method, status)
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
        if op.get("security") != []:
            assert "401" in op["responses"], (path, method)
    unauthorized = doc["components"]["responses"]["UNAUTHORIZED"]
    assert "WWW-Authenticate" in unauthorized["headers"]


def test_every_documented_property_has_a_type(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()

    def check(schema: Any, where: str) -> None:
        schema = _resolve(doc, schema)
        assert "type" in schema, where
        for name, prop in schema.get("properties", {}).items():
            check(prop, f"{where}.{name}")
        if "items" in schema:
            check(schema["items"], f"{where}[]")

    for name, schema in doc["components"]["schemas"].items():
        check(schema, name)
    for path, method, op in _operations(doc):
        for param in op.get("parameters", []):
            check(param["schema"], f"{method} {path} {param['name']}")
        for content in op.get("requestBody", {}).get("content", {}).values():
            check(content["schema"], f"{method} {path} body")
        for status, response in op["responses"].items():
            for content in _resolve(doc, response).get("content", {}).values():
                check(content["schema"], f"{method} {path} {status}")


def test_the_document_is_the_same_for_every_app_and_every_read(client, app, database_url):
    first = client.get(f"{PREFIX}/openapi.json").get_json()
    assert client.get(f"{PREFIX}/openapi.json").get_json() == first
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                        "SECRET_KEY": "test", "UPLOAD_DIR": app.config["UPLOAD_DIR"]})
    assert other.test_client().get(f"{PREFIX}/openapi.json").get_json() == first


def test_request_bodies_document_what_the_views_read(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert set(schemas["Credentials"]["required"]) == {"username", "password"}
    assert set(schemas["IssueCreate"]["required"]) == {"round_id", "code", "title", "category", "rectify_type",
                                                       "deadline", "lead_unit"}
    upload = doc["paths"]["/issues/{issue_id}/attachments"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"] == {"type": "string", "format": "binary"}
    ledger = doc["paths"]["/imports/ledger"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(ledger["properties"]) == {"file", "confirm", "round_id"} and ledger["required"] == ["file"]
    plan = doc["paths"]["/imports/plan"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert plan["required"] == ["text"] and plan["properties"]["confirm"]["default"] is False


def test_an_upload_in_scope_still_works(client, office):
    clerk = make_user("unit_staff", office["unit"])
    response = client.post(f"{PREFIX}/issues/{office['issue'].id}/attachments",
                           data={"file": (io.BytesIO(PDF_BYTES), "证明.pdf")}, content_type="multipart/form-data",
                           headers=headers_for(client, clerk))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert set(response.get_json()) == {"id", "filename", "size", "sha256"}
