"""Reports: the home page (to-do, totals), the statistics page, the monthly report and the unit scorecard."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the home page, the statistics pages and their API."""
    from tracker.core.api import register
    from tracker.reports.api import blp as api_blp
    from tracker.reports.views import bp, main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(bp)
    register(app, api_blp)
