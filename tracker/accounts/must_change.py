"""Initial passwords must be changed at first use (ASVS 2.3.1).

A user whose password an admin chose (`User.must_change_password`: set when an admin adds the user
or resets the password) is led to the password page after signing in, and every other page sends
them back there until they have changed it; only the password page itself, signing out and the
static files remain open. A form posted elsewhere does nothing (it is answered by the same
redirect). The API issues no token to such a user (403, see `refusal`), so that a script cannot
take the admin's password as its own for good; the tokens they had were revoked with the reset.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Flask, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.core.security_log import security_event

# Where such a user may still go: the password page, sign-out, and what those pages load.
OPEN_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})
PAGE_MESSAGE = "您的密码由系统管理员设置,须先修改为只有您自己知道的密码,才能继续使用系统。"
API_MESSAGE = "须先在网页上修改初始密码。"


def must_change(user: Any) -> bool:
    """Whether this (signed-in) user has yet to replace an admin-set password."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "must_change_password", False))


def require_password_change() -> Optional[Response]:
    """`before_request`: send a user who must change their password to the password page, from any
    page but the open ones; the API is left to its own rule (no token is issued to them)."""
    if request.path.startswith("/api/") or request.endpoint in OPEN_ENDPOINTS:
        return None
    if not must_change(current_user):
        return None
    if request.method != "GET":
        security_event("must_change_password_refused", user=current_user.username, path=request.path)
    flash(PAGE_MESSAGE, "warning")
    return redirect(url_for("auth.change_password"))


def init_app(app: Flask) -> None:
    """Check every page request (after the session's own timeouts)."""
    app.before_request(require_password_change)
