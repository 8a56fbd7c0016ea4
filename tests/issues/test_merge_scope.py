"""F7 (ASVS 4.2.1): a merge partner outside a unit user's scope is never named to that user: not on the
issue page, not in the API's `merged_into` (detail and list), not in the timeline (page and API).
The office still sees both sides. Each test fails on the code before the fix, which showed the
partner's code and title."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_issue, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.accounts import services as accounts
from tracker.core import clock
from tracker.core.extensions import db
from tracker.issues import services as issue_svc
from tracker.issues.models import Issue

NOW = datetime(2020, 7, 10, 2, 0, 0)
SECRET_CODE, SECRET_TITLE = "SECRET-B", "他局的保密问题标题"


@pytest.fixture(params=["mine_into_theirs", "theirs_into_mine"])
def merged(request, session):
    """A (my unit leads it) and B (another unit's, out of my scope), one merged into the other."""
    mine, theirs = make_unit("MINE", "本局"), make_unit("THEIRS", "他局")
    round_ = make_round()
    a = make_issue(mine, round_, code="MINE-A", title="本局问题")
    b = make_issue(theirs, round_, code=SECRET_CODE, title=SECRET_TITLE)
    staff = make_user("unit_staff", mine, username="mine_staff")
    supervisor = make_user("supervisor", username="office")
    source, target = (a, b) if request.param == "mine_into_theirs" else (b, a)
    issue_svc.transition(session, supervisor, NOW, source, "merge", comment="同一地块",
                         target_issue_id=target.id, version=source.version)
    session.commit()
    return {"a": a, "b": b, "staff": staff, "supervisor": supervisor, "direction": request.param}


def _api(client, session, user):
    # Issued at the test clock's now, so that it is live whatever day the fixture's clock says.
    token, _row = accounts.issue_token(session, user, clock.now())
    session.commit()
    return lambda path: client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_issue_page_hides_the_partner_outside_scope(merged, login_as, client):
    login_as(merged["staff"])
    html = client.get(f"/issues/{merged['a'].id}").get_data(as_text=True)
    assert "其他单位牵头的问题" in html
    assert SECRET_CODE not in html and SECRET_TITLE not in html
    assert client.get(f"/issues/{merged['b'].id}").status_code == 404


def test_issue_page_names_both_sides_to_the_office(merged, login_as, client):
    login_as(merged["supervisor"])
    html = client.get(f"/issues/{merged['a'].id}").get_data(as_text=True)
    assert SECRET_CODE in html and SECRET_TITLE in html


def test_api_hides_the_partner_outside_scope(merged, client, session):
    get = _api(client, session, merged["staff"])
    detail = get(f"/api/v1/issues/{merged['a'].id}").get_json()
    listed = {item["id"]: item for item in get("/api/v1/issues").get_json()["items"]}
    events = get(f"/api/v1/issues/{merged['a'].id}/events").get_json()["items"]
    # The field stays, with its type (an id or null); it names nothing the caller may not see.
    assert "merged_into" in detail and detail["merged_into"] is None
    assert set(listed) == {merged["a"].id} and listed[merged["a"].id]["merged_into"] is None
    texts = " ".join(e["comment"] or "" for e in events)
    assert "其他单位牵头的问题" in texts and "同一地块" in texts
    assert SECRET_CODE not in texts and SECRET_TITLE not in texts
    assert str(merged["b"].id) not in {str(detail["merged_into"])}


def test_api_names_both_sides_to_the_office(merged, client, session):
    get = _api(client, session, merged["supervisor"])
    a, b = merged["a"], merged["b"]
    detail = get(f"/api/v1/issues/{a.id}").get_json()
    listed = {item["id"]: item for item in get("/api/v1/issues").get_json()["items"]}
    events = " ".join(e["comment"] or "" for e in get(f"/api/v1/issues/{a.id}/events").get_json()["items"])
    if merged["direction"] == "mine_into_theirs":
        assert detail["merged_into"] == b.id and listed[a.id]["merged_into"] == b.id
    else:
        assert listed[b.id]["merged_into"] == a.id
    assert SECRET_CODE in events


def test_the_list_asks_scope_once_however_many_issues_are_merged(session, client):
    """No N+1: the merge targets' visibility is one query for the page, not one per merged issue."""
    mine, theirs = make_unit(), make_unit()
    round_ = make_round()
    staff = make_user("unit_staff", mine)
    token, _row = accounts.issue_token(session, staff, clock.now())
    target = make_issue(theirs, round_)
    ids = {"mine": mine.id, "round": round_.id, "target": target.id}
    session.commit()
    counts = []
    for n in (1, 6):
        while len(session.scalars(select(Issue.id).where(Issue.lead_unit_id == ids["mine"])).all()) < n:
            session.add(Issue(round_id=ids["round"], lead_unit_id=ids["mine"], merged_into_id=ids["target"],
                              code=f"M-{n}-{len(counts)}-{session.scalar(select(func.count(Issue.id)))}",
                              title="并入的问题", description="d", category="feedback", rectify_type="deadline",
                              deadline=date(2020, 12, 31), assigned_on=date(2020, 1, 1), state="in_progress",
                              progress_percent=0, target="t", measures="m"))
            session.flush()
        session.commit()
        db.session.remove()
        with count_queries() as statements:
            items = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
        assert len(items) == n and all(item["merged_into"] is None for item in items)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
