"""The TOTP second factor (issue 9; ASVS 4.3.1, 2.8.x): enrolment, the second step of signing in (nobody
is signed in before the code), wrong codes counted by the sign-in throttle, no code used twice, admins
forced to enrol (pages) and refused tokens (API) until they do, disabling, the admin's reset with
re-authentication and the command line's; security events without secrets or codes. Codes are made
at the injected clock's time (`totp_code`), never the wall clock."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select, text

from tests.support.api import PREFIX
from tests.support.factories import PASSWORD, TOTP_SECRET, make_user, totp_code
from tests.support.web import login
from tracker.accounts import mfa
from tracker.accounts.models import ApiToken, User
from tracker.core.enums import NoticeKind
from tracker.core.extensions import db
from tracker.notify.models import Notice, Outbox

OTHER_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


def events(caplog, name):
    return [r.getMessage() for r in caplog.records
            if r.name == "tracker.security" and r.getMessage().startswith(f"event={name} ")]


def signed_in(client) -> bool:
    """Whether the client's session is signed in (the home page answers rather than sending to /login)."""
    response = client.get("/")
    return response.status_code == 200


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.fixture
def people(session):
    staff = make_user("supervisor", username="sup")
    guarded = make_user("supervisor", username="guarded", totp_secret=OTHER_SECRET)
    admin = make_user("admin", username="boss")  # TOTP_SECRET
    bare_admin = make_user("admin", username="newboss", totp_secret=None)
    session.commit()
    return {"staff": staff, "guarded": guarded, "admin": admin, "bare_admin": bare_admin}


def password_step(client, username, **kw):
    return client.post("/login", data={"username": username, "password": PASSWORD}, **kw)


# --- signing in --------------------------------------------------------------------------------

def test_second_step_required_and_nobody_signed_in_before_the_code(client, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    response = password_step(client, "guarded")
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify"
    with client.session_transaction() as cookie:
        assert "_user_id" not in cookie  # not signed in: only the pending step
    assert not signed_in(client)
    assert client.get("/login/verify").status_code == 200
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET)})
    assert response.status_code == 302 and signed_in(client)
    assert len(events(caplog, "mfa_ok")) == 1
    assert reload(people["guarded"]).totp_last_step is not None


def test_next_survives_the_second_step_and_stays_local(client, people):
    password_step(client, "guarded", query_string={"next": "/issues/"})
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET)})
    assert response.headers["Location"] == "/issues/"
    client.post("/logout")
    password_step(client, "guarded", query_string={"next": "//evil.example/"})
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET, steps=1)})
    assert response.headers["Location"] == "/"


def test_user_without_second_factor_signs_in_with_the_password(client, people):
    assert password_step(client, "sup").headers["Location"] == "/"
    assert signed_in(client)


def test_wrong_code_refused_counted_and_logged_without_the_code(client, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    password_step(client, "guarded")
    wrong = "000000" if totp_code(OTHER_SECRET) != "000000" else "111111"
    response = client.post("/login/verify", data={"code": wrong})
    assert response.status_code == 200 and mfa.WRONG_CODE in response.get_data(as_text=True)
    assert not signed_in(client)
    [failed] = events(caplog, "mfa_failed")
    assert "user='guarded'" in failed and "reason='wrong'" in failed
    assert wrong not in caplog.text and OTHER_SECRET not in caplog.text


def test_wrong_codes_count_toward_the_sign_in_throttle(client, people):
    password_step(client, "guarded")
    for _ in range(5):
        assert client.post("/login/verify", data={"code": "000001"}).status_code == 200
    # The account is throttled: even the right code is not looked at, and the password step is refused too.
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET)})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert not signed_in(client)
    assert password_step(client, "guarded").status_code == 429
    assert reload(people["guarded"]).totp_last_step is None


def test_a_code_is_never_accepted_twice(client, app, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    password_step(client, "guarded")
    code = totp_code(OTHER_SECRET)
    assert client.post("/login/verify", data={"code": code}).status_code == 302
    other = app.test_client()
    password_step(other, "guarded")
    response = other.post("/login/verify", data={"code": code})
    assert response.status_code == 200 and mfa.WRONG_CODE in response.get_data(as_text=True)
    assert not signed_in(other)
    [reused] = events(caplog, "mfa_failed")
    assert "reason='reused'" in reused and code not in caplog.text
    # Nor an earlier step's code (within the window) once a later one was used.
    assert other.post("/login/verify", data={"code": totp_code(OTHER_SECRET, steps=-1)}).status_code == 200
    assert other.post("/login/verify", data={"code": totp_code(OTHER_SECRET, steps=1)}).status_code == 302


def test_the_holder_is_told_once_when_a_used_code_is_given_again(client, app, people, session):
    """ASVS 2.8.5: a reused code is refused, logged and its holder told (a notice, and a mail when they
    have an address), once per time step however often it is tried."""
    people["guarded"].email = "guarded@example.org"
    session.commit()
    password_step(client, "guarded")
    code = totp_code(OTHER_SECRET)
    assert client.post("/login/verify", data={"code": code}).status_code == 302
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    for _ in range(2):
        other = app.test_client()
        password_step(other, "guarded")
        assert other.post("/login/verify", data={"code": code}).status_code == 200
    notices = session.scalars(select(Notice).where(Notice.user_id == people["guarded"].id)).all()
    assert [n.kind for n in notices] == [NoticeKind.MFA_CODE_REUSED]
    assert "已经用过的动态验证码" in notices[0].body and code not in notices[0].body
    mails = session.scalars(select(Outbox).where(Outbox.kind == NoticeKind.MFA_CODE_REUSED)).all()
    assert [m.to_addr for m in mails] == ["guarded@example.org"] and code not in mails[0].body_text
    # A wrong code (not a reused one) tells nobody.
    stranger = app.test_client()
    password_step(stranger, "guarded")
    stranger.post("/login/verify", data={"code": "000000" if code != "000000" else "111111"})
    assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_a_reused_code_through_the_api_tells_the_holder_too(client, people, session):
    body = {"username": "guarded", "password": PASSWORD, "totp": totp_code(OTHER_SECRET)}
    assert client.post(f"{PREFIX}/auth/token", json=body).status_code == 200
    assert client.post(f"{PREFIX}/auth/token", json=body).status_code == 401
    kinds = session.scalars(select(Notice.kind).where(Notice.user_id == people["guarded"].id)).all()
    assert kinds == [NoticeKind.MFA_CODE_REUSED]


def test_seeds_are_kept_encrypted_under_a_key_outside_the_database(app, people, session):
    """ASVS 2.8.2: the column holds a Fernet token, not the seed; the model reads the seed back with
    FIELD_KEY; under another key it cannot be read at all (fails closed, never "no second factor")."""
    stored = session.execute(text("SELECT totp_secret FROM users WHERE username = 'guarded'")).scalar_one()
    assert stored.startswith("fernet:") and OTHER_SECRET not in stored
    assert Fernet(app.config["FIELD_KEY"]).decrypt(stored[len("fernet:"):].encode()).decode() == OTHER_SECRET
    assert reload(people["guarded"]).totp_secret == OTHER_SECRET
    key = app.config["FIELD_KEY"]
    app.config["FIELD_KEY"] = Fernet.generate_key().decode()
    try:
        db.session.expire_all()
        with pytest.raises(InvalidToken):
            db.session.get(User, people["guarded"].id).totp_secret  # noqa: B018
    finally:
        app.config["FIELD_KEY"] = key
        db.session.rollback()


def test_a_seed_written_before_encryption_is_still_read(people, session):
    session.execute(text("UPDATE users SET totp_secret = :s WHERE username = 'guarded'"), {"s": OTHER_SECRET})
    session.commit()
    assert reload(people["guarded"]).totp_secret == OTHER_SECRET


def test_codes_outside_the_window_are_refused(client, people):
    password_step(client, "guarded")
    for steps in (-2, 2):
        assert client.post("/login/verify", data={"code": totp_code(OTHER_SECRET, steps=steps)}).status_code == 200
    assert not signed_in(client)


def test_pending_step_expires_after_five_minutes(client, people, clock):
    password_step(client, "guarded")
    clock.now += timedelta(minutes=5)
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)


def test_verify_without_a_password_step_goes_back_to_login(client, people):
    response = client.post("/login/verify", data={"code": totp_code(OTHER_SECRET)})
    assert response.headers["Location"] == "/login"
    assert not signed_in(client)


# --- enrolment ----------------------------------------------------------------------------------

def secret_on(page: str) -> str:
    match = re.search(r'<code id="mfa-secret">([A-Z2-7]+)</code>', page)
    assert match, "no secret on the page"
    return match.group(1)


def test_enrolment_shows_a_qr_code_and_saves_after_one_code(client, people, login_as, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    login_as(people["staff"])
    page = client.get("/account/mfa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = secret_on(page)
    assert client.post("/account/mfa", data={"code": "000001"}).status_code == 422
    assert reload(people["staff"]).totp_secret is None
    assert client.post("/account/mfa", data={"code": totp_code(secret)}).status_code == 302
    user = reload(people["staff"])
    assert user.totp_secret == secret and user.totp_last_step is not None
    assert len(events(caplog, "mfa_enrolled")) == 1 and secret not in caplog.text
    # From now on, signing in takes the code.
    client.post("/logout")
    assert password_step(client, "sup").headers["Location"] == "/login/verify"


def test_admin_without_second_factor_is_led_to_enrol_from_every_page(client, people, login_as):
    login_as(people["bare_admin"])
    for path in ("/", "/admin/users", "/issues/", "/password", "/account/tokens"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/mfa", path
    assert client.post("/admin/units", data={"code": "X", "name": "单位"}).headers["Location"] == "/account/mfa"
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "系统管理员必须启用双因素认证" in page
    assert client.post("/account/mfa", data={"code": totp_code(secret_on(page))}).status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_disabling_needs_password_and_code(client, people, login_as, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.post("/login", data={"username": "guarded", "password": PASSWORD})
    client.post("/login/verify", data={"code": totp_code(OTHER_SECRET, steps=-1)})
    code = totp_code(OTHER_SECRET)
    assert client.post("/account/mfa/disable", data={"password": "wrong-password", "code": code}).status_code == 422
    assert client.post("/account/mfa/disable", data={"password": PASSWORD, "code": "000001"}).status_code == 422
    assert reload(people["guarded"]).totp_secret == OTHER_SECRET
    assert client.post("/account/mfa/disable", data={"password": PASSWORD, "code": code}).status_code == 302
    assert reload(people["guarded"]).totp_secret is None
    assert len(events(caplog, "mfa_disabled")) == 1


def test_an_admin_cannot_disable_their_own(client, people, login_as):
    login_as(people["admin"])
    response = client.post("/account/mfa/disable",
                           data={"password": PASSWORD, "code": totp_code(TOTP_SECRET, steps=1)})
    assert response.status_code == 422 and "不能停用" in response.get_data(as_text=True)
    assert reload(people["admin"]).totp_secret == TOTP_SECRET


# --- the admin's reset and the command line --------------------------------------------------------

def test_admin_resets_a_second_factor_with_their_password(client, app, people, login_as, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    victim = app.test_client()
    assert login(victim, "guarded").status_code == 302 and signed_in(victim)
    login_as(people["admin"])
    url = f"/admin/users/{people['guarded'].id}/mfa/reset"
    response = client.post(url, data={"mfa-admin_password": "wrong-password"})
    assert response.status_code == 422 and reload(people["guarded"]).totp_secret == OTHER_SECRET
    assert len(events(caplog, "reauth_failed")) == 1
    assert client.post(url, data={"mfa-admin_password": PASSWORD}).status_code == 302
    assert reload(people["guarded"]).totp_secret is None
    assert not signed_in(victim)  # their sessions ended
    [reset] = events(caplog, "mfa_reset")
    assert "by='boss'" in reset and "user='guarded'" in reset


def test_non_admin_cannot_reset(client, people, login_as):
    login_as(people["staff"])
    response = client.post(f"/admin/users/{people['guarded'].id}/mfa/reset", data={"mfa-admin_password": PASSWORD})
    assert response.status_code == 403 and reload(people["guarded"]).totp_secret == OTHER_SECRET


def test_cli_reset_mfa(app, people):
    result = app.test_cli_runner().invoke(args=["users", "reset-mfa", "boss"])
    assert result.exit_code == 0, result.output
    assert reload(people["admin"]).totp_secret is None
    result = app.test_cli_runner().invoke(args=["users", "reset-mfa", "nobody"])
    assert result.exit_code != 0


# --- the API ------------------------------------------------------------------------------------

def token_call(client, username, **extra):
    return client.post(f"{PREFIX}/auth/token", json={"username": username, "password": PASSWORD, **extra})


def test_api_token_needs_the_code_of_a_user_with_a_second_factor(client, people, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    response = token_call(client, "guarded")
    assert response.status_code == 401 and response.get_json() == {"error": "需要动态验证码。"}
    response = token_call(client, "guarded", totp="000001")
    assert response.status_code == 401 and response.get_json() == {"error": mfa.WRONG_CODE}
    assert db.session.query(ApiToken).count() == 0
    code = totp_code(OTHER_SECRET)
    response = token_call(client, "guarded", totp=code)
    assert response.status_code == 200 and response.get_json()["token"]
    # The same code again is refused.
    assert token_call(client, "guarded", totp=code).status_code == 401
    assert "000001" not in caplog.text and code not in caplog.text
    assert len(events(caplog, "mfa_failed")) == 2


def test_api_wrong_codes_are_throttled(client, people):
    for _ in range(5):
        assert token_call(client, "guarded", totp="000001").status_code == 401
    response = token_call(client, "guarded", totp=totp_code(OTHER_SECRET))
    assert response.status_code == 429 and db.session.query(ApiToken).count() == 0


def test_api_refuses_an_admin_without_second_factor(client, people, session):
    response = token_call(client, "newboss")
    assert response.status_code == 403 and "双因素认证" in response.get_json()["error"]
    assert db.session.query(ApiToken).count() == 0
    # A token issued before (e.g. before the second factor was required) does nothing.
    from tracker.accounts import services as accounts
    from tracker.core import clock
    token, _row = accounts.issue_token(session, people["bare_admin"], clock.now())
    session.commit()
    assert client.get(f"{PREFIX}/units", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_without_second_factor_unchanged(client, people):
    assert token_call(client, "sup").status_code == 200


def test_second_step_and_enrolment_pages_are_not_cached(client, people, login_as):
    response = password_step(client, "guarded")
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/login/verify").headers["Cache-Control"] == "no-store"
    login_as(people["staff"])
    assert client.get("/account/mfa").headers["Cache-Control"] == "no-store"


def test_a_new_admin_replaces_the_given_password_first_then_enrols(client, people, session):
    """An admin an admin created (must change the password, no second factor yet) is not sent back and
    forth: the password page first, then enrolment."""
    people["bare_admin"].must_change_password = True
    session.commit()
    assert login(client, "newboss").status_code == 302
    assert client.get("/").headers["Location"] == "/password"
    assert client.get("/password").status_code == 200
    response = client.post("/password", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                              "confirm": "brand-new-pass-1"})
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/account/mfa"
    assert client.get("/password").headers["Location"] == "/account/mfa"
