"""Admin views."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.route("/units")
@login_required
def units():
    """Units."""
    return render_template("main/home.html")


@bp.route("/users")
@login_required
def users():
    """Users."""
    return render_template("main/home.html")


@bp.route("/rounds")
@login_required
def rounds():
    """Rounds."""
    return render_template("main/home.html")
