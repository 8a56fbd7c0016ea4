"""Services: registering, reporting, evidence and the workflow, with refusals that change nothing."""
import io
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import PDF_BYTES, make_issue, make_round, make_unit, make_user
from tracker.core.errors import Refusal
from tracker.core.files import path_for
from tracker.issues import services as svc
from tracker.issues.models import Attachment, Event, Issue, ProgressReport

NOW = datetime(2020, 7, 15, 2, 0)
TODAY = date(2020, 7, 15)


def events_of(session, issue):
    return session.scalars(select(Event).where(Event.issue_id == issue.id).order_by(Event.id)).all()


def snapshot(session, issue):
    """What a refused action must leave unchanged."""
    session.expire_all()
    fresh = session.get(Issue, issue.id)
    return (fresh.state, fresh.version, fresh.progress_percent, fresh.merged_into_id, fresh.summary,
            len(events_of(session, fresh)),
            session.scalar(select(func.count()).select_from(ProgressReport).where(ProgressReport.issue_id == issue.id)),
            session.scalar(select(func.count()).select_from(Attachment).where(Attachment.issue_id == issue.id)))


def refused(session, issue, call):
    before = snapshot(session, issue)
    with pytest.raises(Refusal) as err:
        call()
    session.rollback()
    assert snapshot(session, issue) == before
    return err.value


@pytest.fixture
def cast(session):
    lead, coop, other = make_unit(name="市生态环境分局"), make_unit(name="市住建局"), make_unit(name="市城管局")
    people = dict(
        staff=make_user("unit_staff", lead), head=make_user("unit_head", lead),
        coop_head=make_user("unit_head", coop), coop_staff=make_user("unit_staff", coop),
        other_head=make_user("unit_head", other), supervisor=make_user("supervisor"),
        approver=make_user("approver"), leader=make_user("leader"),
    )
    issue = make_issue(lead_unit=lead, cooperating=(coop,))
    session.commit()
    return dict(issue=issue, lead=lead, coop=coop, **people)


def upload(session, actor, issue, app, data=PDF_BYTES, name="验收报告.pdf"):
    return svc.add_evidence(session, actor, NOW, issue, name, io.BytesIO(data), app.config["UPLOAD_DIR"],
                            app.config["MAX_UPLOAD_BYTES"])


def ready_for_submit(session, cast, app):
    svc.report_progress(session, cast["staff"], NOW, cast["issue"], "2020-07", 100, "已完成")
    upload(session, cast["staff"], cast["issue"], app)
    session.commit()


def test_create_issue_records_event(session, cast):
    round_ = make_round()
    issue = svc.create_issue(session, cast["supervisor"], NOW, {
        "round_id": round_.id, "code": "ZY-01", "title": "扬尘治理", "category": "feedback",
        "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": cast["lead"].code,
        "cooperating_units": [cast["coop"].code],
    }, TODAY)
    session.commit()
    assert issue.assigned_on == TODAY and issue.state == "in_progress"
    assert [u.unit_id for u in issue.cooperating] == [cast["coop"].id]
    assert [e.action for e in events_of(session, issue)] == ["create"]


@pytest.mark.parametrize("change, field", [
    ({"code": ""}, "code"), ({"category": "x"}, "category"), ({"deadline": "2020-13-01"}, "deadline"),
    ({"lead_unit": "NOPE"}, "lead_unit"), ({"round_id": 999999}, "round_id"), ({"title": ""}, "title"),
    ({"deadline": "2019-01-01"}, "deadline"),
])
def test_create_issue_refuses_bad_input(session, cast, change, field):
    round_ = make_round()
    data = {"round_id": round_.id, "code": "ZY-02", "title": "t", "category": "feedback",
            "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": cast["lead"].code}
    data.update(change)
    count = session.scalar(select(func.count()).select_from(Issue))
    with pytest.raises(Refusal) as err:
        svc.create_issue(session, cast["supervisor"], NOW, data, TODAY)
    session.rollback()
    assert err.value.field == field and err.value.status in (409, 422)
    assert session.scalar(select(func.count()).select_from(Issue)) == count


def test_only_supervisor_registers(session, cast):
    with pytest.raises(Refusal) as err:
        svc.create_issue(session, cast["head"], NOW, {}, TODAY)
    assert err.value.status == 403


def test_second_report_for_period_replaces_first_and_keeps_history(session, cast):
    issue = cast["issue"]
    svc.report_progress(session, cast["staff"], NOW, issue, "2020-07", 40, "第一次")
    svc.report_progress(session, cast["coop_staff"], NOW, issue, "2020-07", 60, "更正")
    session.commit()
    reports = session.scalars(select(ProgressReport).where(ProgressReport.issue_id == issue.id)
                              .order_by(ProgressReport.id)).all()
    assert [(r.percent, r.replaced_at is not None) for r in reports] == [(40, True), (60, False)]
    assert issue.progress_percent == 60


@pytest.mark.parametrize("period, percent, text", [("2020-7", 10, "x"), ("2020-07", 101, "x"),
                                                   ("2020-07", "a", "x"), ("2020-07", 10, " ")])
def test_report_bad_input_refused(session, cast, period, percent, text):
    err = refused(session, cast["issue"], lambda: svc.report_progress(
        session, cast["staff"], NOW, cast["issue"], period, percent, text))
    assert err.status == 422


@pytest.mark.parametrize("who", ["other_head", "supervisor", "leader"])
def test_report_refused_outside_units(session, cast, who):
    err = refused(session, cast["issue"], lambda: svc.report_progress(
        session, cast[who], NOW, cast["issue"], "2020-07", 10, "x"))
    assert err.status == 403


def test_evidence_stored_by_hash(session, cast, app):
    att = upload(session, cast["coop_staff"], cast["issue"], app, name="../../etc/passwd.pdf")
    session.commit()
    stored = path_for(app.config["UPLOAD_DIR"], att.sha256)
    assert stored.read_bytes() == PDF_BYTES
    assert att.filename == "passwd.pdf" and att.size == len(PDF_BYTES)


@pytest.mark.parametrize("data, name, status", [
    (b"MZ\x90\x00 not a pdf at all", "报告.pdf", 422),   # content does not match the extension
    (PDF_BYTES, "脚本.exe", 422),                       # extension not allowed
    (b"", "空.pdf", 422),
    (PDF_BYTES + b"0" * 2048, "大.pdf", 413),
])
def test_evidence_refused(session, cast, app, data, name, status):
    app.config["MAX_UPLOAD_BYTES"] = 1024
    err = refused(session, cast["issue"], lambda: upload(session, cast["staff"], cast["issue"], app, data, name))
    assert err.status == status


def test_full_workflow_with_return(session, cast, app):
    issue = cast["issue"]
    ready_for_submit(session, cast, app)
    svc.transition(session, cast["head"], NOW, issue, "submit", summary="已整改完毕")
    svc.transition(session, cast["supervisor"], NOW, issue, "return", comment="材料不全")
    svc.transition(session, cast["head"], NOW, issue, "submit")
    svc.transition(session, cast["supervisor"], NOW, issue, "verify")
    svc.transition(session, cast["approver"], NOW, issue, "approve")
    session.commit()
    assert issue.state == "closed" and issue.closed_at == NOW
    steps = [(e.action, e.from_state, e.to_state) for e in events_of(session, issue)]
    assert steps[-5:] == [("submit", "in_progress", "submitted"), ("return", "submitted", "in_progress"),
                          ("submit", "in_progress", "submitted"), ("verify", "submitted", "verified"),
                          ("approve", "verified", "closed")]
    assert events_of(session, issue)[-4].comment == "材料不全"


def test_refused_transitions_change_nothing(session, cast, app):
    issue = cast["issue"]
    assert refused(session, issue, lambda: svc.transition(
        session, cast["head"], NOW, issue, "submit", summary="s")).status == 409  # no report, no evidence
    ready_for_submit(session, cast, app)
    assert refused(session, issue, lambda: svc.transition(
        session, cast["coop_head"], NOW, issue, "submit", summary="s")).status == 403
    assert refused(session, issue, lambda: svc.transition(
        session, cast["staff"], NOW, issue, "submit", summary="s")).status == 403
    assert refused(session, issue, lambda: svc.transition(
        session, cast["head"], NOW, issue, "submit", summary="  ")).status == 422
    assert refused(session, issue, lambda: svc.transition(
        session, cast["supervisor"], NOW, issue, "verify")).status == 409
    stale = issue.version
    svc.transition(session, cast["head"], NOW, issue, "submit", summary="s", version=stale)
    session.commit()
    assert refused(session, issue, lambda: svc.transition(
        session, cast["supervisor"], NOW, issue, "verify", version=stale)).status == 409
    assert refused(session, issue, lambda: svc.transition(
        session, cast["supervisor"], NOW, issue, "return", comment="")).status == 422


def test_merge_follows_and_closes_with_target(session, cast, app):
    target = cast["issue"]
    merged = make_issue(lead_unit=cast["coop"])
    session.commit()
    svc.transition(session, cast["supervisor"], NOW, merged, "merge", target_issue_id=target.id, comment="同一点位")
    session.commit()
    assert merged.merged_into_id == target.id
    assert "并入" in events_of(session, target)[-1].comment
    err = refused(session, merged, lambda: svc.report_progress(
        session, make_user("unit_staff", cast["coop"]), NOW, merged, "2020-07", 10, "x"))
    assert err.status == 409
    ready_for_submit(session, cast, app)
    for actor, action in (("head", "submit"), ("supervisor", "verify"), ("approver", "approve")):
        svc.transition(session, cast[actor], NOW, target, action, summary="s")
    session.commit()
    session.refresh(merged)
    assert merged.state == "closed" and merged.closed_at == NOW
    assert events_of(session, merged)[-1].action == "follow"
    assert events_of(session, target)[-1].action == "approve"


def test_merge_refusals(session, cast):
    a, b = cast["issue"], make_issue()
    session.commit()
    assert refused(session, a, lambda: svc.transition(
        session, cast["supervisor"], NOW, a, "merge", target_issue_id=a.id)).status == 422
    assert refused(session, a, lambda: svc.transition(
        session, cast["supervisor"], NOW, a, "merge", target_issue_id=999999)).status == 422
    b.state = "closed"
    session.commit()
    assert refused(session, a, lambda: svc.transition(
        session, cast["supervisor"], NOW, a, "merge", target_issue_id=b.id)).status == 409


def test_available_actions_per_role(session, cast, app):
    issue = cast["issue"]
    head_actions = {c.action: c for c in svc.available_actions(session, cast["head"], issue)}
    assert head_actions["submit"].allowed is False and "进展" in head_actions["submit"].reason
    assert svc.available_actions(session, cast["coop_head"], issue) == []
    assert [c.action for c in svc.available_actions(session, cast["supervisor"], issue)] == ["merge"]
    ready_for_submit(session, cast, app)
    assert [c.action for c in svc.available_actions(session, cast["head"], issue) if c.allowed] == ["submit"]
    assert svc.available_actions(session, cast["leader"], issue) == []


def test_get_visible_issue_is_not_found_outside_scope(session, cast):
    with pytest.raises(Refusal) as err:
        svc.get_visible_issue(session, cast["other_head"], cast["issue"].id)
    assert err.value.status == 404
    assert svc.get_visible_issue(session, cast["coop_staff"], cast["issue"].id) is cast["issue"]


def test_report_after_due_day_is_marked_late_when_it_comes(session, cast):
    from tracker.issues.figures import late_periods

    svc.report_progress(session, cast["staff"], datetime(2020, 7, 17, 2, 0), cast["issue"], "2020-07", 10, "按时")
    svc.report_progress(session, cast["staff"], datetime(2020, 8, 20, 2, 0), cast["issue"], "2020-08", 20, "晚了")
    session.commit()
    assert late_periods(session, cast["issue"].id) == {"2020-08"}


def test_creating_a_round_checks_its_fields_as_correcting_one_does(session):
    from tracker.rounds import services as accounts
    from tracker.rounds import services as admin
    from tracker.rounds.models import Round

    supervisor = make_user("supervisor")
    with pytest.raises(Refusal) as refused:
        accounts.create_round(session, supervisor, "新轮次", "central", "regular", "2020-01-01", "文" * 101)
    assert (refused.value.field, refused.value.message) == ("document_no", "文号不能超过 100 个字。")
    round_ = accounts.create_round(session, supervisor, "新轮次", "central", "regular", "2020-01-01",
                                   " 环督〔2020〕1号 ")
    assert round_.document_no == "环督〔2020〕1号"
    with pytest.raises(Refusal) as refused:
        admin.update_round(session, supervisor, make_round(name="另一轮"), "新轮次", "central", "regular")
    assert refused.value.kind == "conflict"
    assert session.scalar(select(func.count(Round.id))) == 2


@pytest.mark.parametrize("address", ["zhang@环保.cn", "a(b)@x.cn", "a b@x.cn"])
def test_an_address_mail_could_not_be_sent_to_is_refused(session, address):
    from tracker.units import services as accounts

    with pytest.raises(Refusal) as refused:
        accounts.create_unit(session, None, "U-MAIL", "邮件单位", email=address)
    assert refused.value.field == "email"
