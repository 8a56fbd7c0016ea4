"""A unit's level (province, city, county, town): given on create and edit (API and admin pages), taken from
the parent when not given, refused in Chinese when unknown; a moved unit's subtree keeps its paths."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.api import api_for, assert_refused, rows
from tests.support.factories import make_issue, make_unit, make_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues.models import Issue
from tracker.issues.scoping import can_see, visible_issues
from tracker.units import services as units_service
from tracker.units.models import Unit


def test_the_api_takes_and_tells_the_level(client, world):
    admin = api_for(client, world["admin"])
    root = admin.post("/units", json={"code": "P", "name": "某自治区", "level": "province"})
    assert root.status_code == 201 and root.get_json()["level"] == "province"
    # Not given: the parent's level; a root without one is a city.
    child = admin.post("/units", json={"code": "P-EPB", "name": "自治区生态环境厅", "parent_code": "P"})
    assert child.get_json() == {"code": "P-EPB", "name": "自治区生态环境厅", "parent_code": "P", "email": None,
                                "level": "province"}
    assert admin.post("/units", json={"code": "C", "name": "某市", "level": None}).get_json()["level"] == "city"
    county = admin.post("/units", json={"code": "C-K", "name": "某县", "parent_code": "C", "level": "county"})
    assert county.get_json()["level"] == "county"
    town = admin.post("/units", json={"code": "C-K-T", "name": "某镇", "parent_code": "C-K", "level": "town"})
    assert town.get_json()["level"] == "town"
    items = {u["code"]: u for u in api_for(client, world["staff"]).get("/units").get_json()["items"]}
    assert {code: u["level"] for code, u in items.items()} == {
        "P": "province", "P-EPB": "province", "C": "city", "C-K": "county", "C-K-T": "town",
        "LEAD": "city", "COOP": "city", "OTHER": "city"}


@pytest.mark.parametrize("level, status", [("village", 422), ("CITY", 422), (" ", 201), (3, 400)])
def test_an_unknown_level_is_refused_naming_the_allowed_ones(client, world, level, status):
    admin = api_for(client, world["admin"])
    before = rows(Unit)
    response = admin.post("/units", json={"code": "X1", "name": "新单位", "level": level})
    if status == 201:  # blank: not given
        assert response.status_code == 201 and response.get_json()["level"] == "city"
        return
    allowed = "province(省级)、city(市级)、county(县级)、town(乡镇级)"
    assert_refused(response, status, "level" if status == 400 else allowed)
    assert rows(Unit) == before


def test_the_service_edits_the_level_and_keeps_it_when_not_given(session, world):
    admin = world["admin"]
    unit = units_service.create_unit(session, admin, "K", "某县", "LEAD", level="county")
    assert unit.level == "county"
    units_service.update_unit(session, admin, unit, "某县(改)", "LEAD")
    assert unit.level == "county"
    units_service.update_unit(session, admin, unit, "某县(改)", "LEAD", level="town")
    assert unit.level == "town"
    with pytest.raises(Refusal) as refused:
        units_service.update_unit(session, admin, unit, "别名", None, level="hamlet")
    assert refused.value.field == "level" and "乡镇级" in refused.value.message
    assert unit.name == "某县(改)" and unit.level == "town"


def test_moving_a_unit_moves_its_subtree_and_the_jurisdictions_follow(session, world):
    admin = world["admin"]
    city = make_unit("CITY", "某市", level="city")
    a = make_unit("A", "甲县", parent=city, level="county")
    b = make_unit("B", "乙县", parent=city, level="county")
    town = make_unit("A-T", "甲镇", parent=a, level="town")
    village = make_unit("A-T-V", "甲村", parent=town)
    issue = make_issue(lead_unit=village, code="V-1")
    county_b = make_user("supervisor", b, username="county_b")
    county_a = make_user("supervisor", a, username="county_a")
    session.commit()
    assert (town.path, village.path, village.level) == ("/CITY/A/A-T/", "/CITY/A/A-T/A-T-V/", "town")
    assert can_see(session, county_a, issue) and not can_see(session, county_b, issue)

    units_service.update_unit(session, admin, town, town.name, "B")
    session.commit()
    session.expire_all()
    assert [u.path for u in session.scalars(select(Unit).where(Unit.code.in_(["A-T", "A-T-V"])).order_by(Unit.code))] \
        == ["/CITY/B/A-T/", "/CITY/B/A-T/A-T-V/"]
    assert b.contains(village) and not a.contains(village)
    assert can_see(session, county_b, issue) and not can_see(session, county_a, issue)
    for user, expected in ((county_a, []), (county_b, ["V-1"])):
        assert list(session.scalars(select(Issue.code).where(visible_issues(user)))) == expected


def test_a_code_with_like_wildcards_names_only_its_own_subtree(session, world):
    """"_" and "%" in a code never widen a jurisdiction (LIKE is escaped, the prefix compared exactly)."""
    near = make_unit("A_1", "甲一")
    far = make_unit("AX1", "甲X一")
    pct = make_unit("B%", "乙")
    other = make_unit("BQ", "乙Q")
    mine, theirs = make_issue(lead_unit=near, code="N-1"), make_issue(lead_unit=far, code="F-1")
    make_issue(lead_unit=pct, code="P-1")
    make_issue(lead_unit=other, code="Q-1")
    session.commit()
    for node, expected in ((near, ["N-1"]), (far, ["F-1"]), (pct, ["P-1"])):
        user = make_user("leader", node)
        assert list(session.scalars(select(Issue.code).where(visible_issues(user)))) == expected
        assert can_see(session, user, mine) == (node is near) and can_see(session, user, theirs) == (node is far)


def test_admin_pages_show_and_edit_the_level(client, login_as, session, world):
    city = make_unit("CITY", "某市")
    session.commit()
    login_as(world["admin"])
    assert client.post("/admin/units", data={"code": "K", "name": "某县", "parent": "CITY",
                                              "level": "county"}).status_code == 302
    assert client.post("/admin/units", data={"code": "K-EPB", "name": "某县生态环境分局",
                                              "parent": "K", "level": ""}).status_code == 302
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    assert (units["K"].level, units["K-EPB"].level) == ("county", "county")
    html = client.get("/admin/units").get_data(as_text=True)
    assert "<th>层级</th>" in html and "县级" in html and "市级" in html
    edit = client.get(f"/admin/units/{units['K'].id}/edit").get_data(as_text=True)
    assert '<option selected value="county">县级</option>' in edit
    assert client.post(f"/admin/units/{units['K'].id}/edit", data={"name": "某县", "parent": "CITY",
                                                                   "level": "town"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, units["K"].id).level == "town"
    refused = client.post("/admin/units", data={"code": "Z", "name": "某地", "level": "galaxy"})
    assert refused.status_code == 422 and "单位层级应为" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Unit).where(Unit.code == "Z")) is None
    assert city.level == "city"
