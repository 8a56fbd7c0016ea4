"""Inspection rounds (督察轮次): who inspected, when, at which level, and the plan's document number."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the rounds API (the admin pages compose the services)."""
    from tracker.core.api import register
    from tracker.rounds.api import blp

    register(app, blp)
