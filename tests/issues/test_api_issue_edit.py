"""PATCH /api/v1/issues/{id}: the office edits an issue; a moved deadline is kept in the issue's
deadline history (GET /issues/{id}), named on its timeline entry (`changes`), and told to the
lead unit. Every refusal leaves the issue, its history and its timeline as they were."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.api import api_for, assert_refused, rows, snapshot
from tests.support.factories import make_user
from tests.support.queries import count_queries
from tracker.core.extensions import db
from tracker.issues.models import DeadlineChange, Issue
from tracker.notify.models import Notice, Outbox


def deadline_of(issue_id: int) -> str:
    """The issue's deadline as another connection sees it."""
    with db.engine.connect() as conn:
        return conn.scalar(select(Issue.deadline).where(Issue.id == issue_id)).isoformat()


def test_the_office_moves_a_deadline_with_its_reason(client, world, clock):
    issue = world["issue"]
    clock.set("2020-07-15T02:00:00")
    api = api_for(client, world["supervisor"])
    response = api.patch(f"/issues/{issue.id}", json={"deadline": "2020-12-31", "reason": "汛期施工受阻",
                                                      "version": issue.version})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["deadline"] == "2020-12-31" and body["original_deadline"] == "2020-06-30"
    # No longer overdue on 2020-07-15: the figures follow the deadline in force.
    assert (body["overdue"], body["days_overdue"]) == (False, 0)
    assert body["deadline_history"] == [{"old": "2020-06-30", "new": "2020-12-31", "by": "super",
                                         "at": "2020-07-15T02:00:00Z", "reason": "汛期施工受阻", "source": "edit"}]
    # The same history on a later read, and the timeline entry names the change.
    assert api.get(f"/issues/{issue.id}").get_json()["deadline_history"] == body["deadline_history"]
    last = api.get(f"/issues/{issue.id}/events").get_json()["items"][-1]
    assert (last["action"], last["actor"], last["comment"]) == ("edit", "super", "汛期施工受阻")
    assert last["changes"] == {"deadline": ["2020-06-30", "2020-12-31"]}
    # The lead unit's people are told; the cooperating unit is not.
    told = set(db.session.scalars(select(Notice.user_id).where(Notice.kind == "deadline_changed")))
    assert told == {world["head"].id, world["staff"].id}


def test_two_moves_make_a_history_oldest_first(client, world, clock):
    issue = world["issue"]
    api = api_for(client, world["supervisor"])
    clock.set("2020-07-15T02:00:00")
    assert api.patch(f"/issues/{issue.id}", json={"deadline": "2020-09-30", "reason": "第一次"}).status_code == 200
    clock.set("2020-09-20T02:00:00")
    assert api.patch(f"/issues/{issue.id}", json={"deadline": "2020-12-31", "reason": "第二次"}).status_code == 200
    history = api.get(f"/issues/{issue.id}").get_json()["deadline_history"]
    assert [(h["old"], h["new"], h["reason"]) for h in history] == [
        ("2020-06-30", "2020-09-30", "第一次"), ("2020-09-30", "2020-12-31", "第二次")]


def test_an_edit_of_other_fields_keeps_the_history_empty_and_tells_nobody(client, world):
    issue = world["issue"]
    title = issue.title
    api = api_for(client, world["supervisor"])
    response = api.patch(f"/issues/{issue.id}", json={"title": "黑臭水体整治(修订)", "cooperating_units": []})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["title"] == "黑臭水体整治(修订)" and body["cooperating_units"] == []
    assert body["deadline_history"] == []
    last = api.get(f"/issues/{issue.id}/events").get_json()["items"][-1]
    assert last["changes"] == {"title": [title, "黑臭水体整治(修订)"], "cooperating_units": [["COOP"], []]}
    assert rows(Notice) == 0 and rows(Outbox) == 0


def test_an_edit_that_changes_nothing_writes_nothing(client, world):
    issue = world["issue"]
    api = api_for(client, world["supervisor"])
    before = snapshot(issue.id)
    response = api.patch(f"/issues/{issue.id}", json={"deadline": "2020-06-30", "title": issue.title})
    assert response.status_code == 200
    assert snapshot(issue.id) == before and rows(DeadlineChange) == 0


@pytest.mark.parametrize(("who", "body", "status", "fragment"), [
    ("head", {"deadline": "2020-12-31"}, 403, "督察整改办"),
    ("staff", {"deadline": "2020-12-31"}, 403, "督察整改办"),
    ("approver", {"deadline": "2020-12-31"}, 403, "督察整改办"),
    ("other_staff", {"deadline": "2020-12-31"}, 404, "不存在"),
    ("supervisor", {"deadline": "年底"}, 422, "YYYY-MM-DD"),
    ("supervisor", {"deadline": 20201231}, 400, "字段 deadline"),
    ("supervisor", {"lead_unit": "NOPE"}, 422, "NOPE"),
    ("supervisor", {"deadline": "2020-12-31", "reason": "长" * 501}, 422, "理由"),
    ("supervisor", {"deadline": "2020-12-31", "version": 999}, 409, "刷新"),
    ("supervisor", {"title": ""}, 422, "标题"),
])
def test_refused_edits_change_nothing(client, world, who, body, status, fragment):
    issue = world["issue"]
    api = api_for(client, world[who])
    before = (snapshot(issue.id), deadline_of(issue.id), rows(DeadlineChange), rows(Notice), rows(Outbox))
    assert_refused(api.patch(f"/issues/{issue.id}", json=body), status, fragment)
    assert (snapshot(issue.id), deadline_of(issue.id), rows(DeadlineChange), rows(Notice), rows(Outbox)) == before


def test_a_body_that_is_not_an_object_is_refused(client, world):
    issue = world["issue"]
    api = api_for(client, world["supervisor"])
    before = snapshot(issue.id)
    assert_refused(api.patch(f"/issues/{issue.id}", json=["deadline"]), 400)
    assert_refused(api.patch(f"/issues/{issue.id}", data="{", content_type="application/json"), 400)
    assert snapshot(issue.id) == before


def test_an_unknown_issue_and_no_token_are_refused(client, world):
    api = api_for(client, world["supervisor"])
    assert_refused(api.patch("/issues/999999", json={"title": "x"}), 404)
    assert_refused(client.patch(f"/api/v1/issues/{world['issue'].id}", json={"title": "x"}), 401)


def test_a_closed_issue_is_not_edited(client, world, session):
    issue = world["issue"]
    issue.state = "closed"
    session.commit()
    api = api_for(client, world["supervisor"])
    before = (snapshot(issue.id), deadline_of(issue.id))
    response = api.patch(f"/issues/{issue.id}", json={"deadline": "2020-12-31"})
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    assert (snapshot(issue.id), deadline_of(issue.id)) == before


def test_reading_an_issue_costs_the_same_whatever_its_history(client, world, clock):
    issue = world["issue"]
    api = api_for(client, world["supervisor"])

    def cost() -> int:
        # The first call in a minute records the token's last use (one write): not what is counted.
        assert api.get(f"/issues/{issue.id}").status_code == 200
        db.session.expire_all()  # each read starts from the database, as a new request does
        with count_queries() as statements:
            assert api.get(f"/issues/{issue.id}").status_code == 200
        return len(statements)

    first = cost()
    # Three moves by three people: their names come with the history, not one query each.
    movers = [api, api_for(client, make_user("supervisor")), api_for(client, make_user("supervisor"))]
    for n, (mover, deadline) in enumerate(zip(movers, ("2020-08-31", "2020-09-30", "2020-10-31"), strict=True)):
        clock.set(f"2020-07-1{n + 5}T02:00:00")
        assert mover.patch(f"/issues/{issue.id}", json={"deadline": deadline, "reason": "调整"}).status_code == 200
    assert cost() == first
    assert len({h["by"] for h in api.get(f"/issues/{issue.id}").get_json()["deadline_history"]}) == 3
