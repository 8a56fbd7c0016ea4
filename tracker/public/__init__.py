"""The public disclosure page (整改公示): closed issues the office marked public, no login.

Two blueprints: `bp` (/public, open to everyone) and `admin_bp` (/admin/public, the
admin's switch that turns the page off).
"""
from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")
admin_bp = Blueprint("public_admin", __name__, url_prefix="/admin/public")

from tracker.public import views  # noqa: E402,F401
