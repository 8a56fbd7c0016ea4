"""Home page views."""
from flask import current_app, render_template
from flask_login import current_user, login_required

from .. import clock, workflow
from ..extensions import db
from ..services import dashboard, notify_views
from . import bp


@bp.route("/")
@login_required
def home():
    """The home page: the user's to-do, leaders' escalations and, per round, the totals in their scope."""
    today = clock.today()
    config = current_app.config
    return render_template(
        "main/home.html",
        today=today,
        todo=dashboard.todo(db.session, current_user, today, config),
        rounds=dashboard.round_stats(db.session, current_user, today, config),
        board=notify_views.leader_board(db.session, current_user),
        due_soon_days=config.get("DUE_SOON_DAYS", 7),
        states=workflow.STATES,
    )
