"""Every move of a deadline is kept (old, new, who, when, why) and shown; an edit lists each changed field."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import PASSWORD, make_issue, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.issues.models import DeadlineChange, Event, Issue

NOW = datetime(2020, 7, 15, 2, 0, 0)
TODAY = date(2020, 7, 15)


@pytest.fixture
def world(session):
    env, housing = make_unit("ENV", "市生态环境分局"), make_unit("HOUSING", "市住建局")
    round_ = make_round("第一轮")
    sup = make_user("supervisor", username="sup", display_name="督察办小王")
    head = make_user("unit_head", env, username="head")
    issue = make_issue(lead_unit=env, round=round_, code="A-01", title="扬尘治理", category="feedback",
                       deadline=date(2020, 12, 31), assigned_on=date(2020, 1, 1), original_deadline=date(2020, 12, 31))
    session.commit()
    return dict(env=env, housing=housing, round=round_, sup=sup, head=head, issue=issue)


def signed_in(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def form(world, **changes):
    issue = world["issue"]
    data = {"round_id": str(world["round"].id), "code": "A-01", "title": "扬尘治理", "description": issue.description,
            "category": "feedback", "rectify_type": "deadline", "domain": "", "deadline": "2020-12-31",
            "assigned_on": "2020-01-01", "lead_unit": "ENV", "cooperating_units": [], "target": issue.target,
            "measures": issue.measures, "responsible_leader": "", "responsible_person": "",
            "version": str(issue.version)}
    data.update(changes)
    return data


def test_moving_a_deadline_on_the_edit_page_keeps_its_history_and_shows_old_to_new(app, world):
    office = signed_in(app, "sup")
    response = office.post(f"/issues/{world['issue'].id}/edit",
                           data=form(world, deadline="2021-06-30", category="key_concern", reason="汛期施工受阻"))
    assert response.status_code == 302
    change = db.session.scalars(select(DeadlineChange)).one()
    assert (change.old_deadline, change.new_deadline, change.changed_by_id, change.reason, change.source) == \
        (date(2020, 12, 31), date(2021, 6, 30), world["sup"].id, "汛期施工受阻", "edit")
    issue = db.session.get(Issue, world["issue"].id)
    assert (issue.deadline, issue.original_deadline) == (date(2021, 6, 30), date(2020, 12, 31))
    edit = db.session.scalars(select(Event).where(Event.action == "edit")).one()
    assert edit.changed == {"deadline": ["2020-12-31", "2021-06-30"], "category": ["feedback", "key_concern"]}
    assert edit.comment == "汛期施工受阻"
    html = office.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "整改时限:2020-12-31 → 2021-06-30" in html
    assert "问题类别:反馈问题 → 重点关注问题" in html
    assert "原定 2020-12-31,已调整 1 次" in html and "2020-12-31 → 2021-06-30(汛期施工受阻)" in html


def test_an_edit_that_changes_nothing_writes_nothing(app, world):
    office = signed_in(app, "sup")
    before = db.session.scalar(select(func.count()).select_from(Event))
    version = world["issue"].version
    response = office.post(f"/issues/{world['issue'].id}/edit", data=form(world), follow_redirects=True)
    assert "没有修改任何内容。" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == before
    assert db.session.get(Issue, world["issue"].id).version == version
    assert db.session.scalar(select(func.count()).select_from(DeadlineChange)) == 0


def test_the_service_returns_each_changed_field_and_keeps_every_move(world):
    issue = world["issue"]
    changes = issue_service.update_issue(db.session, world["sup"], NOW, issue,
                                         {"deadline": "2021-03-31", "cooperating_units": ["HOUSING"]}, TODAY)
    assert changes == {"deadline": (date(2020, 12, 31), date(2021, 3, 31)), "cooperating_units": ([], ["HOUSING"])}
    issue_service.update_issue(db.session, world["sup"], datetime(2020, 8, 1), issue, {"deadline": "2021-06-30"},
                               TODAY, reason="再次延期")
    db.session.commit()
    history = issue_service.deadline_history(db.session, issue)
    assert [(c.old_deadline, c.new_deadline, c.reason) for c in history] == [
        (date(2020, 12, 31), date(2021, 3, 31), None), (date(2021, 3, 31), date(2021, 6, 30), "再次延期")]
    assert issue.original_deadline == date(2020, 12, 31)


def test_a_refused_edit_keeps_no_history(world):
    from tracker.core.errors import Refusal

    with pytest.raises(Refusal):
        issue_service.update_issue(db.session, world["head"], NOW, world["issue"], {"deadline": "2021-06-30"}, TODAY)
    db.session.rollback()
    with pytest.raises(Refusal):
        issue_service.update_issue(db.session, world["sup"], NOW, world["issue"], {"deadline": "2019-01-01"}, TODAY)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DeadlineChange)) == 0
    assert db.session.get(Issue, world["issue"].id).deadline == date(2020, 12, 31)


def test_a_ledger_import_that_moves_a_deadline_says_so_in_the_history(world):
    from tracker.ledger import imports as ledger_import

    preview = ledger_import.Preview(columns=[], rows=[ledger_import.LedgerRow(
        row=2, code="A-01", data={}, values={}, issue_id=world["issue"].id, action="update",
        changes={"deadline": date(2021, 1, 31)})], errors=[], warnings=[])
    assert ledger_import.apply_ledger(db.session, world["sup"], NOW, TODAY, preview) == (0, 1)
    db.session.commit()
    change = db.session.scalars(select(DeadlineChange)).one()
    assert (change.source, change.reason, change.new_deadline) == ("import", "台账导入", date(2021, 1, 31))
