"""Password fields and password storage (ASVS 4.0.3 V2.1.8, V2.1.11, V2.1.12, V2.4.1, V2.4.2, V2.4.6):
every password field has a show/hide button, new-password fields carry a strength meter whose script
(zxcvbn-ts, served from static/, never from elsewhere) is on the page, nothing blocks pasting or
password managers, and passwords are stored as salted scrypt hashes with N >= 2**16."""
from __future__ import annotations

import re

import pytest

from tests.support.factories import make_user
from tracker.accounts.models import User

INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTR = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def password_inputs(html: str) -> list[dict[str, str]]:
    """The attributes of each password input on a page."""
    found = []
    for tag in INPUT.findall(html):
        attrs = {name.lower(): value for name, value in ATTR.findall(tag[len("<input"):])}
        if attrs.get("type") == "password":
            found.append(attrs)
    return found


@pytest.fixture
def pages(client, session, login_as):
    """The pages with password fields, as the people who open them see them."""
    target = make_user("leader", username="target")
    admin = make_user("admin", username="root")
    session.commit()

    def get(path: str, user=None) -> str:
        client.post("/logout") if user is None else login_as(user)
        response = client.get(path)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)

    return {
        "login": get("/login"),
        "password": get("/password", admin),
        "create_user": get("/admin/users", admin),
        "reset_password": get(f"/admin/users/{target.id}/edit", admin),
    }


# (page, id of each password field, the ones with a strength meter, autocomplete of each)
EXPECTED = [
    ("login", {"password": "current-password"}, set()),
    ("password", {"current": "current-password", "new": "new-password", "confirm": "new-password"}, {"new"}),
    ("create_user", {"password": "new-password"}, {"password"}),
    # The user page holds two forms asking for the admin's own password (edit, reset): two ids.
    ("reset_password", {"password": "new-password", "confirm": "new-password", "admin_password": "current-password",
                        "reset-admin_password": "current-password"}, {"password"}),
]


@pytest.mark.parametrize(("page", "fields", "meters"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_every_password_field_has_a_show_button_and_new_ones_a_strength_meter(pages, page, fields, meters):
    html = pages[page]
    inputs = password_inputs(html)
    assert {attrs["id"] for attrs in inputs} == set(fields)
    for field_id in fields:
        # V2.1.12: a button that shows the typed password, tied to its field.
        assert re.search(rf'<button[^>]*data-password-toggle[^>]*aria-controls="{field_id}"', html), field_id
    for field_id in set(fields) - meters:
        assert f'data-password-meter-for="{field_id}"' not in html
    for field_id in meters:
        # V2.1.8: a strength meter under each new password.
        assert f'data-password-meter-for="{field_id}"' in html
    assert 'src="/static/password.js"' in html
    scripts = re.findall(r'<script\b[^>]*src="([^"]+)"', html)
    if meters:
        core, common = "/static/vendor/zxcvbn-ts/core.js", "/static/vendor/zxcvbn-ts/language-common.js"
        assert scripts.index(core) < scripts.index("/static/password.js")
        assert scripts.index(common) < scripts.index("/static/password.js")
    # Every script comes from this site (no CDN).
    assert all(src.startswith("/static/") for src in scripts), scripts


@pytest.mark.parametrize(("page", "fields", "meters"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_password_fields_allow_paste_and_password_managers(pages, page, fields, meters):
    html = pages[page]
    # V2.1.11: no script attribute blocks paste, copy or drop anywhere on the page, ...
    assert not re.search(r"\bon(paste|copy|cut|drop|contextmenu)\s*=", html, re.I)
    assert "preventDefault" not in html
    for attrs in password_inputs(html):
        # ... and each field tells a password manager what it holds instead of turning it away.
        assert attrs.get("autocomplete") == fields[attrs["id"]], attrs
        assert "readonly" not in attrs and "disabled" not in attrs
        # V2.1.2: long passphrases fit (a pasted 64-character one is not cut short).
        assert int(attrs.get("maxlength", "128")) >= 64


def test_the_meter_and_toggle_scripts_are_served_and_block_no_paste(client):
    core = client.get("/static/vendor/zxcvbn-ts/core.js")
    common = client.get("/static/vendor/zxcvbn-ts/language-common.js")
    script = client.get("/static/password.js")
    assert core.status_code == common.status_code == script.status_code == 200
    assert b"ZxcvbnFactory" in core.data and b'this.zxcvbnts["language-common"]' in common.data
    text = script.get_data(as_text=True)
    assert "data-password-toggle" in text and "data-password-meter-for" in text and "ZxcvbnFactory" in text
    assert "paste" not in text and "preventDefault" not in text


def test_passwords_are_stored_as_salted_scrypt_hashes_of_cost_2_16(session):
    first, second = make_user("leader", username="a"), make_user("leader", username="b")
    first.set_password("correct horse battery staple")
    second.set_password("correct horse battery staple")
    session.commit()
    method, salt, digest = first.password_hash.split("$")
    # V2.4.6: scrypt with N = 2**16, r = 8, p = 1.
    assert method == "scrypt:65536:8:1"
    # V2.4.2: a salt of at least 32 bits (16 characters of 62), unique per credential.
    assert len(salt) >= 16 and salt != second.password_hash.split("$")[1]
    assert digest != second.password_hash.split("$")[2]
    # V2.4.1: the stored form is a one-way hash that still checks the password.
    assert "correct horse" not in first.password_hash
    stored = session.get(User, first.id)
    assert stored.check_password("correct horse battery staple") and not stored.check_password("correct horse")


def test_a_hash_made_with_older_parameters_still_verifies(session):
    # V6.2.4: the method and its cost live in each hash, so the cost can be raised at any time.
    from werkzeug.security import generate_password_hash

    user = make_user("leader", username="old")
    user.password_hash = generate_password_hash("an older passphrase", method="scrypt:32768:8:1")
    session.commit()
    assert session.get(User, user.id).check_password("an older passphrase")


@pytest.mark.parametrize("new", [
    "我的密码 有空格 也有表情 😀🌏",            # V2.1.4: any printable Unicode, spaces and emoji
    "lanzhouyellowriverironbridge",             # V2.1.9: lower-case letters only, no composition rule
    "x" * 80 + "the tail matters",              # V2.1.2, V2.1.3: long ones kept whole
], ids=["unicode", "letters-only", "long"])
def test_any_password_is_accepted_whole_and_signs_in(client, session, login_as, new):
    from tests.support.factories import PASSWORD

    user = make_user("leader", username="changer")
    session.commit()
    login_as(user)
    response = client.post("/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 302, response.get_data(as_text=True)
    stored = session.get(User, user.id)
    session.refresh(stored)
    assert stored.check_password(new)
    # No truncation: the same password with its last character changed does not sign in.
    assert not stored.check_password(new[:-1] + "?")
    if len(new) > 72:  # bcrypt's limit, the classic place of silent truncation
        assert not stored.check_password(new[:72])


def test_no_password_expires_and_no_change_is_forced(client, session, login_as):
    # V2.1.10: a years-old account signs straight in to the home page; nothing asks for a new password.
    from datetime import datetime

    user = make_user("leader", username="veteran", created_at=datetime(2010, 1, 1))
    session.commit()
    response = login_as(user).get("/")
    assert response.status_code == 200
    assert "修改密码" not in response.get_data(as_text=True).split("<main")[1]


def test_a_fresh_database_has_no_account(tmp_path):
    # V2.5.4: `tracker db upgrade` brings no user at all (no admin/admin); the first administrator is
    # made with `tracker users create`, demo accounts only by the explicit `tracker demo`.
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from tracker import create_app
    from tracker.core.extensions import db

    fresh = create_app({"TESTING": True, "SECRET_KEY": "test",
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        assert db.session.scalar(select(func.count(User.id))) == 0
        db.session.remove()
        db.engine.dispose()
