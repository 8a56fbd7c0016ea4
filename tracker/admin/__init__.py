"""Administration pages (系统管理): units as a tree, users, rounds, the reminder and escalation
settings, the scorecard rules and the mail log. They compose the domains' own services."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the admin pages."""
    from tracker.admin import mail_views, scorecard_views, settings_views  # noqa: F401  (routes on bp)
    from tracker.admin.views import bp

    app.register_blueprint(bp)
