"""The statistics page (统计分析): per-round and per-unit figures for everyone signed in."""
from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")

from tracker.stats import views  # noqa: E402,F401
