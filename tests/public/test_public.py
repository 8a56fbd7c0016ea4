"""The public disclosure page (整改公示): what it shows, what it never shows, who publishes, the switch."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_attachment, make_issue, make_round, make_unit, make_user
from tests.support.web import login
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues import services as issue_svc
from tracker.issues.models import Event, Issue
from tracker.public import services as public_settings


def client_for(app, user):
    """A fresh test client signed in as `user`."""
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def state_of(issue_id: int):
    """What a refused publish must leave unchanged."""
    db.session.expire_all()
    issue = db.session.get(Issue, issue_id)
    events = db.session.scalar(select(func.count(Event.id)).where(Event.issue_id == issue_id))
    return issue.is_public, issue.version, events


@pytest.fixture
def published(app):
    """A closed public issue full of private details, and three that must not show."""
    unit = make_unit(name="住建局", email="zhujian-secret@example.gov.cn")
    round_ = make_round(name="第二轮中央督察")
    shown = make_issue(lead_unit=unit, round=round_, title="城区污水直排", description="污水管网不完善",
                       measures="新建截污管网5公里", summary="已完成截污纳管并通过验收",
                       responsible_leader="王副市长", responsible_person="李责任人",
                       state="closed", closed_at=datetime(2020, 6, 30, 8, 0), is_public=True)
    db.session.add(Event(issue_id=shown.id, action="verify", from_state="submitted", to_state="verified",
                         comment="内部意见:材料不齐先通过", at=datetime(2020, 6, 29)))
    make_attachment(shown, filename="验收报告-机密.pdf")
    hidden_closed = make_issue(lead_unit=unit, round=round_, title="未公示的已销号问题", state="closed",
                               closed_at=datetime(2020, 6, 1), is_public=False)
    hidden_open = make_issue(lead_unit=unit, round=round_, title="拟公示的整改中问题", is_public=True)
    other_round = make_round(name="省级督察回头看")
    other = make_issue(lead_unit=unit, round=other_round, title="另一轮次的公示问题", state="closed",
                       closed_at=datetime(2020, 5, 1), is_public=True)
    db.session.commit()
    return {"shown": shown, "hidden_closed": hidden_closed, "hidden_open": hidden_open, "other": other,
            "round": round_, "other_round": other_round}


def test_public_page_lists_closed_public_issues_without_login(client, published):
    response = client.get("/public/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "整改公示" in html
    assert "城区污水直排" in html and "污水管网不完善" in html
    assert "新建截污管网5公里" in html and "已完成截污纳管并通过验收" in html
    assert "第二轮中央督察" in html and "2020-06-30" in html
    assert "另一轮次的公示问题" in html
    assert "未公示的已销号问题" not in html
    assert "拟公示的整改中问题" not in html
    assert "共 2 个" in html
    # Not the signed-in layout.
    assert "退出" not in html and "问题清单" not in html


def test_public_page_never_shows_private_fields(client, published):
    html = client.get("/public/").get_data(as_text=True)
    for secret in ("王副市长", "李责任人", "内部意见", "验收报告-机密.pdf", "zhujian-secret@example.gov.cn",
                   "住建局"):
        assert secret not in html, secret


def test_public_page_filters_by_round(client, published):
    html = client.get(f"/public/?round={published['other_round'].id}").get_data(as_text=True)
    assert "另一轮次的公示问题" in html
    assert "城区污水直排" not in html
    assert "共 1 个" in html


def test_public_page_pages_by_20(client, app):
    round_ = make_round(name="分页轮次")
    for n in range(23):
        make_issue(round=round_, title=f"公示问题第{n:02d}号", state="closed",
                   closed_at=datetime(2020, 1, 1, n), is_public=True)
    db.session.commit()
    first = client.get("/public/").get_data(as_text=True)
    second = client.get("/public/?page=2").get_data(as_text=True)
    assert first.count('class="card mb-3 public-issue"') == 20
    assert second.count('class="card mb-3 public-issue"') == 3
    # Latest closed first.
    assert "公示问题第22号" in first and "公示问题第00号" in second


def test_switch_off_answers_404(client, app, published):
    admin = make_user("admin")
    db.session.commit()
    admin_client = client_for(app, admin)
    assert "已开启" in admin_client.get("/admin/public/").get_data(as_text=True)
    response = admin_client.post("/admin/public/", data={"enabled": "0"})
    assert response.status_code == 302
    assert public_settings.is_enabled(db.session) is False

    closed = client.get("/public/")
    assert closed.status_code == 404
    html = closed.get_data(as_text=True)
    assert "暂未开放" in html and "城区污水直排" not in html

    admin_client.post("/admin/public/", data={"enabled": "1"})
    assert client.get("/public/").status_code == 200


def test_only_admins_switch_the_page(app, published):
    supervisor = make_user("supervisor")
    db.session.commit()
    response = client_for(app, supervisor).post("/admin/public/", data={"enabled": "0"})
    assert response.status_code == 403
    db.session.expire_all()
    assert public_settings.is_enabled(db.session) is True
    with pytest.raises(Refusal) as refused:
        public_settings.set_enabled(db.session, supervisor, datetime(2020, 7, 15), False)
    assert refused.value.status == 403 and "系统管理员" in refused.value.message


def test_supervisor_publishes_and_unpublishes(app, clock):
    supervisor = make_user("supervisor")
    issue = make_issue(state="closed", closed_at=datetime(2020, 7, 1), title="待公示问题")
    db.session.commit()
    page = client_for(app, supervisor)
    html = page.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'id="public-form"' in html and "设为公示" in html

    response = page.post(f"/issues/{issue.id}/public", data={"public": "1", "version": issue.version})
    assert response.status_code == 302
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.is_public is True
    event = db.session.scalars(select(Event).where(Event.issue_id == issue.id)).one()
    assert event.action == "publish" and event.actor_id == supervisor.id
    html = page.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "已公示" in html and "取消公示" in html
    assert "待公示问题" in app.test_client().get("/public/").get_data(as_text=True)

    page.post(f"/issues/{issue.id}/public", data={"public": "0", "version": issue.version})
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).is_public is False
    actions = db.session.scalars(select(Event.action).where(Event.issue_id == issue.id).order_by(Event.id)).all()
    assert actions == ["publish", "unpublish"]
    assert "待公示问题" not in app.test_client().get("/public/").get_data(as_text=True)


def test_open_issue_marked_public_shows_as_pending(app):
    supervisor = make_user("supervisor")
    issue = make_issue(is_public=True)
    db.session.commit()
    html = client_for(app, supervisor).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "拟公示" in html


@pytest.mark.parametrize("role", ["unit_staff", "unit_head", "approver", "leader", "admin"])
def test_other_roles_cannot_publish(app, role):
    unit = make_unit()
    user = make_user(role, unit=unit if role in ("unit_staff", "unit_head") else None)
    issue = make_issue(lead_unit=unit, state="closed", closed_at=datetime(2020, 7, 1))
    db.session.commit()
    before = state_of(issue.id)
    page = client_for(app, user)
    assert 'id="public-form"' not in page.get(f"/issues/{issue.id}").get_data(as_text=True)

    response = page.post(f"/issues/{issue.id}/public", data={"public": "1", "version": issue.version},
                         follow_redirects=True)
    assert "只有督察整改办可以设置问题是否公示" in response.get_data(as_text=True)
    assert state_of(issue.id) == before

    with pytest.raises(Refusal) as refused:
        issue_svc.set_public(db.session, db.session.get(type(user), user.id), datetime(2020, 7, 15),
                             db.session.get(Issue, issue.id), True)
    assert refused.value.status == 403
    db.session.rollback()
    assert state_of(issue.id) == before


def test_publishing_twice_or_stale_is_refused(app):
    supervisor = make_user("supervisor")
    issue = make_issue(is_public=True)
    db.session.commit()
    before = state_of(issue.id)
    page = client_for(app, supervisor)
    again = page.post(f"/issues/{issue.id}/public", data={"public": "1", "version": issue.version},
                      follow_redirects=True)
    assert "该问题已在公示名单中" in again.get_data(as_text=True)
    stale = page.post(f"/issues/{issue.id}/public", data={"public": "0", "version": issue.version - 1},
                      follow_redirects=True)
    assert "刷新页面" in stale.get_data(as_text=True)
    assert state_of(issue.id) == before
