"""API statistics: GET /api/v1/stats?round_id= -> per-round and per-unit figures in the caller's scope;
GET /api/v1/reports/monthly?month= -> the monthly summary report."""
from __future__ import annotations

from flask import current_app, jsonify, request

from tracker.core import clock
from tracker.core.api import bp, current_api_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.reports import monthly as monthly_report
from tracker.reports import scorecard, stats


def parse_round_id(raw: str | None) -> int | None:
    """The optional round filter of a stats request; Refusal("bad_request") when it is not a known round."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        round_id = int(raw)
    except ValueError:
        raise Refusal("bad_request", "参数 round_id 应为整数。", "round_id") from None
    if round_id < 1 or not stats.round_exists(db.session, round_id):
        raise Refusal("bad_request", f"督察轮次 {raw} 不存在。", "round_id")
    return round_id


@bp.get("/stats")
def get_stats():
    """Per round and per lead unit figures over the issues the caller may see, optionally of one round."""
    round_id = parse_round_id(request.args.get("round_id"))
    user, today = current_api_user(), clock.today()
    rounds = stats.round_stats(db.session, user, today, current_app.config, round_id)
    units = stats.unit_stats(db.session, user, today, current_app.config, round_id)
    closures = monthly_report.closures_by_month(db.session, user, today, current_app.config, round_id)
    return jsonify(rounds=[r.as_json() for r in rounds], units=[u.as_json() for u in units],
                   closures_by_month=[c.as_json() for c in closures])


@bp.get("/reports/monthly")
def get_monthly_report():
    """The monthly summary report of ?month=YYYY-MM (default: last month) over the issues the caller may see."""
    user, today = current_api_user(), clock.today()
    start = monthly_report.parse_month(request.args.get("month"), today)
    report = monthly_report.monthly_report(db.session, user, start, today, current_app.config)
    return jsonify(report.as_json())


@bp.get("/stats/scorecard")
def get_scorecard():
    """The unit scorecard (单位考评) over the issues the caller may see, optionally of one round: the rules
    and the lead units ranked by score (a unit user gets its own unit, unranked)."""
    round_id = parse_round_id(request.args.get("round_id"))
    user, today = current_api_user(), clock.today()
    card = scorecard.scorecard(db.session, user, today, current_app.config, round_id)
    return jsonify(card.as_json())
