"""The JSON API's units: the admin creates them, anyone lists them, refusals change nothing."""
from __future__ import annotations

import pytest

from tests.support.api import api_for, assert_refused, rows
from tracker.units.models import Unit


def test_admin_creates_units_and_anyone_lists_them(client, world):
    admin = api_for(client, world["admin"])
    response = admin.post("/units", json={"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD",
                                          "email": "town@example.cn"})
    assert response.status_code == 201
    assert response.get_json() == {"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD",
                                   "email": "town@example.cn", "level": "city"}
    staff = api_for(client, world["staff"])
    items = staff.get("/units").get_json()["items"]
    assert [u["code"] for u in items] == ["COOP", "LEAD", "OTHER", "TOWN"]
    assert {"code": "TOWN", "name": "某镇人民政府", "parent_code": "LEAD", "email": "town@example.cn",
            "level": "city"} in items
    assert {"code": "LEAD", "name": "牵头局", "parent_code": None, "email": None, "level": "city"} in items


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
