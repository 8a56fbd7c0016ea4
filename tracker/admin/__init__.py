"""Admin pages: units (as a tree), users and rounds."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from tracker.admin import views  # noqa: E402,F401
from tracker.admin import mail_views, settings_views  # noqa: E402,F401
from tracker.admin import scorecard_views  # noqa: E402,F401
