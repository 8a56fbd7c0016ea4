"""Views of sign-in, sign-out, password change and one's own API tokens."""
from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from tracker.accounts import mfa, mfa_views, signin
from tracker.accounts import services as accounts
from tracker.accounts.forms import EndSessionsForm, LoginForm, LogoutForm, PasswordForm, RevokeForm
from tracker.accounts.sessions import SID
from tracker.core import clock
from tracker.core.extensions import db
from tracker.core.security_log import security_event
from tracker.core.web import attempt

bp = Blueprint("auth", __name__)

log = logging.getLogger("tracker.auth")


def _safe_next(target: str | None) -> str:
    # Browsers read "\" as "/" and drop tabs and newlines, so "/\evil" or "/\t/evil" would
    # leave the site: refuse backslashes and control characters outright.
    if (target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc
            and "\\" not in target and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = signin.sign_in(db.session, form.username.data, form.password.data, request.remote_addr, "page")
        if result.wait:
            # Throttled: the form again, saying how long to wait (the right password is refused too).
            return (render_template("auth/login.html", form=form, throttled=result.message), 429,
                    {"Retry-After": str(result.wait)})
        if result.user is None:
            log.warning("refused login for %r from %s", form.username.data, request.remote_addr)
            flash(result.message, "danger")
        elif mfa.enrolled(result.user):
            # Not signed in yet: the code of the second factor first.
            return mfa_views.start_pending(result.user, _safe_next(request.args.get("next")))
        else:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and end every session of this user."""
    form = LogoutForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.login"))
    username = current_user.username
    accounts.end_sessions(current_user)
    db.session.commit()
    logout_user()
    security_event("logout", user=username)
    # Tell the browser to drop what it kept of this site too (ASVS 8.2.3): pages in its cache,
    # cookies and storage. Browsers drop this response's own cookie with them, so the goodbye
    # travels in the address (the sign-in page says it) rather than as a flashed message.
    response = redirect(url_for("auth.login", logged_out=1))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password."""
    form = PasswordForm()
    if form.is_submitted():
        outcome = attempt(lambda: accounts.change_password(db.session, current_user, form.current.data,
                                                           form.new.data, now=clock.now(),
                                                           ip=request.remote_addr),
                          form=form, done="密码已修改,其他设备上的登录已失效。")
        if outcome.done:
            login_user(current_user._get_current_object())  # keep this session; the others have ended
            return redirect(url_for("main.home"))
    # The form again, with the reason beside the field it concerns (answered 200, as it always was).
    return render_template("auth/password.html", form=form)


@bp.route("/account/sessions")
@login_required
def sessions_page():
    """Where one is signed in (this browser marked), with a form to end one or every other session."""
    rows = accounts.live_sessions(db.session, current_user, clock.now(), current_app.config["SESSION_MAX_HOURS"])
    return render_template("auth/sessions.html", rows=rows, form=EndSessionsForm(),
                           current_hash=_current_sid_hash())


def _current_sid_hash() -> Optional[str]:
    sid = session.get(SID)
    return accounts.sid_hash(sid) if isinstance(sid, str) else None


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of one's sessions (password again); someone else's is the 404 page."""
    form = EndSessionsForm()
    outcome = attempt(lambda: accounts.end_user_sessions(db.session, current_user, form.password.data,
                                                         clock.now(), session_id=session_id),
                      form=form, done="已结束该登录。", fields={"admin_password": "password"})
    if outcome.status == 404:
        get_flashed_messages()  # the error page says it; no stale message on the next page
        abort(404)
    if not outcome.done:
        return _sessions_again(form, outcome.status)
    return redirect(url_for("auth.sessions_page"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """End every session but this browser's (password again)."""
    form = EndSessionsForm()
    outcome = attempt(lambda: accounts.end_user_sessions(db.session, current_user, form.password.data,
                                                         clock.now(), keep_sid=session.get(SID)),
                      form=form, done=lambda count: f"已结束其他 {count} 处登录。",
                      fields={"admin_password": "password"})
    if not outcome.done:
        return _sessions_again(form, outcome.status)
    return redirect(url_for("auth.sessions_page"))


def _sessions_again(form: EndSessionsForm, status: int):
    rows = accounts.live_sessions(db.session, current_user, clock.now(), current_app.config["SESSION_MAX_HOURS"])
    return render_template("auth/sessions.html", rows=rows, form=form, current_hash=_current_sid_hash()), status


@bp.route("/account/tokens")
@login_required
def tokens():
    """One's own live API tokens, each with a button to revoke it, and one to revoke them all."""
    rows = accounts.list_tokens(db.session, current_user, clock.now())
    return render_template("auth/tokens.html", tokens=rows, form=RevokeForm())


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of one's own tokens; someone else's (or a dead one) is the 404 page, as for notices."""
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("页面已过期,请刷新后重试。", "danger")
        return redirect(url_for("auth.tokens"))
    # not_found propagates: the error page (404) undoes and logs it.
    accounts.revoke_user_token(db.session, current_user, current_user, token_id, clock.now())
    db.session.commit()
    flash("已撤销该访问令牌。", "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/account/tokens/revoke-all", methods=["POST"])
@login_required
def revoke_all_tokens():
    """Revoke every one of one's own tokens."""
    attempt(lambda: accounts.revoke_own_tokens(db.session, current_user, current_user, clock.now()),
            form=RevokeForm(), done=lambda count: f"已撤销全部 {count} 个访问令牌。")
    return redirect(url_for("auth.tokens"))
