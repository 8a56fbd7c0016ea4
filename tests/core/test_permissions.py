"""The permissions module answers who may do what, for services, views, the API and templates alike."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.factories import make_user
from tracker.core import permissions
from tracker.core.enums import Role
from tracker.core.permissions import Permission

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def actor(role: str, unit_id: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=1, role=role, unit_id=unit_id)


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_every_right_is_held_by_exactly_its_roles(permission, role):
    subject = None
    if permission == Permission.REPORT:
        # Reporting is also judged on the actor's unit: give it an issue its unit leads, in progress.
        from tracker.core.workflow import Situation
        subject = Situation(state="in_progress", relation="lead")
    allowed = permissions.can(actor(role, 1), permission, subject)
    assert allowed == (role in permissions.ROLES[permission])
    refused = permissions.refusal(actor(role, 1), permission, subject)
    assert (refused is None) == allowed
    if refused is not None:
        assert refused.kind == "forbidden" and refused.message


def test_the_system_may_do_anything():
    assert all(permissions.can(None, p) for p in Permission)


def test_a_closed_issue_cannot_be_edited_even_by_the_office():
    closed = SimpleNamespace(state="closed")
    refused = permissions.refusal(actor("supervisor"), Permission.EDIT_ISSUE, closed)
    assert refused.kind == "conflict" and "重新打开" in refused.message
    assert permissions.can(actor("supervisor"), Permission.EDIT_ISSUE, SimpleNamespace(state="verified"))


def test_a_refusal_is_worded_for_the_page_asking():
    refused = permissions.refusal(actor("unit_head"), Permission.MANAGE_ISSUES, doing="导入整改台账")
    assert refused.message == "只有督察整改办可以导入整改台账。"
    assert permissions.refusal(actor("leader"), "administer", message="您的角色无权管理单位。").message \
        == "您的角色无权管理单位。"
    with pytest.raises(ValueError):
        permissions.can(actor("admin"), "fly")


def test_no_template_names_a_role():
    """Templates ask can(...); a role's name in a template would restate a rule kept elsewhere."""
    roles = "|".join(role.value for role in Role)
    pattern = re.compile(rf"""['"]({roles})['"]""")
    offenders = [f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
                 for path in TEMPLATES.rglob("*.html") for match in pattern.finditer(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize("role, shown, hidden", [
    ("supervisor", ["登记问题", "督察轮次"], ["单位管理", "邮件日志"]),
    ("admin", ["督察轮次", "单位管理", "用户管理", "提醒设置", "邮件日志"], ["登记问题"]),
    ("unit_staff", [], ["登记问题", "督察轮次", "单位管理"]),
    ("leader", [], ["登记问题", "督察轮次", "单位管理"]),
])
def test_the_menu_shows_what_the_user_may_do(client, login_as, role, shown, hidden):
    login_as(make_user(role))
    nav = client.get("/").get_data(as_text=True).split("</nav>")[0]
    for label in shown:
        assert f">{label}</a>" in nav, label
    for label in hidden:
        assert f">{label}</a>" not in nav, label
