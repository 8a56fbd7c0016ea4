"""Every workflow action reaches the person who must act next: one notice and one mail (or a digest
line, by preference) each, for exactly the right people, never the one who acted."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import PASSWORD, make_attachment, make_issue, make_report, make_round, make_unit, make_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.notify.models import DigestLine, Notice, Outbox, UserPref

NOW = datetime(2020, 7, 15, 2, 0, 0)
TODAY = date(2020, 7, 15)


@pytest.fixture
def cast(session):
    """Two units on one issue, an outside unit, two of each office role, and people who must never hear."""
    lead, coop = make_unit("ENV", "市生态环境分局"), make_unit("HOUSING", "市住建局")
    other = make_unit("WATER", "市水务局")
    people = dict(
        head=make_user("unit_head", lead, username="head", email="head@env.example.org"),
        staff=make_user("unit_staff", lead, username="staff", email="staff@env.example.org"),
        staff_no_mail=make_user("unit_staff", lead, username="staff2"),
        staff_gone=make_user("unit_staff", lead, username="gone", email="gone@env.example.org", active=False),
        coop_head=make_user("unit_head", coop, username="coop_head", email="head@housing.example.org"),
        coop_staff=make_user("unit_staff", coop, username="coop_staff", email="staff@housing.example.org"),
        other_head=make_user("unit_head", other, username="other_head", email="head@water.example.org"),
        sup=make_user("supervisor", username="sup", email="sup@office.example.org", display_name="督察办小王"),
        sup_digest=make_user("supervisor", username="sup2", email="sup2@office.example.org"),
        approver=make_user("approver", username="appr", email="appr@office.example.org"),
        approver2=make_user("approver", username="appr2", email="appr2@office.example.org"),
        leader=make_user("leader", username="leader", email="leader@office.example.org"),
        admin=make_user("admin", username="admin", email="admin@office.example.org"),
    )
    session.add(UserPref(user_id=people["sup_digest"].id, digest="daily", action_mail="digest"))
    issue = make_issue(lead_unit=lead, cooperating=(coop,), round=make_round(), code="A-01", title="黑臭水体整治",
                       summary="已完成整治", deadline=date(2020, 12, 31))
    make_report(issue, author=people["staff"])
    make_attachment(issue)
    session.commit()
    return dict(issue=issue, lead=lead, coop=coop, **people)


def signed_in(app, username: str):
    """A client of its own, signed in as `username`."""
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def heard(kind: str) -> tuple[Counter, Counter, Counter]:
    """Who got what of `kind`: notices, mails and digest lines, counted by username."""
    from tracker.accounts.models import User

    def by_user(model):
        rows = db.session.execute(select(User.username, func.count()).join(model, model.user_id == User.id)
                                  .where(model.kind == kind).group_by(User.username)).all()
        return Counter(dict(rows))

    return by_user(Notice), by_user(Outbox), by_user(DigestLine)


def act(cast, who: str, action: str, comment: str | None = None):
    issue_service.transition(db.session, cast[who], NOW, cast["issue"], action, comment=comment)
    db.session.commit()


def move_to(cast, state: str):
    cast["issue"].state = state
    db.session.commit()


def test_a_submission_reaches_the_office_that_verifies(cast):
    act(cast, "head", "submit")
    notices, mails, lines = heard("submitted")
    assert notices == Counter(sup=1, sup2=1)
    assert mails == Counter(sup=1)  # sup2 takes action mails in the digest
    assert lines == Counter(sup2=1)
    body = db.session.scalar(select(Notice.body).where(Notice.kind == "submitted").limit(1))
    assert "A-01" in body and "提交了" in body and "验收" in body


def test_a_verification_reaches_the_approvers_but_not_the_verifier(cast):
    move_to(cast, "submitted")
    act(cast, "sup", "verify")
    notices, mails, lines = heard("verified")
    assert notices == Counter(appr=1, appr2=1)
    assert mails == Counter(appr=1, appr2=1)
    assert lines == Counter()


def test_a_return_reaches_the_lead_unit_with_the_reason(cast):
    move_to(cast, "submitted")
    act(cast, "sup", "return", "佐证材料不全,缺少整治前后对比照片")
    notices, mails, lines = heard("returned")
    # Active head and staff of the lead unit; a user without an address has the notice only.
    assert notices == Counter(head=1, staff=1, staff2=1)
    assert mails == Counter(head=1, staff=1)
    assert lines == Counter()
    mail = db.session.scalar(select(Outbox).where(Outbox.kind == "returned", Outbox.to_addr == "head@env.example.org"))
    assert "佐证材料不全" in mail.body_text and "督察办小王" in mail.body_text
    assert mail.subject == "【退回】A-01 黑臭水体整治" and mail.issue_id == cast["issue"].id
    assert f"/issues/{cast['issue'].id}" in mail.body_html


def test_an_approval_reaches_the_lead_and_cooperating_units(cast):
    move_to(cast, "verified")
    act(cast, "approver", "approve")
    notices, mails, _lines = heard("approved")
    assert notices == Counter(head=1, staff=1, staff2=1, coop_head=1, coop_staff=1)
    assert mails == Counter(head=1, staff=1, coop_head=1, coop_staff=1)


def test_a_reopening_reaches_the_lead_unit(cast):
    move_to(cast, "closed")
    act(cast, "sup", "reopen", "回头看发现问题反弹")
    notices, mails, _lines = heard("reopened")
    assert notices == Counter(head=1, staff=1, staff2=1)
    assert mails == Counter(head=1, staff=1)
    assert "回头看发现问题反弹" in db.session.scalar(select(Notice.body).where(Notice.kind == "reopened").limit(1))


def test_a_moved_deadline_reaches_the_lead_unit_with_old_new_and_why(cast):
    changes = issue_service.update_issue(db.session, cast["sup"], NOW, cast["issue"], {"deadline": "2021-06-30"},
                                         TODAY, reason="汛期施工受阻")
    db.session.commit()
    assert changes == {"deadline": (date(2020, 12, 31), date(2021, 6, 30))}
    notices, mails, _lines = heard("deadline_changed")
    assert notices == Counter(head=1, staff=1, staff2=1)
    assert mails == Counter(head=1, staff=1)
    body = db.session.scalar(select(Notice.body).where(Notice.kind == "deadline_changed").limit(1))
    assert "2020-12-31" in body and "2021-06-30" in body and "汛期施工受阻" in body


def test_an_edit_without_a_new_deadline_tells_nobody(cast):
    issue_service.update_issue(db.session, cast["sup"], NOW, cast["issue"], {"title": "黑臭水体整治(修订)"}, TODAY)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_the_one_who_acts_is_never_told(cast):
    """A unit head who submits is not among the verifiers; a supervisor who returns is not told of it."""
    act(cast, "head", "submit")
    act(cast, "sup", "return", "材料不全")
    for kind in ("submitted", "returned"):
        notices, mails, lines = heard(kind)
        actor = "head" if kind == "submitted" else "sup"
        assert actor not in notices and actor not in mails and actor not in lines


def test_each_action_reaches_each_person_once(cast):
    """Returned twice: two notices and two mails per person, one per action, never two for one action."""
    act(cast, "head", "submit")
    act(cast, "sup", "return", "第一次退回")
    act(cast, "head", "submit")
    act(cast, "sup", "return", "第二次退回")
    notices, mails, _lines = heard("returned")
    assert notices == Counter(head=2, staff=2, staff2=2) and mails == Counter(head=2, staff=2)
    per_action = db.session.execute(select(Outbox.to_addr, Outbox.ref, func.count()).where(Outbox.kind == "returned")
                                    .group_by(Outbox.to_addr, Outbox.ref)).all()
    assert {count for _addr, _ref, count in per_action} == {1} and len(per_action) == 4


def test_a_refused_action_tells_nobody(cast):
    move_to(cast, "submitted")
    with pytest.raises(Refusal):
        issue_service.transition(db.session, cast["sup"], NOW, cast["issue"], "return", comment="")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0
    assert db.session.scalar(select(func.count()).select_from(DigestLine)) == 0


def test_actions_nobody_waits_for_tell_nobody(cast, session):
    """Marking basically done (long-term issues) and merging have no next actor to tell."""
    long_term = make_issue(lead_unit=cast["lead"], rectify_type="long_term", code="L-01")
    session.commit()
    issue_service.transition(db.session, cast["head"], NOW, long_term, "mark_basically_done")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_return_on_the_page_notifies_and_the_unit_sees_it(app, cast):
    """Through the pages: the office returns with a reason; the lead unit's head has the notice."""
    move_to(cast, "submitted")
    office = signed_in(app, "sup")
    issue = cast["issue"]
    response = office.post(f"/issues/{issue.id}/transition",
                           data={"action": "return", "version": str(issue.version), "comment": "照片不清晰"})
    assert response.status_code == 302
    notices, mails, _lines = heard("returned")
    assert notices["head"] == 1 and mails["head"] == 1
    html = signed_in(app, "head").get("/notices/").get_data(as_text=True)
    assert "照片不清晰" in html


def test_lines_taken_by_digest_come_in_one_mail_on_the_digest_day_and_never_twice(app, cast, clock):
    """sup2 takes action mails in the digest: the daily run mails their waiting lines once."""
    from tracker.escalation.runner import run_day

    act(cast, "head", "submit")
    act(cast, "sup", "return", "材料不全")
    act(cast, "head", "submit")
    assert heard("submitted")[2] == Counter(sup2=2)
    run_day(db.session, TODAY, app.config, now=NOW, dispatch_mail=False)
    digests = db.session.scalars(select(Outbox).where(Outbox.kind == "action_digest")).all()
    assert [(m.to_addr, m.subject) for m in digests] == [("sup2@office.example.org", "【办理通知汇总】2020-07-15:2 条")]
    assert digests[0].body_text.count("A-01") >= 2
    assert db.session.scalar(select(func.count()).select_from(DigestLine).where(DigestLine.sent_at.is_(None))) == 0
    # The run again: nothing new to carry, no second mail.
    run_day(db.session, TODAY, app.config, now=NOW, dispatch_mail=False)
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "action_digest")) == 1


def test_a_weekly_digest_reader_gets_the_lines_on_monday(app, cast):
    from tracker.escalation.runner import run_day

    pref = db.session.get(UserPref, cast["sup_digest"].id)
    pref.digest = "weekly"
    db.session.commit()
    act(cast, "head", "submit")
    run_day(db.session, date(2020, 7, 15), app.config, now=NOW, dispatch_mail=False)  # a Wednesday
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "action_digest")) == 0
    run_day(db.session, date(2020, 7, 20), app.config, now=datetime(2020, 7, 20, 2), dispatch_mail=False)  # Monday
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "action_digest")) == 1


def test_a_user_chooses_digest_lines_on_the_preferences_page(app, cast):
    client = signed_in(app, "head")
    html = client.get("/notices/preferences").get_data(as_text=True)
    assert 'id="action-mail-immediate" name="action_mail" value="immediate" checked' in html
    response = client.post("/notices/preferences", data={"digest": "daily", "action_mail": "digest"})
    assert response.status_code == 302
    assert db.session.get(UserPref, cast["head"].id).action_mail == "digest"
    move_to(cast, "submitted")
    act(cast, "sup", "return", "材料不全")
    notices, mails, lines = heard("returned")
    assert notices["head"] == 1 and mails["head"] == 0 and lines["head"] == 1
    refused = client.post("/notices/preferences", data={"digest": "daily", "action_mail": "never"})
    assert refused.status_code == 422 and "办理通知邮件只能选择" in refused.get_data(as_text=True)
    assert db.session.get(UserPref, cast["head"].id).action_mail == "digest"


def test_the_unit_sees_a_returned_issue_at_the_top_of_its_home_page_with_the_reason(app, cast):
    move_to(cast, "submitted")
    act(cast, "sup", "return", "佐证材料不全,缺少整治前后对比照片")
    html = signed_in(app, "staff").get("/").get_data(as_text=True)
    assert 'id="returned"' in html
    # At the top: before the to-do list.
    assert html.index('id="returned"') < html.index('id="todo-title"')
    section = html[html.index('id="returned"'):html.index('id="todo-title"')]
    assert "A-01" in section and "佐证材料不全,缺少整治前后对比照片" in section and "督察办小王" in section
    # The count opens a list holding exactly those issues.
    link = re.search(r'href="([^"]+)" id="returned-count">共 1 个', section).group(1).replace("&amp;", "&")
    listed = signed_in(app, "staff").get(link).get_data(as_text=True)
    assert re.findall(r'data-issue-id="(\d+)"', listed) == [str(cast["issue"].id)]
    # Submitted again: no longer returned. Cooperating units and the office never see the section.
    act(cast, "head", "submit")
    assert 'id="returned"' not in signed_in(app, "staff").get("/").get_data(as_text=True)


def test_a_returned_issue_is_not_shown_to_the_cooperating_unit_or_the_office(app, cast):
    move_to(cast, "submitted")
    act(cast, "sup", "return", "材料不全")
    for who in ("coop_head", "sup", "leader"):
        assert 'id="returned"' not in signed_in(app, who).get("/").get_data(as_text=True), who
