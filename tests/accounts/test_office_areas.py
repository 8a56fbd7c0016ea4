"""Office users (supervisor, approver, leader) may serve an area node (unit_code): their jurisdiction (辖区),
shown in the header and the admin's user list; unit roles still need a unit, an admin takes none."""
from __future__ import annotations

import pytest

from tests.support.api import api_for, assert_refused, rows
from tests.support.factories import make_unit, make_user
from tracker.accounts.models import User


@pytest.mark.parametrize("role", ["supervisor", "approver", "leader"])
def test_office_roles_may_serve_an_area(client, world, role):
    county = make_unit("K", "某县", level="county")
    admin = api_for(client, world["admin"])
    response = admin.post("/users", json={"username": f"{role}-k", "password": "s3cret-pass-phrase", "role": role,
                                          "unit_code": county.code})
    assert response.status_code == 201
    assert response.get_json()["unit_code"] == "K"
    whole = admin.post("/users", json={"username": f"{role}-all", "password": "s3cret-pass-phrase", "role": role})
    assert whole.status_code == 201 and whole.get_json()["unit_code"] is None


@pytest.mark.parametrize("body, fragment", [
    ({"role": "supervisor", "unit_code": "NOWHERE"}, "NOWHERE"),
    ({"role": "leader", "unit_code": "NOWHERE"}, "不存在"),
    ({"role": "admin", "unit_code": "LEAD"}, "系统管理员不属于任何单位"),
    ({"role": "unit_head"}, "所属单位"),
])
def test_refused_areas_change_nothing(client, world, body, fragment):
    admin = api_for(client, world["admin"])
    before = rows(User)
    assert_refused(admin.post("/users", json={"username": "someone", "password": "s3cret-pass-phrase", **body}),
                   422, fragment)
    assert rows(User) == before


def test_the_header_and_the_user_list_show_the_jurisdiction(client, login_as, session, world):
    county = make_unit("K", "某县", level="county")
    make_user("supervisor", county, username="county_sup")
    session.commit()
    login_as("county_sup")
    assert "辖区:某县" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login_as(world["supervisor"])
    assert "辖区:全部" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login_as(world["staff"])
    page = client.get("/").get_data(as_text=True)
    assert "辖区" not in page and "牵头局" in page
    client.post("/logout")
    login_as(world["admin"])
    users = client.get("/admin/users").get_data(as_text=True)
    assert "辖区:某县" in users and "辖区:全部" in users and "所属单位/辖区" in users


def test_the_admin_page_gives_and_refuses_areas(client, login_as, session, world):
    county = make_unit("K", "某县", level="county")
    session.commit()
    login_as(world["admin"])
    target = world["leader"]
    response = client.post(f"/admin/users/{target.id}/edit", data={"role": "leader", "unit": "K", "active": "y",
                                                                   "email": "", "display_name": ""})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, target.id).unit_id == county.id
    refused = client.post(f"/admin/users/{world['admin'].id}/edit", data={"role": "admin", "unit": "K", "active": "y"})
    assert refused.status_code == 422 and "系统管理员不属于任何单位" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, world["admin"].id).unit_id is None
