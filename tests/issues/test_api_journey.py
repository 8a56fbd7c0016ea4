"""The API end to end: a full closure journey, scoping, query counts and the OpenAPI document."""
from __future__ import annotations

import re
from datetime import date

from tests.support.api import ISSUE_KEYS, PREFIX, Api, api_for, assert_refused, snapshot, token_for
from tests.support.factories import make_issue, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.core.extensions import db
from tracker.issues.scoping import can_see


def test_full_journey_from_registration_to_closed(client, session, clock):
    lead = make_unit("CITY-ZJ", "市住建局")
    make_unit("CITY-ST", "市生态环境局")  # the cooperating unit
    supervisor = make_user("supervisor", username="office")
    staff = make_user("unit_staff", lead, username="clerk")
    head = make_user("unit_head", lead, username="chief")
    approver = make_user("approver", username="closer")
    session.commit()

    office = Api(client, token_for(client, supervisor))
    clerk = Api(client, token_for(client, staff))
    chief = Api(client, token_for(client, head))
    closer = Api(client, token_for(client, approver))

    # The office registers the round and the issue.
    response = office.post("/rounds", json={"name": "2019年省级环保督察", "level": "provincial",
                                            "kind": "regular", "feedback_date": "2019-09-20"})
    assert response.status_code == 201
    round_id = response.get_json()["id"]
    response = office.post("/issues", json={
        "round_id": round_id, "code": "SJ-2019-07", "title": "城区黑臭水体整治不到位",
        "description": "部分黑臭水体返黑返臭。", "category": "feedback", "rectify_type": "deadline",
        "deadline": "2020-10-31", "lead_unit": "CITY-ZJ", "cooperating_units": ["CITY-ST"],
        "target": "消除黑臭", "measures": "控源截污、清淤疏浚", "domain": "水",
    })
    assert response.status_code == 201
    issue = response.get_json()
    issue_id = issue["id"]
    assert issue["state"] == "in_progress" and issue["cooperating_units"] == ["CITY-ST"]

    # The unit's clerk reports progress and uploads evidence.
    clock.set("2020-07-16T01:00:00")
    assert clerk.post(f"/issues/{issue_id}/progress",
                      json={"period": "2020-07", "percent": 100, "text": "已完成清淤和截污"}).status_code == 201
    clock.set("2020-07-16T02:00:00")
    upload = clerk.upload(issue_id, name="水质监测报告.pdf")
    assert upload.status_code == 201

    # The clerk may not submit; the head does, with a summary.
    before = snapshot(issue_id)
    assert_refused(clerk.act(issue_id, action="submit", summary="总结"), 403)
    assert snapshot(issue_id) == before
    clock.set("2020-07-17T01:00:00")
    version = chief.get(f"/issues/{issue_id}").get_json()["version"]
    response = chief.act(issue_id, action="submit", summary="黑臭水体已消除,水质监测达标。", version=version)
    assert response.status_code == 200 and response.get_json()["state"] == "submitted"

    # The office returns it once, the head resubmits, the office verifies.
    clock.set("2020-07-18T01:00:00")
    response = office.act(issue_id, action="return", comment="缺少第三方监测报告")
    assert response.status_code == 200 and response.get_json()["state"] == "in_progress"
    clock.set("2020-07-19T01:00:00")
    assert chief.act(issue_id, action="submit", summary="已补充第三方监测报告。").get_json()["state"] == "submitted"
    clock.set("2020-07-20T01:00:00")
    response = office.act(issue_id, action="verify", comment="现场核查通过")
    assert response.status_code == 200 and response.get_json()["state"] == "verified"

    # The approver closes it.
    clock.set("2020-07-21T01:00:00")
    response = closer.act(issue_id, action="approve", version=response.get_json()["version"])
    assert response.status_code == 200
    closed = response.get_json()
    assert set(closed) == ISSUE_KEYS
    assert closed["state"] == "closed" and closed["light"] is None and closed["overdue"] is False

    events = clerk.get(f"/issues/{issue_id}/events").get_json()["items"]
    assert [(e["action"], e["actor"], e["from_state"], e["to_state"]) for e in events] == [
        ("create", "office", None, "in_progress"),
        ("progress", "clerk", "in_progress", "in_progress"),
        ("evidence", "clerk", "in_progress", "in_progress"),
        ("submit", "chief", "in_progress", "submitted"),
        ("return", "office", "submitted", "in_progress"),
        ("submit", "chief", "in_progress", "submitted"),
        ("verify", "office", "submitted", "verified"),
        ("approve", "closer", "verified", "closed"),
    ]
    assert events[4]["comment"] == "缺少第三方监测报告"
    assert [e["at"] for e in events][1:] == sorted(e["at"] for e in events[1:])
    assert events[-1]["at"] == "2020-07-21T01:00:00Z"

    # Closed is final for the unit: no more reports.
    before = snapshot(issue_id)
    assert_refused(clerk.post(f"/issues/{issue_id}/progress",
                              json={"period": "2020-08", "percent": 100, "text": "x"}), 409)
    assert snapshot(issue_id) == before


def test_unit_user_lists_only_lead_and_cooperating_issues(client, session):
    mine = make_unit("MINE", "本单位")
    other = make_unit("ELSE", "他单位")
    third = make_unit("THIRD", "第三单位")
    round_ = make_round()
    lead_issue = make_issue(lead_unit=mine, round=round_, code="A-1")
    coop_issue = make_issue(lead_unit=other, round=round_, cooperating=(mine, third), code="A-2")
    make_issue(lead_unit=other, round=round_, code="A-3")
    make_issue(lead_unit=third, round=round_, cooperating=(other,), code="A-4")
    staff = make_user("unit_staff", mine, username="mine_staff")
    leader = make_user("leader", username="the_leader")
    api = api_for(client, staff)

    body = api.get("/issues").get_json()
    assert sorted(i["code"] for i in body["items"]) == ["A-1", "A-2"]
    assert body["total"] == 2
    # The unit filter narrows within the scope and never widens it.
    body = api.get("/issues?unit=ELSE").get_json()
    assert [i["code"] for i in body["items"]] == ["A-2"] and body["total"] == 1
    assert api.get("/issues?unit=THIRD").get_json()["total"] == 1
    # The per-record check agrees with the list, issue by issue.
    visible = {i["id"] for i in api.get("/issues?per_page=100").get_json()["items"]}
    for issue in (lead_issue, coop_issue):
        assert issue.id in visible
    for code in ("A-3", "A-4"):
        issue_id = next(i["id"] for i in Api(client, token_for(client, leader)).get("/issues").get_json()["items"]
                        if i["code"] == code)
        assert_refused(api.get(f"/issues/{issue_id}"), 404)
        assert not can_see(db.session, staff, db.session.get(type(lead_issue), issue_id))
    everyone = Api(client, token_for(client, leader)).get("/issues").get_json()
    assert everyone["total"] == 4



def _add_issues(count: int, units, round_, start: int) -> None:
    for n in range(start, start + count):
        lead = units[n % len(units)]
        coop = tuple(u for u in units if u is not lead)[: 1 + n % 3]
        make_issue(lead_unit=lead, round=round_, cooperating=coop, code=f"Q-{n:03d}",
                   deadline=date(2020, 1 + n % 12, 10), progress_percent=n % 100)


def test_issue_list_query_count_does_not_grow_with_rows(client, session):
    units = [make_unit(f"QU{n}", f"计数单位{n}") for n in range(5)]
    round_ = make_round()
    supervisor = make_user("supervisor", username="counter")
    staff = make_user("unit_staff", units[0], username="count_staff")
    _add_issues(3, units, round_, 0)
    session.commit()
    office = api_for(client, supervisor)
    clerk = api_for(client, staff)
    office.get("/issues")  # warm up: first connection, caches

    def measure(api: Api, expected_total: int) -> int:
        db.session.expire_all()
        with count_queries() as statements:
            response = api.get("/issues?per_page=100")
        body = response.get_json()
        assert response.status_code == 200 and body["total"] == expected_total == len(body["items"])
        assert any(item["cooperating_units"] for item in body["items"])
        return len(statements)

    few_office, few_clerk = measure(office, 3), None
    few_clerk_total = clerk.get("/issues?per_page=100").get_json()["total"]
    few_clerk = measure(clerk, few_clerk_total)
    _add_issues(27, units, round_, 3)
    session.commit()
    many_office = measure(office, 30)
    many_clerk = measure(clerk, clerk.get("/issues?per_page=100").get_json()["total"])
    assert many_office == few_office
    assert many_clerk == few_clerk
    # Token + user, the count, the page, the cooperating units of the page.
    assert many_office <= 6


def test_events_query_count_does_not_grow_with_events(client, session, clock):
    unit = make_unit("EV", "事件单位")
    staff = make_user("unit_staff", unit, username="ev_staff")
    issue = make_issue(lead_unit=unit)
    session.commit()
    api = api_for(client, staff)

    def measure() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            assert api.get(f"/issues/{issue.id}/events").status_code == 200
        return len(statements)

    api.post(f"/issues/{issue.id}/progress", json={"period": "2020-06", "percent": 10, "text": "x"})
    one = measure()
    for month in range(1, 10):
        api.post(f"/issues/{issue.id}/progress", json={"period": f"2019-{month:02d}", "percent": month, "text": "x"})
    assert measure() == one


# --- OpenAPI -----------------------------------------------------------------

def test_openapi_document_needs_no_token_and_lists_every_path(client, app):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.0")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/auth/token"]["post"]["security"] == []

    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(PREFIX):])
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(ops) for path, ops in doc["paths"].items()}
    assert documented == routes

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)
            assert op.get("summary"), (path, method)
            if "{issue_id}" in path:
                assert any(p["name"] == "issue_id" and p["in"] == "path" for p in op["parameters"])
            # Every POST takes a body, but marking a notice read: the path says all it needs.
            if method == "post" and op["operationId"] != "readNotice":
                assert "requestBody" in op, path


def test_openapi_refs_resolve_and_issue_schema_matches_contract(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    _, section, kind, name = value.split("/")
                    assert name in doc[section][kind], value
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    issue = doc["components"]["schemas"]["Issue"]
    assert set(issue["properties"]) == set(issue["required"]) == ISSUE_KEYS
    events = doc["components"]["schemas"]["Event"]
    assert set(events["properties"]) == {"at", "actor", "action", "from_state", "to_state", "comment", "changes"}
    params = {p["name"] for p in doc["paths"]["/issues"]["get"]["parameters"]}
    assert params == {"state", "unit", "round_id", "overdue", "light", "q", "page", "per_page",
                      # the filters of the to-do list's links (issue 10)
                      "due_soon", "lagging", "returned", "supervised", "progress_full", "unreported",
                      "extension_decided", "lead_only", "waiting", "min_days_overdue"}


def test_merge_through_the_api_names_its_target_by_code(client, session):
    from tests.support.api import api_for
    from tests.support.factories import make_issue, make_round, make_unit, make_user
    from tracker.issues.models import Issue

    unit, round_ = make_unit(), make_round()
    target = make_issue(lead_unit=unit, round=round_, code="T-01")
    issue = make_issue(lead_unit=unit, round=round_, code="M-01")
    supervisor = make_user("supervisor")
    session.commit()
    api = api_for(client, supervisor)
    missing = api.post(f"/issues/{issue.id}/transitions", json={"action": "merge", "target_code": "NO-SUCH"})
    assert missing.status_code == 422 and missing.get_json()["error"] == "目标问题编号「NO-SUCH」不存在。"
    response = api.post(f"/issues/{issue.id}/transitions", json={"action": "merge", "target_code": "T-01"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert session.get(Issue, issue.id).merged_into_id == target.id
