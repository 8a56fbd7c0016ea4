"""Issue pages: the list, the issue file (一问题一档案) and its forms."""
from flask import Blueprint

bp = Blueprint("issues", __name__, url_prefix="/issues")

from . import views  # noqa: E402,F401
from . import export_views  # noqa: E402,F401
from . import import_views  # noqa: E402,F401
from . import plan_views  # noqa: E402,F401
from . import public_views  # noqa: E402,F401
