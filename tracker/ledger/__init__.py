"""The ledger (整改台账): export of the issue list to Excel and CSV, import of Excel ledgers, and issues
from a rectification plan's text; large work runs as background tasks."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ledger pages, API and background task kinds."""
    from tracker.core.api import register
    from tracker.ledger import tasks  # noqa: F401  (registers the background task kinds)
    from tracker.ledger.api import blp as api_blp
    from tracker.ledger.views import bp

    app.register_blueprint(bp)
    register(app, api_blp)
