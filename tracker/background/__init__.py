"""Background jobs (后台任务): long ledger exports and imports, their progress pages and downloads."""
from flask import Blueprint

bp = Blueprint("background", __name__, url_prefix="/jobs")

from tracker.background import views  # noqa: E402,F401
