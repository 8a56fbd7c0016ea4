"""F9: input the database cannot take answers 4xx with a Chinese message, never 500 (ASVS 5.1.3, 13.2.2).

Huge ids in paths (past PostgreSQL's integer, past 64 bits), huge page numbers and round ids in query
strings, NUL and other control characters in a search, year 0000 in a month, deeply nested JSON, and
integers past the database's range in JSON and form bodies: on the pages and the API, signed in or
not. Every case here answered 500 before `tracker.core.bounds` (on SQLite: OverflowError; on
PostgreSQL: integer out of range, or NUL refused in a string).
"""
from __future__ import annotations

import io
import re
from datetime import date

import pytest

from tests.support.api import api_for
from tests.support.factories import PDF_BYTES, make_issue, make_round, make_unit, make_user
from tracker.core.bounds import (
    DB_INT_MAX,
    MAX_JSON_DEPTH,
    MAX_PAGE,
    NO_CONTROLS_PATTERN,
    digits_upto,
    json_depth,
    page_number,
    whole_number,
)
from tracker.core.extensions import db

HUGE = "99999999999999999999"  # past 64 bits
PAST_BIGINT = "9223372036854775808"  # 2**63
PAST_INT = str(DB_INT_MAX + 1)  # past PostgreSQL's integer
PAGE_404 = "页面不存在或您无权查看。"


@pytest.fixture
def people(session):
    """A supervisor, an admin, a clerk of the unit leading the issue, and the issue."""
    lead = make_unit("LEAD", "牵头局")
    round_ = make_round("第一轮中央环保督察")
    issue = make_issue(lead_unit=lead, round=round_, code="Z-001", title="污水直排", deadline=date(2020, 6, 30))
    users = {"supervisor": make_user("supervisor", username="super"), "admin": make_user("admin", username="admin"),
             "clerk": make_user("unit_staff", lead, username="clerk")}
    session.commit()
    return {**users, "issue": issue, "round": round_}


# --- the shared helpers --------------------------------------------------------

def test_digits_upto_matches_exactly_the_numbers_up_to_the_limit():
    for limit in (0, 7, 10, 99, 250, 1000, 4321):
        pattern = re.compile(digits_upto(limit))
        assert [n for n in range(limit * 3 + 20) if pattern.fullmatch(str(n))] == list(range(limit + 1))
    pattern = re.compile(digits_upto(DB_INT_MAX))
    assert pattern.fullmatch(str(DB_INT_MAX)) and pattern.fullmatch("2099999999")
    assert not any(pattern.fullmatch(n) for n in (PAST_INT, "2147483650", "9999999999", HUGE, "-1", "١٢"))


def test_numbers_from_query_strings_are_ascii_digits_within_bounds():
    assert whole_number(" 42 ") == 42 and whole_number(str(DB_INT_MAX)) == DB_INT_MAX
    refused = (PAST_INT, HUGE, "", None, "-1", "+1", "1_000", "²", "١٢", "1e3")
    assert [whole_number(raw) for raw in refused] == [None] * len(refused)
    assert page_number("1") == 1 and page_number(str(MAX_PAGE)) == MAX_PAGE
    assert [page_number(raw) for raw in ("0", str(MAX_PAGE + 1), str(10**20))] == [None] * 3


def test_json_depth_counts_nesting_without_recursion():
    assert json_depth(1) == 0 and json_depth({"a": [1, {"b": []}]}) == 4
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth(deep) == MAX_JSON_DEPTH + 1  # stops counting once too deep


# --- pages ---------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"/issues/{HUGE}", f"/issues/{PAST_BIGINT}", f"/issues/{PAST_INT}",
                                  f"/issues/{PAST_INT}/edit", f"/issues/1/attachments/{HUGE}",
                                  f"/jobs/{HUGE}", f"/jobs/{PAST_INT}/status", f"/admin/mail/{HUGE}"])
def test_pages_answer_404_for_ids_past_the_database_range(client, login_as, people, path):
    login_as(people["admin"])
    response = client.get(path)
    assert response.status_code == 404
    assert PAGE_404 in response.get_data(as_text=True)


def test_a_huge_id_answers_404_without_signing_in(client, people):
    assert client.get(f"/issues/{HUGE}").status_code == 404


@pytest.mark.parametrize("who,path", [
    ("supervisor", "/issues/?page=" + "1" + "0" * 20),
    ("supervisor", f"/issues/?page={PAST_INT}"),
    ("supervisor", "/issues/?page=²"),
    ("supervisor", f"/issues/?round={HUGE}"),
    ("supervisor", "/issues/export.xlsx?page=" + HUGE),
    ("supervisor", "/notices/?page=" + HUGE),
    ("admin", "/admin/mail?page=" + HUGE),
])
def test_list_pages_ignore_page_numbers_past_the_last_possible_page(client, login_as, people, who, path):
    login_as(people[who])
    response = client.get(path)
    assert response.status_code in (200, 302), response.status_code


def test_the_issue_list_names_the_page_number_it_ignored(client, login_as, people):
    login_as(people["supervisor"])
    response = client.get(f"/issues/?page={HUGE}")
    assert response.status_code == 200
    assert f"页码「{HUGE}」无效,已忽略。" in response.get_data(as_text=True)
    assert "污水直排" in response.get_data(as_text=True)  # page 1 is shown


def test_the_public_page_takes_huge_page_and_round_numbers_without_signing_in(client, people):
    response = client.get(f"/public/?page={HUGE}&round={HUGE}")
    assert response.status_code == 200


CONTROL = "网址中含有控制字符(如 NUL),请检查链接或查询条件后重试。"


@pytest.mark.parametrize("path", ["/issues/?q=污水%00直排", "/issues/?q=%00", "/issues/?q=%01%1b%7f",
                                  "/issues/?%00=1", "/stats/monthly?month=%1b"])
def test_control_characters_in_a_page_address_answer_400(client, login_as, people, path):
    login_as(people["supervisor"])
    response = client.get(path)
    assert response.status_code == 400
    assert CONTROL in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/issues/%00", "/issues/import/%00", "/api/v1/issues/1%00", "/api/v1/jobs/%1b"])
def test_control_characters_in_a_path_answer_404(client, login_as, people, path):
    login_as(people["supervisor"])
    assert client.get(path).status_code == 404


def test_control_characters_answer_400_without_signing_in(client, people):
    response = client.get("/public/?round=%00")
    assert response.status_code == 400
    assert CONTROL in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/stats/monthly?month=0000-01", "/stats/monthly.xlsx?month=0000-01",
                                  "/stats/monthly?month=0001-01"])
def test_the_monthly_report_refuses_year_0000_with_a_message(client, login_as, people, path):
    login_as(people["supervisor"])
    response = client.get(path)
    assert response.status_code == 400
    assert "太早,最早可查看 2000-01。" in response.get_data(as_text=True)


def test_the_statistics_page_ignores_a_huge_round_id_with_a_note(client, login_as, people):
    login_as(people["supervisor"])
    response = client.get(f"/stats/?round_id={HUGE}")
    assert response.status_code == 200
    assert f"督察轮次 {HUGE} 不存在。已显示全部轮次。" in response.get_data(as_text=True)


# --- API -----------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("get", f"/issues/{PAST_BIGINT}"), ("get", f"/issues/{HUGE}"), ("get", f"/issues/{PAST_INT}/events"),
    ("patch", f"/issues/{PAST_INT}"), ("patch", "/issues/99999999999"), ("post", f"/issues/{HUGE}/transitions"),
    ("post", f"/issues/{PAST_INT}/progress"), ("get", f"/jobs/{HUGE}"), ("post", f"/notices/{HUGE}/read"),
])
def test_api_answers_404_for_ids_past_the_database_range(client, people, method, path):
    api = api_for(client, people["supervisor"])
    response = getattr(api, method)(path, json={"action": "verify"})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json() == {"error": PAGE_404}


def test_api_answers_404_for_a_huge_id_before_asking_for_a_token(client, people):
    response = client.get(f"/api/v1/issues/{PAST_BIGINT}")
    assert response.status_code == 404


@pytest.mark.parametrize("path,message", [
    ("/issues?page=" + "1" + "0" * 20, f"参数 page 应为1 到 {MAX_PAGE}的整数。"),
    (f"/issues?page={MAX_PAGE + 1}", f"参数 page 应为1 到 {MAX_PAGE}的整数。"),
    (f"/issues?round_id={HUGE}", f"参数 round_id 应为1 到 {DB_INT_MAX}的整数。"),
    ("/issues?round_id=%2B1", "参数 round_id 应为整数。"),
    ("/issues?page=1_0", "参数 page 应为整数。"),
    (f"/notices?page={HUGE}", f"参数 page 应为1 到 {MAX_PAGE}的整数。"),
    (f"/issues/export.xlsx?page={HUGE}", f"参数 page 应为1 到 {MAX_PAGE}的整数。"),
    (f"/stats?round_id={HUGE}", f"督察轮次 {HUGE} 不存在。"),
    (f"/stats/scorecard?round_id={PAST_INT}", f"督察轮次 {PAST_INT} 不存在。"),
    ("/reports/monthly?month=0000-01", "月份 0000-01 太早,最早可查看 2000-01。"),
])
def test_api_refuses_query_numbers_past_their_bounds_with_400(client, people, path, message):
    api = api_for(client, people["supervisor"])
    response = api.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == {"error": message}


@pytest.mark.parametrize("path", ["/issues?q=污水%00直排", "/issues?q=%00", "/issues?q=%01%1f%7f",
                                  "/reports/monthly?month=%1b", "/notices?page=1%00"])
def test_api_refuses_control_characters_in_the_query_string_with_400(client, people, path):
    api = api_for(client, people["supervisor"])
    response = api.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == {"error": CONTROL}


def test_api_refuses_control_characters_before_asking_for_a_token(client):
    response = client.get("/api/v1/issues?q=%00")
    assert response.status_code == 400
    assert response.get_json() == {"error": CONTROL}


def test_api_drops_nul_characters_from_json_strings(client, people):
    api = api_for(client, people["supervisor"])
    response = api.patch(f"/issues/{people['issue'].id}", json={"title": "污水\x00直排整治"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["title"] == "污水直排整治"
    response = client.post("/api/v1/auth/token", json={"username": "su\x00per", "password": "password123"})
    assert response.status_code == 200


def test_the_document_bounds_ids_and_pages_and_allows_empty_query_values(client):
    document = client.get("/api/v1/openapi.json").get_json()
    issue_id = document["paths"]["/issues/{issue_id}"]["get"]["parameters"][0]
    assert issue_id["schema"] == {"type": "integer", "minimum": 0, "maximum": DB_INT_MAX}
    query = {p["name"]: p for p in document["paths"]["/issues"]["get"]["parameters"]}
    assert query["page"]["schema"]["maximum"] == MAX_PAGE and query["page"]["allowEmptyValue"] is True
    assert query["round_id"]["schema"]["maximum"] == DB_INT_MAX
    assert query["q"]["schema"]["pattern"] == NO_CONTROLS_PATTERN


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_api_refuses_deeply_nested_json_without_signing_in(client, depth):
    response = client.post("/api/v1/auth/token", data=nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": f"请求体嵌套层数过多(不能超过 {MAX_JSON_DEPTH} 层)。"}


def test_api_takes_json_nested_up_to_the_limit(client, people):
    body = nested(MAX_JSON_DEPTH - 1)[:-1] + ', "username": "super", "password": "password123"}'
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)


INT_RANGE = f"应为 {-(2**31)} 到 {DB_INT_MAX} 的整数。"


@pytest.mark.parametrize("path,body,message", [
    ("/issues", {"round_id": 2**40, "code": "X-1", "title": "t", "lead_unit": "LEAD", "category": "feedback",
                 "rectify_type": "deadline", "deadline": "2020-12-31"}, f"字段 round_id {INT_RANGE}"),
    ("/issues/{id}/transitions", {"action": "verify", "version": 2**63}, f"字段 version {INT_RANGE}"),
    ("/issues/{id}/progress", {"period": "2020-07", "percent": 10**30, "text": "x"}, f"字段 percent {INT_RANGE}"),
])
def test_api_refuses_json_integers_past_the_database_range(client, people, path, body, message):
    api = api_for(client, people["supervisor"])
    response = api.post(path.format(id=people["issue"].id), json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == {"error": message}
    db.session.rollback()
    assert db.session.get(type(people["issue"]), people["issue"].id).version == 1  # nothing changed


def test_api_refuses_a_form_round_id_past_the_database_range(client, people):
    api = api_for(client, people["supervisor"])
    response = api.post("/imports/ledger", data={"file": (io.BytesIO(PDF_BYTES), "台账.xlsx"), "round_id": HUGE},
                        content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json() == {"error": f"字段 round_id 应为 0 到 {DB_INT_MAX} 的整数。"}
