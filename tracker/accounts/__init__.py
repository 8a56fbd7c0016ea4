"""Accounts: who signs in (users, roles, passwords, sessions) and the API's bearer tokens."""
from __future__ import annotations

from typing import Any, Optional

from flask import Flask

from tracker.core.extensions import db, login_manager


def init_app(app: Flask) -> None:
    """Wire Flask-Login (the user loader checks the session version), the sessions' timeouts, the second
    factor's enrolment rule, the pages, the API and the CLI."""
    from tracker.accounts import mfa_views, sessions
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
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return user

    @app.context_processor
    def logout_form() -> dict[str, Any]:
        return {"logout_form": LogoutForm}

    sessions.init_app(app)
    app.before_request(mfa_views.enforce_enrolment)  # after the session checks: on a live session only
    app.register_blueprint(bp)
    app.register_blueprint(mfa_views.bp)
    register_api(app, api_blp)
    app.cli.add_command(users)
