"""Statistics page views: read-only, scoped like every list."""
from __future__ import annotations

import json

from flask import current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock, workflow
from ..api.stats_views import parse_round_id
from ..extensions import db
from ..models import Round
from ..services import stats
from . import bp


@bp.route("/")
@login_required
def index():
    """Per round and per lead unit figures; ?round_id= narrows to a round, ?sort=overdue ranks units."""
    round_id = parse_round_id(request.args.get("round_id"))
    order = request.args.get("sort", "unit")
    if order not in stats.UNIT_ORDERS:
        order = "unit"
    today, config = clock.today(), current_app.config
    rounds = stats.round_stats(db.session, current_user, today, config, round_id)
    units = stats.unit_stats(db.session, current_user, today, config, round_id, order)
    chart_data = {
        "states": [workflow.STATE_LABELS[s] for s in workflow.STATES],
        "rounds": [{"name": r.round.name, "by_state": [r.totals.by_state.get(s, 0) for s in workflow.STATES]}
                   for r in rounds],
        "units": [{"name": u.name, "overdue": u.overdue} for u in units if u.overdue],
    }
    return render_template(
        "stats/index.html",
        today=today,
        rounds=rounds,
        units=units,
        round_id=round_id,
        order=order,
        all_rounds=db.session.scalars(select(Round).order_by(Round.feedback_date.desc(), Round.id.desc())).all(),
        states=workflow.STATES,
        # json.dumps escapes "<" so the data cannot close its <script> block.
        chart_json=json.dumps(chart_data, ensure_ascii=False).replace("<", "\\u003c"),
    )
