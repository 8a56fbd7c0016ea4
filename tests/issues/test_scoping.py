"""One scoping rule: the list query and the per-record check agree, role by role."""
import pytest
from sqlalchemy import select

from tests.support.factories import make_issue, make_unit, make_user
from tracker.core.enums import ROLES
from tracker.issues.models import Issue
from tracker.issues.queries import IssueFilters, search_issues
from tracker.issues.scoping import can_see, visible_issues

CONFIG = {"LAGGING_MARGIN": 20, "DUE_SOON_DAYS": 7}


@pytest.fixture
def world(session):
    a, b, c = make_unit(), make_unit(), make_unit()
    issues = [make_issue(lead_unit=a), make_issue(lead_unit=b, cooperating=(a,)), make_issue(lead_unit=c),
              make_issue(lead_unit=c, cooperating=(b, a)), make_issue(lead_unit=b)]
    session.commit()
    return {"units": (a, b, c), "issues": issues}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("unit_index", [0, 1, 2])
def test_list_and_record_check_agree(session, world, role, unit_index):
    unit = world["units"][unit_index] if role in ("unit_staff", "unit_head") else None
    user = make_user(role, unit)
    listed = set(session.scalars(select(Issue.id).where(visible_issues(user))))
    checked = {i.id for i in session.scalars(select(Issue)) if can_see(session, user, i)}
    assert listed == checked
    rows, total = search_issues(session, user, __import__("datetime").date(2020, 7, 15), CONFIG,
                                IssueFilters(), per_page=100)
    assert total == len(listed) == len(rows)
    if role in ("unit_staff", "unit_head"):
        expected = {0: {0, 1, 3}, 1: {1, 3, 4}, 2: {2, 3}}[unit_index]
        assert listed == {world["issues"][i].id for i in expected}
    else:
        assert listed == {i.id for i in world["issues"]}


def test_unit_user_without_unit_sees_nothing(session, world):
    user = make_user("unit_staff", world["units"][0])
    user.unit_id = None
    assert session.scalars(select(Issue.id).where(visible_issues(user))).all() == []
