"""Feedback issues (反馈问题): registering and editing them, progress reports, evidence, the
verify-and-close workflow, the list and the issue page, and what every page counts of them."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the issue pages and API."""
    from tracker.core.api import register
    from tracker.issues.api import blp as api_blp
    from tracker.issues.views import bp, extensions_bp

    app.register_blueprint(bp)
    app.register_blueprint(extensions_bp)
    register(app, api_blp)
