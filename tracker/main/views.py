"""Home page views."""

from flask import current_app, render_template
from flask_login import current_user, login_required

from tracker import clock, workflow
from tracker.extensions import db
from tracker.models import UNIT_ROLES
from tracker.services import dashboard, monthly_report, notify_views
from tracker.main import bp


@bp.route("/")
@login_required
def home():
    """The home page: the user's to-do, leaders' escalations and, per round, the totals in their scope."""
    today = clock.today()
    config = current_app.config
    rounds = dashboard.round_stats(db.session, current_user, today, config)
    closures, chart_data = None, None
    # Users who see many units get charts (state by round, closures by month); a unit's user has the tables.
    if current_user.role not in UNIT_ROLES:
        closures = monthly_report.closures_by_month(db.session, current_user, today, config)
        chart_data = {
            "states": [workflow.STATE_LABELS[s] for s in workflow.STATES],
            "rounds": [{"name": r.round.name, "by_state": [r.by_state.get(s, 0) for s in workflow.STATES]}
                       for r in rounds],
            "closures": [c.as_json() for c in closures],
        }
    return render_template(
        "main/home.html",
        today=today,
        todo=dashboard.todo(db.session, current_user, today, config),
        rounds=rounds,
        closures=closures,
        chart_data=chart_data,
        board=notify_views.leader_board(db.session, current_user),
        due_soon_days=config.get("DUE_SOON_DAYS", 7),
        states=workflow.STATES,
    )
