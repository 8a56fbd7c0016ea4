"""API statistics: GET /api/v1/stats?round_id= -> per-round and per-unit figures in the caller's scope;
GET /api/v1/stats/scorecard?round_id= -> the unit scorecard; GET /api/v1/reports/monthly?month= -> the
monthly summary report; GET /api/v1/todo -> the caller's to-do list (as the home page shows it). The
services give each report's JSON form; the schemas describe it."""
from __future__ import annotations

from typing import Any

from flask import current_app

from tracker.core import clock
from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.extensions import db
from tracker.reports import monthly as monthly_report
from tracker.reports import scorecard, stats, todo
from tracker.reports.schemas import (
    MonthlyQuerySchema,
    MonthlyReportSchema,
    ScorecardSchema,
    StatsQuerySchema,
    StatsSchema,
    TodoSchema,
    parse_round_id,  # noqa: F401  (the statistics pages import it from here)
)

blp = ApiBlueprint("reports_api", __name__, tag="stats", description="统计、单位考评与月度报告")

SCORECARD_DESCRIPTION = ("得分 = max(0, 基础分 − Σ 次数 × 每次扣分);按得分从高到低排名,得分相同排名相同。"
                         "单位用户只得到本单位牵头问题的得分,不排名(rank 为 null)。")


@blp.get("/stats")
@blp.operation("getStats", "统计:按督察轮次和牵头单位汇总调用者可见的问题", errors=(400, 401))
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, StatsSchema, description="统计结果")
def get_stats(args: dict[str, Any]) -> dict[str, Any]:
    """Per round and per lead unit figures over the issues the caller may see, optionally of one round."""
    round_id = args.get("round_id")
    user, today = current_api_user(), clock.today()
    rounds = stats.round_stats(db.session, user, today, current_app.config, round_id)
    units = stats.unit_stats(db.session, user, today, current_app.config, round_id)
    closures = monthly_report.closures_by_month(db.session, user, today, current_app.config, round_id)
    return {"rounds": [r.as_json() for r in rounds], "units": [u.as_json() for u in units],
            "closures_by_month": [c.as_json() for c in closures]}


@blp.get("/reports/monthly")
@blp.operation("getMonthlyReport", "月度整改进展情况:调用者可见问题的月度汇总", errors=(400, 401))
@blp.arguments(MonthlyQuerySchema, location="query")
@blp.response(200, MonthlyReportSchema, description="月度报告")
def get_monthly_report(args: dict[str, Any]) -> dict[str, Any]:
    """The monthly summary report of ?month=YYYY-MM (default: last month) over the issues the caller may see."""
    user, today = current_api_user(), clock.today()
    start = monthly_report.parse_month(args.get("month"), today)
    report = monthly_report.monthly_report(db.session, user, start, today, current_app.config)
    return report.as_json()


@blp.get("/stats/scorecard")
@blp.operation("getScorecard", "单位考评:各牵头单位的逾期、未按时报送、督办等扣分和得分排名",
               description=SCORECARD_DESCRIPTION, errors=(400, 401))
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, ScorecardSchema, description="单位考评")
def get_scorecard(args: dict[str, Any]) -> dict[str, Any]:
    """The unit scorecard (单位考评) over the issues the caller may see, optionally of one round: the rules
    and the lead units ranked by score (a unit user gets its own unit, unranked)."""
    card = scorecard.scorecard(db.session, current_api_user(), clock.today(), current_app.config,
                               args.get("round_id"))
    return card.as_json()


@blp.get("/todo")
@blp.operation("getTodo", "我的待办:调用者要处理的事项,各有数量和列出这些问题的页面地址", errors=(401,))
@blp.response(200, TodoSchema, description="待办事项")
def get_todo() -> dict[str, Any]:
    """The caller's to-do list: per item its kind, label, count and the list (page) holding exactly those rows."""
    items = todo.todo_items(db.session, current_api_user(), clock.today(), current_app.config)
    return {"items": [item.as_json() for item in items]}
