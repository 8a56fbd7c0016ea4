"""Issue pages: the list, the issue file (一问题一档案) and its forms."""
from flask import Blueprint

bp = Blueprint("issues", __name__, url_prefix="/issues")

from tracker.issues import views  # noqa: E402,F401
from tracker.issues import export_views  # noqa: E402,F401
from tracker.issues import import_views  # noqa: E402,F401
from tracker.issues import plan_views  # noqa: E402,F401
from tracker.issues import public_views  # noqa: E402,F401
