"""The home page (my to-do, the leaders' board, the round totals) and the statistics pages
(统计分析, 月度整改进展情况, 单位考评): read-only, scoped like every list."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from tracker.core import clock, enums, labels, permissions
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import send_workbook
from tracker.escalation import services as escalation
from tracker.reports import dashboard, scorecard, stats, todo
from tracker.reports import monthly as monthly_report
from tracker.reports.api import parse_round_id
from tracker.rounds.models import Round
from tracker.rounds.services import rounds_newest_first

# The home page, and the statistics pages under /stats.
main_bp = Blueprint("main", __name__)
bp = Blueprint("stats", __name__, url_prefix="/stats")


@main_bp.route("/")
@login_required
def home():
    """The home page: the user's to-do list first (each count linking to the list of its issues), then
    their queue or unit's urgent issues, leaders' escalations and, per round, the totals in their scope."""
    today = clock.today()
    config = current_app.config
    rounds = dashboard.round_stats(db.session, current_user, today, config)
    closures, chart_data = None, None
    # Users who see many units get charts (state by round, closures by month); a unit's user has the tables.
    if permissions.can(current_user, Permission.SEE_OVERVIEW):
        closures = monthly_report.closures_by_month(db.session, current_user, today, config)
        chart_data = {
            "states": [labels.STATE_LABELS[s] for s in enums.STATES],
            "rounds": [{"name": r.round.name, "by_state": [r.by_state.get(s, 0) for s in enums.STATES]}
                       for r in rounds],
            "closures": [c.as_json() for c in closures],
        }
    queue = dashboard.todo(db.session, current_user, today, config)
    return render_template(
        "main/home.html",
        today=today,
        todo_items=todo.todo_items(db.session, current_user, today, config),
        todo=queue,
        sent_back=dashboard.sent_back(db.session, current_user),
        rounds=rounds,
        closures=closures,
        chart_data=chart_data,
        board=escalation.leader_board(db.session, current_user),
        due_soon_days=config.get("DUE_SOON_DAYS", 7),
        states=enums.STATES,
    )


def _page_round() -> tuple[Optional[int], Optional[str]]:
    """The page's ?round_id= and a note: a round that no longer exists is ignored with a note (an old
    link), as the issue list does; a malformed value is refused."""
    raw = (request.args.get("round_id") or "").strip()
    if not raw.isdigit():
        return parse_round_id(raw), None  # empty: all rounds; malformed: refused
    try:
        return parse_round_id(raw), None
    except Refusal as refusal:
        return None, f"{refusal.message}已显示全部轮次。"


@bp.route("/")
@login_required
def index():
    """Per round and per lead unit figures; ?round_id= narrows to a round, ?sort=overdue ranks units."""
    round_id, round_note = _page_round()
    order = request.args.get("sort", "unit")
    if order not in stats.UNIT_ORDERS:
        order = "unit"
    today, config = clock.today(), current_app.config
    rounds = stats.round_stats(db.session, current_user, today, config, round_id)
    units = stats.unit_stats(db.session, current_user, today, config, round_id, order)
    closures = monthly_report.closures_by_month(db.session, current_user, today, config, round_id)
    chart_data = {
        "states": [labels.STATE_LABELS[s] for s in enums.STATES],
        "rounds": [{"name": r.round.name, "by_state": [r.totals.by_state.get(s, 0) for s in enums.STATES]}
                   for r in rounds],
        "units": [{"name": u.name, "overdue": u.overdue} for u in units if u.overdue],
        "closures": [c.as_json() for c in closures],
    }
    return render_template(
        "stats/index.html",
        today=today,
        rounds=rounds,
        units=units,
        closures=closures,
        round_id=round_id,
        round_note=round_note,
        order=order,
        all_rounds=rounds_newest_first(db.session),
        states=enums.STATES,
        chart_data=chart_data,
    )


@bp.route("/monthly")
@login_required
def monthly():
    """The monthly summary report (月度整改进展情况) of ?month=YYYY-MM (default: last month), print-ready."""
    today = clock.today()
    start = monthly_report.parse_month(request.args.get("month"), today)
    report = monthly_report.monthly_report(db.session, current_user, start, today, current_app.config)
    return render_template("stats/monthly.html", report=report, states=enums.STATES)


@bp.route("/monthly.xlsx")
@login_required
def monthly_xlsx():
    """The same report as an Excel workbook, downloaded as an attachment."""
    today = clock.today()
    start = monthly_report.parse_month(request.args.get("month"), today)
    return send_workbook(
        lambda spool: monthly_report.write_xlsx(db.session, current_user, start, today, current_app.config, spool),
        monthly_report.xlsx_filename(start), f"monthly-report-{start:%Y-%m}.xlsx")


def _scorecard_title(round_id: int | None, today) -> str:
    """The scorecard's heading for the workbook: the round (if narrowed) and the date."""
    round_ = db.session.get(Round, round_id) if round_id is not None else None
    return f"单位考评{f'({round_.name})' if round_ else ''} 统计日期 {today:%Y-%m-%d}"


@bp.route("/scorecard")
@login_required
def scorecard_page():
    """The unit scorecard (单位考评): figures, deductions and scores, ranked; ?round_id= narrows to a round."""
    round_id, round_note = _page_round()
    today = clock.today()
    card = scorecard.scorecard(db.session, current_user, today, current_app.config, round_id)
    chart_data = {"scores": [{"name": u.figures.name, "score": float(u.score)} for u in card.units]}
    return render_template(
        "stats/scorecard.html",
        today=today,
        card=card,
        round_id=round_id,
        round_note=round_note,
        deductions=scorecard.DEDUCTION_LABELS,
        number=scorecard.format_number,
        all_rounds=rounds_newest_first(db.session),
        chart_data=chart_data,
    )


@bp.route("/scorecard.xlsx")
@login_required
def scorecard_xlsx():
    """The same scorecard as an Excel workbook, downloaded as an attachment."""
    round_id = parse_round_id(request.args.get("round_id"))
    today = clock.today()
    card = scorecard.scorecard(db.session, current_user, today, current_app.config, round_id)
    return send_workbook(lambda spool: scorecard.write_xlsx(card, _scorecard_title(round_id, today), spool),
                         f"单位考评-{today:%Y-%m-%d}.xlsx", f"scorecard-{today:%Y-%m-%d}.xlsx")
