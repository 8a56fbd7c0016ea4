"""Admin pages: units (tree), users and rounds; who may use them; refusals change nothing."""
from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.support.factories import PASSWORD, make_issue, make_round, make_unit, make_user
from tests.support.web import login
from tracker.accounts import services as admin_service
from tracker.accounts.models import User
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.rounds.models import Round
from tracker.units import services as units_service
from tracker.units.models import Unit


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(model, object_id):
    """The row as it is in the database now."""
    db.session.expire_all()
    return db.session.get(model, object_id)


# ---- access ------------------------------------------------------------------------------

def test_every_page_answers_for_admin(admin, client, login_as, session):
    unit = make_unit(code="CITY", name="市政府")
    user = make_user("unit_staff", unit, username="clerk")
    round_ = make_round(name="第一轮")
    session.commit()
    login_as(admin)
    for url, text in (("/admin/units", "市政府"), ("/admin/users", "clerk"), ("/admin/rounds", "第一轮"),
                      (f"/admin/units/{unit.id}/edit", "CITY"), (f"/admin/users/{user.id}/edit", "重置密码"),
                      (f"/admin/rounds/{round_.id}/edit", "第一轮")):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert text in html, url
        assert 'href="/"' in html, url  # a way back
    assert client.get("/admin/units/9999/edit").status_code == 404


@pytest.mark.parametrize("role", ["unit_staff", "unit_head", "supervisor", "approver", "leader"])
def test_units_and_users_refused_to_non_admins(role, client, login_as, session, caplog):
    user = make_user(role)
    target = make_user("unit_staff", username="target")
    unit = make_unit(code="KEEP", name="原名称")
    session.commit()
    login_as(user)
    units_before, users_before = count(Unit), count(User)
    caplog.set_level(logging.WARNING)
    for method, url, data in (
        ("get", "/admin/units", None),
        ("post", "/admin/units", {"code": "NEW", "name": "新单位"}),
        ("post", f"/admin/units/{unit.id}/edit", {"name": "改名"}),
        ("get", "/admin/users", None),
        ("post", "/admin/users", {"username": "x1", "password": PASSWORD, "role": "admin"}),
        ("post", f"/admin/users/{target.id}/edit", {"role": "admin"}),
        ("post", f"/admin/users/{target.id}/password",
         {"password": "new-pass-phrase-123", "confirm": "new-pass-phrase-123"}),
    ):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, url
        assert "只有系统管理员可以管理单位和用户" in response.get_data(as_text=True)
    assert "refused" in caplog.text and "/admin/users" in caplog.text
    assert (count(Unit), count(User)) == (units_before, users_before)
    assert fresh(Unit, unit.id).name == "原名称"
    target = fresh(User, target.id)
    assert target.role == "unit_staff" and target.check_password(PASSWORD)


def test_admin_pages_need_login(client):
    response = client.get("/admin/units")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---- units -------------------------------------------------------------------------------

def test_unit_tree_is_indented_by_depth(admin, client, login_as, session):
    city = make_unit(code="C", name="市政府")
    county = make_unit(code="C1", name="某县", parent=city)
    make_unit(code="C1T", name="某镇", parent=county)
    make_unit(code="B", name="另一市")
    session.commit()
    tree = units_service.unit_tree(session)
    assert [(n.unit.code, n.depth) for n in tree] == [("B", 0), ("C", 0), ("C1", 1), ("C1T", 2)]
    login_as(admin)
    html = client.get("/admin/units").get_data(as_text=True)
    assert html.index("市政府") < html.index("某县") < html.index("某镇")
    assert "padding-left: 3.0rem" in html  # depth 2


def test_create_and_edit_unit(admin, client, login_as, session):
    parent = make_unit(code="CITY", name="市政府")
    session.commit()
    login_as(admin)
    response = client.post("/admin/units", data={"code": "EPB", "name": "市生态环境局", "parent": "CITY",
                                                  "email": "epb@example.cn"})
    assert response.status_code == 302
    assert "已新增单位「市生态环境局」" in client.get(response.headers["Location"]).get_data(as_text=True)
    unit = db.session.scalar(select(Unit).where(Unit.code == "EPB"))
    assert unit.parent_id == parent.id and unit.email == "epb@example.cn"

    response = client.post(f"/admin/units/{unit.id}/edit", data={"name": "市生态环境分局", "parent": "",
                                                                  "email": ""})
    assert response.status_code == 302
    unit = fresh(Unit, unit.id)
    assert (unit.name, unit.parent_id, unit.email, unit.code) == ("市生态环境分局", None, None, "EPB")


def test_duplicate_unit_code_refused(admin, client, login_as, session):
    make_unit(code="EPB", name="市生态环境局")
    session.commit()
    login_as(admin)
    response = client.post("/admin/units", data={"code": "EPB", "name": "另一个"})
    assert response.status_code == 409
    assert "单位编码「EPB」已存在" in response.get_data(as_text=True)
    assert count(Unit) == 1


def test_unit_cycle_refused(admin, client, login_as, session):
    city = make_unit(code="C", name="市政府")
    county = make_unit(code="C1", name="某县", parent=city)
    town = make_unit(code="C1T", name="某镇", parent=county)
    session.commit()
    login_as(admin)
    # The edit page does not offer the unit itself or its descendants as parents.
    html = client.get(f"/admin/units/{city.id}/edit").get_data(as_text=True)
    assert 'value="C1T"' not in html and 'value="C1"' not in html
    for parent in ("C1T", "C"):
        response = client.post(f"/admin/units/{city.id}/edit", data={"name": "市政府(改)", "parent": parent})
        assert response.status_code == 422
        assert "上级单位不能是本单位或其下级单位" in response.get_data(as_text=True)
    city = fresh(Unit, city.id)
    assert (city.name, city.parent_id) == ("市政府", None)
    assert fresh(Unit, town.id).parent_id == county.id


def test_unit_form_errors_shown(admin, client, login_as, session):
    login_as(admin)
    response = client.post("/admin/units", data={"code": "", "name": "无编码"})
    assert response.status_code == 422 and "请填写单位编码" in response.get_data(as_text=True)
    response = client.post("/admin/units", data={"code": "X", "name": "某单位", "email": "not-an-email"})
    assert response.status_code == 422 and "格式不正确" in response.get_data(as_text=True)
    response = client.post("/admin/units", data={"code": "X", "name": "某单位", "parent": "NOPE"})
    assert response.status_code == 422 and "上级单位「NOPE」不存在" in response.get_data(as_text=True)
    assert count(Unit) == 0


# ---- users -------------------------------------------------------------------------------

def test_users_list_and_create(admin, client, login_as, session):
    unit = make_unit(code="EPB", name="市生态环境局")
    session.commit()
    login_as(admin)
    html = client.get("/admin/users").get_data(as_text=True)
    assert "系统管理员" in html and "root" in html
    response = client.post("/admin/users", data={
        "username": "clerk", "password": "secret-pass-phrase-1", "role": "unit_staff", "unit": "EPB",
        "email": "clerk@example.cn", "display_name": "张三"})
    assert response.status_code == 302
    html = client.get("/admin/users").get_data(as_text=True)
    assert "已新增用户「clerk」" in html and "责任单位经办人" in html and "市生态环境局" in html
    clerk = db.session.scalar(select(User).where(User.username == "clerk"))
    assert (clerk.role, clerk.unit_id, clerk.display_name) == ("unit_staff", unit.id, "张三")
    assert login(client.application.test_client(), "clerk", "secret-pass-phrase-1").status_code == 302


def test_unit_user_without_unit_refused(admin, client, login_as, session):
    login_as(admin)
    before = count(User)
    response = client.post("/admin/users", data={"username": "clerk", "password": "secret-pass-phrase-1",
                                                  "role": "unit_head", "unit": ""})
    assert response.status_code == 422
    assert "责任单位的用户必须指定所属单位" in response.get_data(as_text=True)
    response = client.post("/admin/users", data={"username": "root", "password": "secret-pass-phrase-1",
                                                  "role": "leader"})
    assert response.status_code == 409 and "用户名「root」已存在" in response.get_data(as_text=True)
    response = client.post("/admin/users", data={"username": "short", "password": "short",
                                                  "role": "leader"})
    assert response.status_code == 422 and "密码至少 12 个字符" in response.get_data(as_text=True)
    assert count(User) == before


def test_edit_user(admin, client, login_as, session):
    a, b = make_unit(code="A"), make_unit(code="B")
    user = make_user("unit_staff", a, username="clerk")
    session.commit()
    login_as(admin)
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "role": "unit_head", "unit": "B", "email": "h@example.cn", "display_name": "李四", "active": "y",
        "admin_password": PASSWORD})
    assert response.status_code == 302
    user = fresh(User, user.id)
    assert (user.role, user.unit_id, user.email, user.display_name, user.active) == (
        "unit_head", b.id, "h@example.cn", "李四", True)
    # A unit role cannot lose its unit.
    response = client.post(f"/admin/users/{user.id}/edit", data={"role": "unit_head", "unit": "", "active": "y"})
    assert response.status_code == 422 and "必须指定所属单位" in response.get_data(as_text=True)
    assert fresh(User, user.id).unit_id == b.id


def test_deactivate_ends_sessions(admin, app, client, login_as, session):
    user = make_user("supervisor", username="sup")
    session.commit()
    other = app.test_client()
    assert login(other, "sup").status_code == 302
    assert other.get("/").status_code == 200
    login_as(admin)
    response = client.post(f"/admin/users/{user.id}/edit", data={"role": "supervisor", "unit": "",
                                                                  "admin_password": PASSWORD})
    assert response.status_code == 302  # "active" unchecked
    user = fresh(User, user.id)
    assert user.active is False and user.session_version == 2
    response = other.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(app.test_client(), "sup").status_code == 200  # the form again: refused


def test_admin_cannot_deactivate_or_demote_self(admin, client, login_as):
    login_as(admin)
    response = client.post(f"/admin/users/{admin.id}/edit", data={"role": "admin", "unit": ""})
    assert response.status_code == 422 and "不能停用自己的账号" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{admin.id}/edit", data={"role": "leader", "active": "y"})
    assert response.status_code == 422 and "不能取消自己的系统管理员角色" in response.get_data(as_text=True)
    me = fresh(User, admin.id)
    assert (me.active, me.role, me.session_version) == (True, "admin", 1)
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_reset_password_ends_sessions(admin, app, client, login_as, session):
    user = make_user("approver", username="appr")
    session.commit()
    other = app.test_client()
    login(other, "appr")
    login_as(admin)
    response = client.post(f"/admin/users/{user.id}/password", data={"password": "short", "confirm": "short",
                                                                      "admin_password": PASSWORD})
    assert response.status_code == 422 and "密码至少 12 个字符" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}/password", data={"password": "brand-new-pass-1", "confirm": "x",
                                                                      "admin_password": PASSWORD})
    assert response.status_code == 422 and "两次输入的密码不一致" in response.get_data(as_text=True)
    assert other.get("/").status_code == 200 and fresh(User, user.id).check_password(PASSWORD)

    response = client.post(f"/admin/users/{user.id}/password",
                           data={"password": "brand-new-pass-1", "confirm": "brand-new-pass-1",
                                 "admin_password": PASSWORD})
    assert response.status_code == 302
    assert "/login" in other.get("/").headers["Location"]
    assert login(app.test_client(), "appr").status_code == 200
    assert login(app.test_client(), "appr", "brand-new-pass-1").status_code == 302


def test_update_user_service_refuses_non_admin(session):
    sup = make_user("supervisor")
    target = make_user("leader")
    with pytest.raises(Refusal) as refused:
        admin_service.update_user(session, sup, target, "admin")
    assert refused.value.status == 403 and target.role == "leader"


# ---- rounds ------------------------------------------------------------------------------

def test_rounds_by_supervisor(client, login_as, session):
    sup = make_user("supervisor")
    r = make_round(name="第一轮中央督察", feedback_date=date(2016, 11, 30))
    make_round(name="空轮次", feedback_date=date(2019, 1, 1))
    for _ in range(3):
        make_issue(round=r)
    session.commit()
    login_as(sup)
    html = client.get("/admin/rounds").get_data(as_text=True)
    assert "第一轮中央督察" in html and "中央" in html and "2016-11-30" in html
    assert f'href="/issues/?round_id={r.id}">3</a>' in html

    response = client.post("/admin/rounds", data={"name": "草原专项督察", "level": "central", "kind": "special",
                                                   "feedback_date": "2019-08-01", "document_no": "通党字〔2018〕85号"})
    assert response.status_code == 302
    assert "已登记督察轮次「草原专项督察」" in client.get("/admin/rounds").get_data(as_text=True)
    new = db.session.scalar(select(Round).where(Round.name == "草原专项督察"))
    assert (new.kind, new.feedback_date, new.document_no) == ("special", date(2019, 8, 1), "通党字〔2018〕85号")

    response = client.post(f"/admin/rounds/{new.id}/edit", data={"name": "草原生态环境问题专项督察",
                                                                  "level": "central", "kind": "special",
                                                                  "feedback_date": "", "document_no": ""})
    assert response.status_code == 302
    new = fresh(Round, new.id)
    assert (new.name, new.feedback_date, new.document_no) == ("草原生态环境问题专项督察", None, None)


def test_round_refusals_change_nothing(client, login_as, session):
    make_round(name="第一轮")
    other = make_round(name="第二轮")
    session.commit()
    login_as(make_user("admin"))
    session.commit()
    response = client.post("/admin/rounds", data={"name": "第一轮", "level": "central", "kind": "regular"})
    assert response.status_code == 409 and "轮次「第一轮」已存在" in response.get_data(as_text=True)
    response = client.post("/admin/rounds", data={"name": "新轮", "level": "central", "kind": "regular",
                                                   "feedback_date": "2019-13-45"})
    assert response.status_code == 422 and "反馈日期格式应为 YYYY-MM-DD" in response.get_data(as_text=True)
    response = client.post(f"/admin/rounds/{other.id}/edit", data={"name": "第一轮", "level": "central",
                                                                    "kind": "regular"})
    assert response.status_code == 409
    assert count(Round) == 2 and fresh(Round, other.id).name == "第二轮"


@pytest.mark.parametrize("role", ["unit_staff", "unit_head", "approver", "leader"])
def test_rounds_refused_to_others(role, client, login_as, session):
    r = make_round(name="第一轮")
    user = make_user(role)
    session.commit()
    login_as(user)
    for response in (client.get("/admin/rounds"),
                     client.post("/admin/rounds", data={"name": "新轮", "level": "central", "kind": "regular"}),
                     client.get(f"/admin/rounds/{r.id}/edit"),
                     client.post(f"/admin/rounds/{r.id}/edit", data={"name": "改名", "level": "central",
                                                                     "kind": "regular"})):
        assert response.status_code == 403
        assert "只有系统管理员和督察整改办可以管理督察轮次" in response.get_data(as_text=True)
    assert count(Round) == 1 and fresh(Round, r.id).name == "第一轮"
