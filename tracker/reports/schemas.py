"""The reports API's schemas: the statistics, the unit scorecard and the monthly report.

The reports' services give their JSON form (`as_json`, also read by the pages and the tests);
these schemas describe it for the document and are what the API answers through.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from marshmallow import ValidationError, fields

from tracker.core.bounds import DB_INT_MAX, signed_number
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.schemas import DATE_META, Figure, Inline, Query, Reply, TextArg
from tracker.reports import stats

DATE = {"format": "date", **DATE_META}


# --- queries -------------------------------------------------------------------

def parse_round_id(raw: Optional[str]) -> Optional[int]:
    """The optional round filter of the statistics (pages and API); Refusal("bad_request") when it
    is not a known round."""
    raw = (raw or "").strip()
    if not raw:
        return None
    round_id = signed_number(raw)
    if round_id is None:
        raise Refusal("bad_request", "参数 round_id 应为整数。", "round_id")
    if not 1 <= round_id <= DB_INT_MAX or not stats.round_exists(db.session, round_id):
        raise Refusal("bad_request", f"督察轮次 {raw} 不存在。", "round_id")
    return round_id


class RoundArg(fields.Integer):
    """The round filter in a query string, read by `parse_round_id`."""

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> int:
        try:
            round_id = parse_round_id(value)
        except Refusal as refusal:
            raise ValidationError(refusal.message) from None
        # A blank argument never reaches a field (`Query` drops it): there is always a round here.
        assert round_id is not None
        return round_id


class StatsQuerySchema(Query):
    """GET /stats and /stats/scorecard: optionally one round."""

    round_id = RoundArg(metadata={"minimum": 1, "maximum": DB_INT_MAX, "description": "督察轮次 id(缺省为全部轮次)"})


class MonthlyQuerySchema(Query):
    """GET /reports/monthly: the month (checked by the report's service)."""

    # Years from FIRST_YEAR (2000): an earlier month is refused whatever the data.
    month = TextArg(metadata={"pattern": "^2\\d{3}-(0[1-9]|1[0-2])$",
                              "description": "月份 YYYY-MM(缺省为上个月;不能晚于本月)"})


# --- shared parts --------------------------------------------------------------

class UnitRefSchema(Inline, Reply):
    """A unit as the reports name it."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class MonthCountSchema(Inline, Reply):
    """Issues closed in one month."""

    month = fields.String(required=True, metadata={"example": "2020-07"})
    closed = fields.Integer(required=True)


# --- GET /stats ----------------------------------------------------------------

class StatsRoundSchema(Inline, Reply):
    """The round a line of the statistics is about."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    kind = fields.String(required=True)
    feedback_date = fields.String(required=True, allow_none=True, metadata=DATE)


class RoundStatsSchema(Inline, Reply):
    """One round's figures over the issues in the caller's scope."""

    round = fields.Nested(StatsRoundSchema, required=True)
    total = fields.Integer(required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                              metadata={"description": "问题类别 -> {total, closed}"})
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           metadata={"description": "状态 -> 数量"})
    closed = fields.Integer(required=True, metadata={"description": "已销号"})
    basically_done = fields.Integer(required=True, metadata={"description": "基本完成"})
    in_progress = fields.Integer(required=True, metadata={"description": "整改中"})
    overdue = fields.Integer(required=True, metadata={"description": "逾期未完成"})
    supervised = fields.Integer(required=True, metadata={"description": "挂牌督办(未销号)"})
    done_on_time = fields.Integer(required=True, metadata={"description": "按期完成(按原定整改时限销号,未经延期)"})
    done_after_extension = fields.Integer(required=True, metadata={
        "description": "延期后完成(超过原定时限、在批准延期后的整改时限内销号)"})
    late = fields.Integer(required=True, metadata={"description": "逾期(超过整改时限销号,或逾期未完成)"})
    completion_rate = Figure(required=True, metadata={"description": "完成率(已销号占比,百分数)"})
    summary = fields.String(required=True, metadata={"description": "汇报用语"})


class UnitStatsSchema(Inline, Reply):
    """One lead unit's figures over the issues in the caller's scope."""

    unit = fields.Nested(UnitRefSchema, required=True)
    assigned = fields.Integer(required=True, metadata={"description": "牵头问题数"})
    closed = fields.Integer(required=True)
    closed_on_time = fields.Integer(required=True, metadata={"description": "按期销号(销号日期不晚于整改时限)"})
    overdue = fields.Integer(required=True)
    late_reports = fields.Integer(required=True, metadata={"description": "未按时报送次数"})
    escalations = fields.Integer(required=True, metadata={"description": "挂牌督办、约谈/通报次数"})
    supervised = fields.Integer(required=True, metadata={"description": "挂牌督办的问题数"})
    interviewed = fields.Integer(required=True, metadata={"description": "约谈/通报的问题数"})
    extended = fields.Integer(required=True, metadata={"description": "延期的问题数(整改时限晚于最初确定的时限)"})
    done_on_time = fields.Integer(required=True, metadata={"description": "按期完成(按原定整改时限销号,未经延期)"})
    done_after_extension = fields.Integer(required=True, metadata={
        "description": "延期后完成(超过原定时限、在批准延期后的整改时限内销号)"})
    late = fields.Integer(required=True, metadata={"description": "逾期(超过整改时限销号,或逾期未完成)"})


class StatsSchema(Inline, Reply):
    """GET /stats: per round, per lead unit, and closures per month."""

    rounds = fields.List(fields.Nested(RoundStatsSchema), required=True)
    units = fields.List(fields.Nested(UnitStatsSchema), required=True)
    closures_by_month = fields.List(fields.Nested(MonthCountSchema), required=True,
                                    metadata={"description": "近 12 个月每月销号数(含本月,按北京时间)"})


# --- GET /stats/scorecard --------------------------------------------------------

class ScoreRulesSchema(Inline, Reply):
    """The scorecard's rules (set by an admin)."""

    base = Figure(required=True, metadata={"description": "基础分"})
    overdue = Figure(required=True, metadata={"description": "每个逾期问题扣分"})
    late_report = Figure(required=True, metadata={"description": "每次未按时报送扣分"})
    supervision_order = Figure(required=True, metadata={"description": "每次挂牌督办扣分"})
    interview = Figure(required=True, metadata={"description": "每次约谈/通报扣分"})


class UnitScoreSchema(Inline, Reply):
    """One lead unit's line of the scorecard."""

    rank = fields.Integer(required=True, allow_none=True)
    unit = fields.Nested(UnitRefSchema, required=True)
    assigned = fields.Integer(required=True, metadata={"description": "牵头问题数"})
    closed = fields.Integer(required=True)
    closed_on_time = fields.Integer(required=True)
    overdue = fields.Integer(required=True, metadata={"description": "当前逾期未完成"})
    late_reports = fields.Integer(required=True, metadata={"description": "未按时报送次数"})
    supervision_orders = fields.Integer(required=True, metadata={"description": "挂牌督办次数"})
    interviews = fields.Integer(required=True, metadata={"description": "约谈/通报次数"})
    deductions = fields.Dict(keys=fields.String(), values=Figure(), required=True,
                             metadata={"description": "各项扣分"})
    score = Figure(required=True, metadata={"description": "得分"})


class ScorecardSchema(Inline, Reply):
    """GET /stats/scorecard: the rules and the units' lines, best score first."""

    rules = fields.Nested(ScoreRulesSchema, required=True, metadata={"description": "扣分规则(管理员设置)"})
    rules_text = fields.String(required=True, metadata={"description": "扣分规则说明"})
    ranked = fields.Boolean(required=True, metadata={"description": "是否排名(单位用户为 false)"})
    units = fields.List(fields.Nested(UnitScoreSchema), required=True)


# --- GET /reports/monthly ------------------------------------------------------

class RoundNameSchema(Inline, Reply):
    """A round as the monthly report names it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


class MonthFiguresSchema(Reply):
    """One round's (or, without `round`, all rounds') figures for the month."""

    round = fields.Nested(RoundNameSchema, metadata={"description": "督察轮次 {id, name};合计行没有"})
    total = fields.Integer(required=True, metadata={"description": "问题总数"})
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                              metadata={"description": "问题类别 -> 数量"})
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           metadata={"description": "状态 -> 数量(截至统计日)"})
    closed = fields.Integer(required=True, metadata={"description": "已销号"})
    closed_in_month = fields.Integer(required=True, metadata={"description": "本月销号(按北京时间的销号日期)"})
    basically_done = fields.Integer(required=True, metadata={"description": "基本完成"})
    in_progress = fields.Integer(required=True, metadata={"description": "整改中"})
    overdue = fields.Integer(required=True, metadata={"description": "月末逾期(本月为截至统计日)"})
    supervised = fields.Integer(required=True, metadata={"description": "挂牌督办(未销号)"})
    completion_rate = Figure(required=True, metadata={"description": "完成率(已销号占比,百分数)"})
    summary = fields.String(required=True, metadata={"description": "汇报用语"})


class ClosedIssueSchema(Inline, Reply):
    """An issue closed in the month."""

    issue_id = fields.Integer()
    code = fields.String()
    title = fields.String()
    lead_unit = fields.String()
    closed_on = fields.String(metadata=DATE)


class OverdueIssueSchema(Inline, Reply):
    """An issue overdue at the month's end."""

    issue_id = fields.Integer()
    code = fields.String()
    title = fields.String()
    lead_unit = fields.String()
    deadline = fields.String(metadata=DATE)
    days_overdue = fields.Integer()


class ClosedListSchema(Inline, Reply):
    """The issues closed in the month (at most `limit` listed)."""

    count = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    items = fields.List(fields.Nested(ClosedIssueSchema), required=True)


class OverdueListSchema(Inline, Reply):
    """The issues overdue at the month's end, most days overdue first (at most `limit` listed)."""

    count = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    items = fields.List(fields.Nested(OverdueIssueSchema), required=True)


class UnitReportingSchema(Inline, Reply):
    """A lead unit whose reports for the month came late or have not come."""

    unit = fields.Nested(UnitRefSchema)
    late = fields.Integer(metadata={"description": "逾期报送的问题数"})
    missing = fields.Integer(metadata={"description": "未报送的问题数"})


class ReportingSchema(Inline, Reply):
    """The month's progress reports that came late or have not come."""

    due_on = fields.String(required=True, metadata={**DATE, "description": "报送截止日"})
    checked = fields.Boolean(required=True, metadata={"description": "截止日是否已过(未过时不统计未报送)"})
    units = fields.List(fields.Nested(UnitReportingSchema), required=True)


class MonthlyReportSchema(Reply):
    """GET /reports/monthly: the month's summary report over the issues the caller may see."""

    month = fields.String(required=True, metadata={"example": "2020-06"})
    title = fields.String(required=True, metadata={"example": "2020年6月整改进展情况"})
    start = fields.String(required=True, metadata=DATE)
    end = fields.String(required=True, metadata=DATE)
    as_of = fields.String(required=True, metadata={**DATE, "description": "逾期的统计日:月末,本月为今天"})
    today = fields.String(required=True, metadata={**DATE, "description": "统计日(问题状态按这一天)"})
    rounds = fields.List(fields.Nested(MonthFiguresSchema), required=True)
    total = fields.Nested(MonthFiguresSchema, required=True)
    closed_in_month = fields.Nested(ClosedListSchema, required=True,
                                    metadata={"description": "本月销号的问题(最多列出 limit 条)"})
    overdue = fields.Nested(OverdueListSchema, required=True,
                            metadata={"description": "月末逾期的问题,按逾期天数从多到少(最多列出 limit 条)"})
    reports = fields.Nested(ReportingSchema, required=True,
                            metadata={"description": "本月进展逾期报送或未报送的牵头单位"})


# --- GET /todo -------------------------------------------------------------------

class TodoItemSchema(Reply):
    """One line of the caller's to-do list: what, how many, and the page listing exactly those."""

    kind = fields.String(required=True, metadata={
        "description": "待办类型:unreported(本月未报送进展)、returned(被退回)、progress_full(进度 100% 待提交)、"
                       "extension_decided(延期申请有结果)、awaiting(等待我审核)、extensions(待审批的延期申请)、"
                       "due_soon(即将逾期)、overdue(逾期)、supervised(挂牌督办)"})
    label = fields.String(required=True, metadata={"description": "说明(中文)", "example": "等待我审核的销号申请"})
    count = fields.Integer(required=True, metadata={"minimum": 0})
    url = fields.String(required=True, metadata={"description": "列出这些问题(或申请)的页面,站内相对地址",
                                                  "example": "/issues/?waiting=mine"})


class TodoSchema(Inline, Reply):
    """GET /todo: the caller's to-do list, in the order the home page shows it."""

    items = fields.List(fields.Nested(TodoItemSchema), required=True)
