"""Issue views."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.route("/")
@login_required
def index():
    """The issue list."""
    return render_template("issues/list.html")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Register an issue."""
    return render_template("issues/list.html")
