"""Views of sign-in, sign-out and password change."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.accounts import services as accounts
from tracker.accounts import signin
from tracker.accounts.forms import LoginForm, LogoutForm, PasswordForm
from tracker.core.extensions import db
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
        else:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and end every session of this user."""
    form = LogoutForm()
    if form.validate_on_submit():
        accounts.end_sessions(current_user)
        db.session.commit()
        logout_user()
        flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password."""
    form = PasswordForm()
    if form.is_submitted():
        outcome = attempt(lambda: accounts.change_password(db.session, current_user, form.current.data,
                                                           form.new.data),
                          form=form, done="密码已修改,其他设备上的登录已失效。")
        if outcome.done:
            login_user(current_user._get_current_object())  # keep this session; the others have ended
            return redirect(url_for("main.home"))
    # The form again, with the reason beside the field it concerns (answered 200, as it always was).
    return render_template("auth/password.html", form=form)
