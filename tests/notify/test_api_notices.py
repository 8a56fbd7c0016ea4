"""GET /api/v1/notices and POST /api/v1/notices/{id}/read: the caller's in-app notices, as the
notices page shows them, and marking one read; nobody reads or marks another's."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.support.api import api_for, assert_refused
from tests.support.notify import make_notice
from tests.support.queries import count_queries
from tracker.core.extensions import db
from tracker.notify.models import Notice


def read_at(notice_id: int):
    """When the notice was read, as another connection sees it."""
    with db.engine.connect() as conn:
        return conn.scalar(select(Notice.read_at).where(Notice.id == notice_id))


def test_a_moved_deadline_is_in_the_lead_units_notices(client, world):
    issue = world["issue"]
    office = api_for(client, world["supervisor"])
    moved = office.patch(f"/issues/{issue.id}", json={"deadline": "2020-12-31", "reason": "汛期施工受阻"})
    assert moved.status_code == 200
    body = api_for(client, world["head"]).get("/notices").get_json()
    assert (body["total"], body["unread"], body["page"], body["per_page"]) == (1, 1, 1, 20)
    [notice] = body["items"]
    assert set(notice) == {"id", "kind", "kind_label", "issue_id", "title", "text", "created_at", "read", "read_at"}
    assert (notice["kind"], notice["kind_label"], notice["issue_id"]) == ("deadline_changed", "整改时限调整", issue.id)
    assert "2020-06-30" in notice["text"] and "2020-12-31" in notice["text"] and "汛期施工受阻" in notice["text"]
    assert (notice["read"], notice["read_at"]) == (False, None)
    # The cooperating unit and the office were not told.
    assert api_for(client, world["coop_head"]).get("/notices").get_json()["total"] == 0
    assert office.get("/notices").get_json()["total"] == 0


def test_marking_a_notice_read(client, world, clock):
    notice = make_notice(world["head"])
    api = api_for(client, world["head"])
    clock.set("2020-07-15T03:00:00")
    response = api.post(f"/notices/{notice.id}/read")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["id"], body["read"], body["read_at"]) == (notice.id, True, "2020-07-15T03:00:00Z")
    listed = api.get("/notices?unread=true").get_json()
    assert (listed["total"], listed["unread"], listed["items"]) == (0, 0, [])
    # Marking it again keeps the first time it was read.
    clock.set("2020-07-16T03:00:00")
    assert api.post(f"/notices/{notice.id}/read").get_json()["read_at"] == "2020-07-15T03:00:00Z"


def test_someone_elses_notice_is_not_found_and_stays_unread(client, world):
    notice = make_notice(world["head"])
    for who in ("staff", "other_head", "supervisor", "admin"):
        assert_refused(api_for(client, world[who]).post(f"/notices/{notice.id}/read"), 404, "通知不存在")
    assert read_at(notice.id) is None
    assert_refused(api_for(client, world["head"]).post("/notices/999999/read"), 404, "通知不存在")


def test_notices_come_newest_first_a_page_at_a_time(client, world):
    user = world["staff"]
    for day in (1, 3, 2):
        make_notice(user, title=f"通知 {day}", created=datetime(2020, 7, day, 1))
    make_notice(user, title="已读", created=datetime(2020, 6, 1), read=True)
    api = api_for(client, user)
    first = api.get("/notices?per_page=2").get_json()
    assert [n["title"] for n in first["items"]] == ["通知 3", "通知 2"]
    assert (first["total"], first["unread"]) == (4, 3)
    second = api.get("/notices?per_page=2&page=2").get_json()
    assert [(n["title"], n["read"]) for n in second["items"]] == [("通知 1", False), ("已读", True)]
    unread = api.get("/notices?unread=true").get_json()
    assert [n["title"] for n in unread["items"]] == ["通知 3", "通知 2", "通知 1"]


def test_a_notice_without_a_body_shows_its_title(client, world):
    notice = make_notice(world["staff"], title="【逾期通知】Z-001")
    notice.body = ""
    db.session.commit()
    [item] = api_for(client, world["staff"]).get("/notices").get_json()["items"]
    assert item["text"] == "【逾期通知】Z-001"


@pytest.mark.parametrize(("query", "fragment"), [
    ("page=0", "page"), ("per_page=101", "per_page"), ("per_page=x", "per_page"), ("unread=maybe", "unread"),
])
def test_a_bad_query_is_refused(client, world, query, fragment):
    assert_refused(api_for(client, world["staff"]).get(f"/notices?{query}"), 400, fragment)


def test_notices_need_a_token(client, world):
    notice = make_notice(world["staff"])
    db.session.commit()
    assert_refused(client.get("/api/v1/notices"), 401)
    assert_refused(client.post(f"/api/v1/notices/{notice.id}/read"), 401)
    assert read_at(notice.id) is None


def test_a_page_of_notices_costs_the_same_however_many_there_are(client, world):
    user = world["staff"]
    api = api_for(client, user)

    def cost() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            assert api.get("/notices").status_code == 200
        return len(statements)

    make_notice(user)
    db.session.commit()
    one = cost()
    for n in range(15):
        make_notice(user, title=f"通知 {n}")
    db.session.commit()
    assert cost() == one
