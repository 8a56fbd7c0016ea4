"""Admin pages: units (as a tree), users and rounds."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401
from . import mail_views, settings_views  # noqa: E402,F401
from . import scorecard_views  # noqa: E402,F401
