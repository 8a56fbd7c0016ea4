"""Responsible units (责任单位): the unit tree, units by code, and matching the names plans and
ledgers use to the tracker's units."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the units API (the admin pages compose the services)."""
    from tracker.core.api import register
    from tracker.units.api import blp

    register(app, blp)
