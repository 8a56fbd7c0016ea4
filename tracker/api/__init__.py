"""The JSON API under /api/v1."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from tracker.api import views  # noqa: E402,F401
from tracker.api import export_views  # noqa: E402,F401
from tracker.api import plan_views  # noqa: E402,F401
from tracker.api import stats_views  # noqa: E402,F401
from tracker.api import ledger_views  # noqa: E402,F401
from tracker.api import job_views  # noqa: E402,F401
