"""The JSON API under /api/v1."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import views  # noqa: E402,F401
from . import export_views  # noqa: E402,F401
from . import plan_views  # noqa: E402,F401
from . import stats_views  # noqa: E402,F401
from . import ledger_views  # noqa: E402,F401
from . import job_views  # noqa: E402,F401
