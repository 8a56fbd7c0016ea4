"""The password policy (issue 9, F1; ASVS 2.1): at least 12 characters in any script, at most 128,
no composition rules, not a common password, not the username; on every way a password is set."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.api import api_for, rows
from tests.support.factories import PASSWORD, make_user
from tracker.accounts import passwords
from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.core.errors import Refusal
from tracker.core.extensions import db

REFUSED = [
    ("12345678", "至少 12 个字符"),
    ("password", "至少 12 个字符"),
    ("aaaaaaaa", "至少 12 个字符"),
    ("password1234", "常见密码"),
    ("PassWord1234", "常见密码"),  # compared case-insensitively
    ("qwerty123456", "常见密码"),
    ("1Q2W3E4R5T6Y", "常见密码"),
    ("整改销号要按时完成", "至少 12 个字符"),  # 9 characters: Chinese counts characters like any script
    ("a" * 11, "至少 12 个字符"),
    ("x" * 129, "不能超过 128 个字符"),
    ("correct horse\nbattery staple", "控制字符"),
    ("inspector.wang", "不能与用户名相同"),
    ("Inspector.Wang", "不能与用户名相同"),
    (None, "至少 12 个字符"),
    (123456789012, "至少 12 个字符"),
]

ACCEPTED = [
    "绿水青山就是金山银山的道理",  # 13 characters
    "correct horse battery staple",  # spaces allowed
    "整改 销号 按时 完成 不拖延",  # 15 characters with spaces
    "rectificationontime",  # no composition rules: lower-case letters only
    "x" * 128,
    "Ünïcødé ☃ pässwörd 🌿",
]


@pytest.mark.parametrize("password, fragment", REFUSED)
def test_policy_refuses_naming_the_rule(password, fragment):
    with pytest.raises(Refusal) as refused:
        passwords.check_password(password, "inspector.wang")
    assert fragment in refused.value.message and refused.value.status == 422


@pytest.mark.parametrize("password", ACCEPTED)
def test_policy_accepts_any_printable_characters_of_twelve_or_more(password):
    passwords.check_password(password, "inspector.wang")


def test_the_common_list_ships_with_the_package_and_is_read_once():
    common = passwords.common_passwords()
    assert len(common) > 19_000 and {"password1234", "12345678", "password"} <= common
    assert passwords.common_passwords() is common


def test_create_user_applies_the_policy_and_creates_nothing(session):
    admin = make_user("admin")
    session.commit()
    for password, fragment in [("12345678", "至少 12"), ("password1234", "常见密码"), ("clerk.zhang1", "用户名")]:
        with pytest.raises(Refusal, match=fragment):
            accounts.create_user(session, admin, "clerk.zhang1", password, "leader")
    assert session.scalar(select(User).where(User.username == "clerk.zhang1")) is None
    user = accounts.create_user(session, admin, "clerk.zhang1", "绿水青山就是金山银山的道理", "leader")
    assert user.check_password("绿水青山就是金山银山的道理")


def test_passwords_are_not_truncated(session):
    admin = make_user("admin")
    long = "长" * 60 + "x" * 60
    user = accounts.create_user(session, admin, "longpw", long, "leader")
    assert user.check_password(long) and not user.check_password(long[:-1]) and not user.check_password(long[:72])


def test_change_password_applies_the_policy(session):
    user = make_user("supervisor", username="sup.li")
    for new in ("password1234", "整改销号要按时完成", "Sup.Li", "SUP.LI"):
        with pytest.raises(Refusal):
            accounts.change_password(session, user, PASSWORD, new)
    assert user.check_password(PASSWORD) and user.session_version == 1
    accounts.change_password(session, user, PASSWORD, "绿水青山就是金山银山的道理")
    assert user.check_password("绿水青山就是金山银山的道理")


def test_admin_reset_applies_the_policy(session):
    admin = make_user("admin")
    user = make_user("approver", username="appr")
    with pytest.raises(Refusal, match="常见密码"):
        accounts.reset_password(session, admin, user, "password1234", admin_password=PASSWORD)
    assert user.check_password(PASSWORD) and user.session_version == 1


def test_the_password_change_page_names_the_rule(client, session):
    from tests.support.web import login

    make_user("supervisor", username="sup")
    session.commit()
    login(client, "sup")
    response = client.post("/password", data={"current": PASSWORD, "new": "password1234",
                                              "confirm": "password1234"})
    assert "常见密码" in response.get_data(as_text=True)
    response = client.post("/password", data={"current": PASSWORD, "new": "整改销号要按时完成",
                                              "confirm": "整改销号要按时完成"})
    assert "新密码须为 12-128 个字符" in response.get_data(as_text=True)


def test_the_api_refuses_a_common_password(client, world):
    admin = api_for(client, world["admin"])
    before = rows(User)
    response = admin.post("/users", json={"username": "clerk3", "password": "password1234", "role": "leader"})
    assert response.status_code == 422 and "常见密码" in response.get_json()["error"]
    assert rows(User) == before


def test_the_command_line_applies_the_policy(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "cli.user", "--role", "leader", "--password", "12345678"])
    assert result.exit_code != 0 and "至少 12 个字符" in result.output
    assert db.session.scalar(select(User).where(User.username == "cli.user")) is None
    result = runner.invoke(args=["users", "create", "cli.user", "--role", "leader",
                                 "--password", "correct horse battery staple"])
    assert result.exit_code == 0, result.output
