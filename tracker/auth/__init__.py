"""Sign in, sign out and change password."""
from __future__ import annotations

from flask import Blueprint, Flask

from tracker.extensions import db, login_manager
from tracker.models import User

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Wire Flask-Login: the user loader checks the session version."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(identity: str):
        try:
            user_id, version = (int(part) for part in identity.split(":", 1))
        except (ValueError, AttributeError):
            return None
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return user


from tracker.auth import views  # noqa: E402,F401
