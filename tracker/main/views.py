"""Home page views."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.route("/")
@login_required
def home():
    """The home page."""
    return render_template("main/home.html")
