"""Accounts: who signs in (users, roles, passwords, sessions) and the API's bearer tokens."""
from __future__ import annotations

from typing import Any, Optional

from flask import Flask, has_request_context, request
from flask import session as flask_session
from sqlalchemy import select

from tracker.core.extensions import db, login_manager

# The user the loader found for this request's cookie (see load_user).
LOADED_KEY = "tracker.loaded_user"


def init_app(app: Flask) -> None:
    """Wire Flask-Login (the user loader checks the session version and that the session was not
    ended), the sessions' timeouts, the must-change-password rule, the second factor's enrolment rule,
    the pages, the API and the CLI."""
    from tracker.accounts import mfa_views, must_change, sessions
    from tracker.accounts import services as accounts
    from tracker.accounts.api import blp as api_blp  # importing it also registers the token loader
    from tracker.accounts.cli import users
    from tracker.accounts.forms import LogoutForm
    from tracker.accounts.models import User
    from tracker.accounts.views import bp
    from tracker.core.api import register as register_api

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(identity: str) -> Optional[User]:
        try:
            user_id, version = (int(part) for part in identity.split(":", 1))
        except (ValueError, AttributeError):
            return None
        sid = flask_session.get(sessions.SID)
        # Asked twice in a request (the must-change check, then the view's current_user): answered
        # once, kept on the request itself (not in `g`, which may outlive a request).
        key = (identity, sid)
        known = request.environ.get(LOADED_KEY) if has_request_context() else None
        if known is not None and known[0] == key:
            return known[1]
        # One query: the user, if this browser's session (its id in the signed cookie) was not ended
        # by its owner on the sessions page (ASVS 3.3.4).
        user = db.session.scalar(select(User).where(User.id == user_id,
                                                    accounts.session_not_ended(user_id, sid)))
        if user is None or not user.active or user.session_version != version:
            user = None
        if has_request_context():
            request.environ[LOADED_KEY] = (key, user)
        return user

    @app.context_processor
    def logout_form() -> dict[str, Any]:
        return {"logout_form": LogoutForm}

    sessions.init_app(app)
    # After the session checks (on a live session only): first a new password, then the second factor.
    must_change.init_app(app, load_user)
    app.before_request(mfa_views.enforce_enrolment)
    app.register_blueprint(bp)
    app.register_blueprint(mfa_views.bp)
    register_api(app, api_blp)
    app.cli.add_command(users)
