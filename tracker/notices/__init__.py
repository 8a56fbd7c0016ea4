"""In-app notices (站内通知): the user's list, marking read, digest preferences, and the header badge."""
from flask import Blueprint

bp = Blueprint("notices", __name__, url_prefix="/notices")

from tracker.notices import views  # noqa: E402,F401
