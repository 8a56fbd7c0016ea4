"""Pages of the second factor (tracker.accounts.mfa): the second step of signing in (/login/verify),
enrolment and disabling (/account/mfa), and the rule that an admin without a second factor may do
nothing but enrol (`enforce_enrolment`, before every page request).

Between the right password and the right code nobody is signed in: the session holds only the pending
user's id and session version, the time the password was accepted and where to go next
(`PENDING`), for PENDING_MINUTES. Wrong codes count toward the same per-account throttle as wrong
passwords (tracker.accounts.signin), and while it holds the code is not even looked at.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Optional

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from tracker.accounts import mfa, signin
from tracker.accounts.forms import CodeForm, DisableMfaForm
from tracker.accounts.models import User
from tracker.core import clock
from tracker.core.extensions import db
from tracker.core.security_log import security_event
from tracker.core.web import attempt, login_required

bp = Blueprint("mfa", __name__)

PENDING = "_mfa_pending"
ENROLLING = "_mfa_enrolling"
PENDING_MINUTES = 5
# What an admin without a second factor may still reach: enrolment, signing out, the static files
# (and the password page while an admin-set password is to be replaced first: see enforce_enrolment).
OPEN_TO_UNENROLLED = {"mfa.enrol", "auth.logout", "static"}


def start_pending(user: User, next_url: str) -> Response:
    """After the right password of a user with a second factor: remember them (not signed in) and
    ask for the code. `next_url` is already checked to be local."""
    session[PENDING] = {"user": user.id, "version": user.session_version,
                        "at": clock.now().isoformat(timespec="seconds"), "next": next_url}
    return _no_store(redirect(url_for("mfa.verify")))


@bp.after_request
def _no_store(response: Response) -> Response:
    # A half-signed-in step and the enrolment page (with its secret): never kept by a browser or proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _pending_user(now: datetime) -> Optional[User]:
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.fromisoformat(pending["at"])
        user = db.session.get(User, int(pending["user"]))
    except (KeyError, TypeError, ValueError):
        return None
    if (user is None or not user.active or user.session_version != pending.get("version")
            or not mfa.enrolled(user) or not timedelta(0) <= now - started < timedelta(minutes=PENDING_MINUTES)):
        return None
    return user


@bp.route("/login/verify", methods=["GET", "POST"])
def verify():
    """The second step of signing in: the code of the authenticator app."""
    now = clock.now()
    user = _pending_user(now)
    if user is None:
        session.pop(PENDING, None)
        flash("请先输入用户名和密码(验证步骤已超时或无效)。", "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        ip = request.remote_addr
        wait = signin.login_wait(user.username, ip)
        if wait:
            security_event("login_throttled", level=logging.WARNING, username=user.username, ip=ip, via="page",
                           wait=wait, step="mfa")
            message = signin.throttled_message(wait)
            return (render_template("auth/verify.html", form=form, throttled=message), 429,
                    {"Retry-After": str(wait)})
        if mfa.check_code(user, form.code.data, now):
            target = str(session.pop(PENDING).get("next") or url_for("main.home"))
            db.session.commit()  # the step used, so that the code cannot be used again
            login_user(user)
            security_event("mfa_ok", user=user.username, ip=ip, via="page")
            return redirect(target)
        reason = mfa.failure_reason(user, form.code.data, now)
        db.session.rollback()
        signin.count_failure(user.username, ip)
        if reason == "reused":
            mfa.report_reuse(db.session, user, now, ip)
            db.session.commit()
        security_event("mfa_failed", level=logging.WARNING, user=user.username, ip=ip, via="page", reason=reason)
        form.code.errors = [mfa.WRONG_CODE]
        return render_template("auth/verify.html", form=form), 200
    return render_template("auth/verify.html", form=form)


def _enrolment_page(form: CodeForm, status: int = 200) -> Any:
    secret = session.get(ENROLLING)
    if not isinstance(secret, str):
        secret = session[ENROLLING] = mfa.new_secret()
    uri = mfa.provisioning_uri(current_user.username, secret)
    return render_template("auth/mfa.html", form=form, secret=secret, qr=mfa.qr_data_uri(uri),
                           disable_form=DisableMfaForm(formdata=None), required=mfa.required(current_user)), status


@bp.route("/account/mfa", methods=["GET", "POST"])
@login_required
def enrol():
    """Enrol a second factor (a fresh secret as QR code and text, confirmed with one code), or, when
    enrolled, the form to turn it off."""
    if mfa.enrolled(current_user):
        return render_template("auth/mfa.html", form=None, disable_form=DisableMfaForm(),
                               required=mfa.required(current_user))
    form = CodeForm()
    if request.method == "POST":
        outcome = attempt(lambda: mfa.enrol(db.session, current_user, session.get(ENROLLING), form.code.data,
                                            clock.now()),
                          form=form, done="已启用双因素认证。以后登录时,输入密码后还需输入验证器上的动态验证码。")
        if outcome.done:
            session.pop(ENROLLING, None)
            return redirect(url_for("main.home"))
        return _enrolment_page(form, outcome.status)
    # A fresh secret every time the page is opened, not one left in the session from earlier.
    session.pop(ENROLLING, None)
    return _enrolment_page(form)


@bp.route("/account/mfa/disable", methods=["POST"])
@login_required
def disable():
    """Turn one's own second factor off (current password and a code); admins may not."""
    form = DisableMfaForm()
    outcome = attempt(lambda: mfa.disable(db.session, current_user, form.password.data, form.code.data,
                                          clock.now()),
                      form=form, done="已停用双因素认证。")
    if outcome.done:
        return redirect(url_for("auth.change_password"))
    return render_template("auth/mfa.html", form=None, disable_form=form,
                           required=mfa.required(current_user)), outcome.status


def enforce_enrolment() -> Optional[Response]:
    """`before_request`: an admin signed in without a second factor is sent to enrolment from every
    page but enrolment and signing out (ASVS 4.3.1); the API refuses their tokens (accounts.api)."""
    if request.path.startswith("/api/") or request.endpoint in OPEN_TO_UNENROLLED:
        return None
    if request.endpoint == "auth.change_password" and getattr(current_user, "must_change_password", False):
        return None  # the password first (tracker.accounts.must_change), else the two would send to each other
    if current_user.is_authenticated and mfa.needs_enrolment(current_user):
        flash("系统管理员必须先启用双因素认证,才能继续使用系统。", "warning")
        return redirect(url_for("mfa.enrol"))
    return None
