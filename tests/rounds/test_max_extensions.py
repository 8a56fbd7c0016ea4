"""A round's limit of extensions per issue (每个问题最多延期次数): set on the API and the round pages, 0..10."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.api import api_for, assert_refused, rows
from tests.support.factories import make_round, make_user
from tracker.core.extensions import db
from tracker.rounds.models import Round


def test_the_api_sets_and_tells_the_limit(client, world):
    api = api_for(client, world["supervisor"])
    body = api.post("/rounds", json={"name": "回头看", "level": "central", "kind": "look_back",
                                     "max_extensions": 3}).get_json()
    assert body["max_extensions"] == 3 and db.session.get(Round, body["id"]).max_extensions == 3
    body = api.post("/rounds", json={"name": "专项", "level": "central", "kind": "special"}).get_json()
    assert body["max_extensions"] == 2  # the default


@pytest.mark.parametrize("value, status", [(11, 422), (-1, 422), ("2", 400), (True, 400)])
def test_the_api_refuses_a_limit_outside_0_to_10(client, world, value, status):
    api = api_for(client, world["supervisor"])
    before = rows(Round)
    assert_refused(api.post("/rounds", json={"name": "R", "level": "central", "kind": "regular",
                                             "max_extensions": value}), status, "max_extensions"
                   if status == 400 else "最多延期次数")
    assert rows(Round) == before


def test_the_round_pages_set_the_limit(client, login_as, session):
    sup = make_user("supervisor")
    round_ = make_round(name="第一轮")
    session.commit()
    login_as(sup)
    assert 'name="max_extensions"' in client.get("/admin/rounds").get_data(as_text=True)
    html = client.get(f"/admin/rounds/{round_.id}/edit").get_data(as_text=True)
    assert 'name="max_extensions"' in html and 'value="2"' in html
    response = client.post(f"/admin/rounds/{round_.id}/edit", data={"name": "第一轮", "level": "central",
                                                                     "kind": "regular", "max_extensions": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Round, round_.id).max_extensions == 0
    response = client.post(f"/admin/rounds/{round_.id}/edit", data={"name": "第一轮", "level": "central",
                                                                     "kind": "regular", "max_extensions": "11"})
    assert response.status_code == 422
    assert "每个问题最多延期次数应为 0 到 10 的整数。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Round, round_.id).max_extensions == 0
    response = client.post("/admin/rounds", data={"name": "第二轮", "level": "central", "kind": "regular",
                                                   "max_extensions": "5"})
    assert response.status_code == 302
    assert db.session.scalar(select(Round.max_extensions).where(Round.name == "第二轮")) == 5
