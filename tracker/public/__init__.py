"""The public disclosure page (整改公示): closed issues the office marked public, no login, and
the admin's switch that turns the page off."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public page and its switch."""
    from tracker.public.views import admin_bp, bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
