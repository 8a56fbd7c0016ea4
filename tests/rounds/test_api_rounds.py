"""The JSON API's rounds: the admin and the office create them, refusals change nothing."""
from __future__ import annotations

import pytest

from tests.support.api import api_for, assert_refused, rows
from tracker.core.extensions import db
from tracker.rounds.models import Round


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
