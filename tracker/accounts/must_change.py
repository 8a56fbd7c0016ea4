"""Initial passwords must be changed at first use (ASVS 2.3.1).

A user whose password an admin chose (`User.must_change_password`: set when an admin adds the user
or resets the password) is led to the password page after signing in, and every other page sends
them back there until they have changed it; only the password page itself, signing out and the
static files remain open. A form posted elsewhere does nothing (it is answered by the same
redirect). The API issues no token to such a user (403, see `refusal`), so that a script cannot
take the admin's password as its own for good; the tokens they had were revoked with the reset.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from flask import Flask, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

from tracker.core.security_log import security_event

# Where such a user may still go: the password page, sign-out, and what those pages load.
OPEN_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})
PAGE_MESSAGE = "您的密码由系统管理员设置,须先修改为只有您自己知道的密码,才能继续使用系统。"
API_MESSAGE = "须先在网页上修改初始密码。"


def must_change(user: Any) -> bool:
    """Whether this (signed-in) user has yet to replace an admin-set password."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "must_change_password", False))


# Flask-Login's key for the signed-in identity ("<user id>:<session version>").
USER_KEY = "_user_id"


def require_password_change(load_user: Callable[[str], Any]) -> Optional[Response]:
    """`before_request`: send a user who must change their password to the password page, from any
    page but the open ones; the API is left to its own rule (no token is issued to them).

    The user comes from Flask-Login's own loader (`load_user`, which checks activity and session
    version), not from `current_user`: the row is then in the session's identity map, so the view's
    own `current_user` costs no second query, and nothing is cached in `g` ahead of the view.
    """
    if request.path.startswith("/api/") or request.endpoint in OPEN_ENDPOINTS:
        return None
    identity = session.get(USER_KEY)
    user = load_user(identity) if isinstance(identity, str) else None
    if user is None or not must_change(user):
        return None
    if request.method != "GET":
        security_event("must_change_password_refused", user=user.username, path=request.path)
    flash(PAGE_MESSAGE, "warning")
    return redirect(url_for("auth.change_password"))


def init_app(app: Flask, load_user: Callable[[str], Any]) -> None:
    """Check every page request (after the session's own timeouts) with Flask-Login's user loader."""
    app.before_request(lambda: require_password_change(load_user))
