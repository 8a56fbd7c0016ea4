"""The issues API's schemas: the issue list's query, a new issue, an issue (with its figures for
the day), its timeline, progress reports, evidence and workflow actions."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from marshmallow import ValidationError, fields, post_load, validates_schema
from sqlalchemy import select

from tracker.core import enums, labels, workflow
from tracker.core.bounds import NO_CONTROLS_PATTERN
from tracker.core.extensions import db
from tracker.core.schemas import (
    DATE_META,
    Body,
    BoolArg,
    ChoiceArg,
    File,
    Inline,
    Int,
    IntArg,
    Multipart,
    NamedField,
    Query,
    Reply,
    Str,
    StrList,
    TextArg,
    UtcDateTime,
    values,
)
from tracker.issues.chain import Waiting
from tracker.issues.filters import MAX_DAYS_OVERDUE
from tracker.issues.models import DeadlineChange, ExtensionRequest
from tracker.issues.queries import IssueFilters, IssueRow
from tracker.units.models import Unit

MAX_PER_PAGE = 100


DEFAULT_PER_PAGE = 20


LIGHTS = ("red", "yellow", "green")


# A yes/no filter of the list: only "1" or "true" (leave it out for no filter).
ONLY = ("1", "true")
FLAG_ARGS = ("due_soon", "lagging", "returned", "supervised", "progress_full", "unreported", "extension_decided")


# Besides the workflow states, the issue list knows "open" (not closed) and "merged".
STATE_FILTERS = (*values(enums.STATES), "open", "merged")


# --- the issue list's query ----------------------------------------------------

class UnitArg(NamedField, fields.String):
    """A unit code in the query string, read as the unit's id; 400 when no unit has it."""

    default_error_messages = {"unknown": "参数 {name}:单位编码「{code}」不存在。"}

    def _deserialize(  # type: ignore[override]  # reads a code (a string), gives the unit's id
            self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]], **kwargs: Any) -> int:
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == value))
        if unit_id is None:
            raise self.make_error("unknown", code=value)
        return unit_id


@dataclass(frozen=True)
class IssueQuery:
    """GET /issues' query string, parsed: the filters, the page and its size."""

    filters: IssueFilters
    page: int
    per_page: int


class IssueFilterSchema(Query):
    """The issue list's filters (also those of the ledger export), in the order they are checked."""

    unit = UnitArg(data_key="unit", attribute="unit_id", metadata={"description": "单位编码:牵头或配合",
                                                                   "pattern": NO_CONTROLS_PATTERN})
    round_id = IntArg(minimum=1, metadata={"description": "督察轮次 id"})
    state = ChoiceArg(STATE_FILTERS, metadata={"description": "状态;open 为未销号,merged 为合并整改"})
    light = ChoiceArg(LIGHTS, metadata={"description": "红黄绿灯"})
    overdue = BoolArg(metadata={"description": "是否逾期(true / false)"})
    q = TextArg(metadata={"description": "关键字:编号、标题、描述"})
    # The yes/no figures (`figures.FLAGS`) the to-do list's links use: 1 (or true) lists only the issues having it.
    due_soon = ChoiceArg(ONLY, metadata={"description": "1:仅临期(整改时限在临期天数内、尚未逾期)"})
    lagging = ChoiceArg(ONLY, metadata={"description": "1:仅进度滞后"})
    returned = ChoiceArg(ONLY, metadata={"description": "1:仅被退回、尚未重新提交的问题"})
    supervised = ChoiceArg(ONLY, metadata={"description": "1:仅挂牌督办"})
    progress_full = ChoiceArg(ONLY, metadata={"description": "1:仅进度已达 100%、尚未提交销号的问题"})
    unreported = ChoiceArg(ONLY, metadata={"description": "1:仅本月(本地时区)尚未报送进展的未销号问题"})
    extension_decided = ChoiceArg(ONLY, metadata={"description": "1:仅近 7 天延期申请已有审批结果的问题"})
    lead_only = ChoiceArg(ONLY, metadata={"description": "1:仅调用者所在单位牵头的问题(不含配合)"})
    waiting = ChoiceArg(("mine",), metadata={"description": "mine:仅等待调用者审核(审核链中轮到其签署)的问题"})
    min_days_overdue = IntArg(minimum=0, maximum=MAX_DAYS_OVERDUE, metadata={"description": "仅逾期至少这么多天的问题"})


def list_filters(data: dict[str, Any]) -> IssueFilters:
    """The filters of a parsed list query (the yes/no figures gathered into `flags`)."""
    flags = tuple(name for name in FLAG_ARGS if data.pop(name, None))
    lead_only = bool(data.pop("lead_only", None))
    waiting_mine = data.pop("waiting", None) == "mine"
    return IssueFilters(**data, flags=flags, lead_only=lead_only, waiting_mine=waiting_mine)


class IssueListQuerySchema(IssueFilterSchema):
    """GET /issues' query string: the filters and the page (the export checks the page too, and ignores it)."""

    page = IntArg(minimum=1, page=True, load_default=1, metadata={"description": "页码"})
    per_page = IntArg(minimum=1, maximum=MAX_PER_PAGE, load_default=DEFAULT_PER_PAGE,
                      metadata={"description": "每页条数"})

    @post_load
    def _query(self, data: dict[str, Any], **kwargs: Any) -> IssueQuery:
        page, per_page = data.pop("page"), data.pop("per_page")
        return IssueQuery(list_filters(data), page, per_page)


# --- requests ------------------------------------------------------------------

class IssueCreateSchema(Body):
    """POST /issues: a new issue (the service checks every value and answers 422 with the reason)."""

    round_id = Int(required=True)
    code = Str(required=True, metadata={"maxLength": 64})
    title = Str(required=True, metadata={"maxLength": 300})
    description = Str()
    category = Str(required=True, metadata={"enum": values(labels.CATEGORY_LABELS)})
    rectify_type = Str(required=True, metadata={"enum": values(labels.RECTIFY_TYPE_LABELS)})
    deadline = Str(required=True, metadata={"format": "date", **DATE_META})
    assigned_on = Str(allow_none=True, metadata={"format": "date", **DATE_META, "description": "交办日期,默认当天"})
    lead_unit = Str(required=True, metadata={"description": "牵头单位编码"})
    cooperating_units = StrList(metadata={"description": "配合单位编码"})
    target = Str(allow_none=True)
    measures = Str(allow_none=True)
    domain = Str(allow_none=True, metadata={"enum": list(enums.DOMAINS)})
    responsible_leader = Str(allow_none=True)
    responsible_person = Str(allow_none=True)


class ProgressCreateSchema(Body):
    """POST /issues/{id}/progress: this period's report (the service checks the values: 422)."""

    period = Str(required=True, metadata={"pattern": "^\\d{4}-(0[1-9]|1[0-2])$", "example": "2020-06"})
    percent = Int(required=True, metadata={"minimum": 0, "maximum": 100})
    text = Str(required=True)


class IssueUpdateSchema(Body):
    """PATCH /issues/{id}: the fields to change (the office); any left out stay as they are.

    The service checks every value (422 with the reason); a moved deadline is kept in the
    issue's deadline history with `reason` and told to the lead unit.
    """

    round_id = Int()
    code = Str(metadata={"maxLength": 64})
    title = Str(metadata={"maxLength": 300})
    description = Str()
    category = Str(metadata={"enum": values(labels.CATEGORY_LABELS)})
    rectify_type = Str(metadata={"enum": values(labels.RECTIFY_TYPE_LABELS)})
    deadline = Str(metadata={"format": "date", **DATE_META, "description": "整改时限;调整时请写明 reason"})
    assigned_on = Str(metadata={"format": "date", **DATE_META})
    lead_unit = Str(metadata={"description": "牵头单位编码"})
    cooperating_units = StrList(metadata={"description": "配合单位编码(整体替换)"})
    target = Str()
    measures = Str()
    domain = Str(metadata={"enum": list(enums.DOMAINS)})
    responsible_leader = Str()
    responsible_person = Str()
    reason = Str(metadata={"maxLength": 500, "description": "修改说明(调整整改时限的理由),记入流转记录和时限调整记录"})
    version = Int(metadata={"description": "调用方所见的问题版本;与当前版本不符时返回 409"})


ACTION_MISSING = "请提供 action(要执行的操作)。"


class TransitionSchema(Body):
    """POST /issues/{id}/transitions: a workflow action and what it needs."""

    action = Str(required=True, metadata={"enum": values(workflow.ACTIONS)})
    comment = Str(allow_none=True, metadata={"description": "理由;return 与 reopen 必填"})
    summary = Str(allow_none=True, metadata={"description": "整改情况总结;submit 必填"})
    target_issue_id = Int(allow_none=True, metadata={"description": "merge 的目标问题"})
    target_code = Str(allow_none=True, metadata={"description": "merge 的目标问题编号(给出时优先于 target_issue_id)"})
    version = Int(allow_none=True, metadata={"description": "调用方所见的问题版本;与当前版本不符时返回 409"})

    @validates_schema
    def _action_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        # An empty action is a malformed request (400), an unknown one the workflow's 422.
        if not data.get("action"):
            raise ValidationError(ACTION_MISSING)


class ExtensionCreateSchema(Body):
    """POST /issues/{id}/extensions: ask for a later deadline (the lead unit's head; the service checks
    the values: 422, and the issue's state, a pending request and the round's limit: 409)."""

    new_deadline = Str(required=True, metadata={"format": "date", **DATE_META,
                                                "description": "申请延期至的日期,须晚于现整改时限"})
    reason = Str(required=True, metadata={"maxLength": 500, "description": "延期理由"})


class ExtensionDecisionSchema(Body):
    """POST /extensions/{id}/decision: approve (the date asked, or `deadline`) or reject (with `reason`)."""

    decision = Str(required=True, metadata={"enum": ["approve", "reject"]})
    deadline = Str(allow_none=True, metadata={"format": "date", **DATE_META,
                                              "description": "按其他日期批准时的整改时限;不给出时按申请的日期"})
    reason = Str(allow_none=True, metadata={"maxLength": 500, "description": "意见;驳回时必填"})


class EvidenceUploadSchema(Inline, Multipart):
    """POST /issues/{id}/attachments: the evidence file."""

    file = File(required=True, error_messages={"required": "请以 multipart/form-data 上传文件,字段名为 file。"})


# --- responses -----------------------------------------------------------------

@dataclass(frozen=True)
class IssueOut:
    """What `IssueSchema` dumps: an issue's row of figures for the day and its cooperating units' codes."""

    row: IssueRow
    cooperating_units: list[str]
    deadline_history: Optional[list[DeadlineChange]] = None
    # The issue this one is merged into, when the caller may see it; None otherwise (ASVS 4.2.1).
    merged_into: Optional[int] = None
    # The approval-chain step the issue waits for (detail only); None outside the chain.
    waiting_for: Optional[Waiting] = None
    # Its extension requests (延期申请), oldest first, for `IssueDetailSchema`.
    extensions: Optional[list[ExtensionRequest]] = None


class IssueSchema(Reply):
    """An issue with its figures for the day, in the API's contract shape."""

    id = fields.Integer(required=True, attribute="row.issue.id")
    code = fields.String(required=True, attribute="row.issue.code")
    title = fields.String(required=True, attribute="row.issue.title")
    round_id = fields.Integer(required=True, attribute="row.issue.round_id")
    category = fields.String(required=True, attribute="row.issue.category",
                             metadata={"enum": values(labels.CATEGORY_LABELS)})
    rectify_type = fields.String(required=True, attribute="row.issue.rectify_type",
                                 metadata={"enum": values(labels.RECTIFY_TYPE_LABELS)})
    deadline = fields.Date(required=True, attribute="row.issue.deadline", metadata=DATE_META)
    lead_unit = fields.String(required=True, attribute="row.issue.lead_unit.code",
                              metadata={"description": "牵头单位编码"})
    cooperating_units = fields.List(fields.String(), required=True)
    state = fields.String(required=True, attribute="row.issue.state", metadata={"enum": values(enums.STATES)})
    progress_percent = fields.Integer(required=True, attribute="row.issue.progress_percent",
                                      metadata={"minimum": 0, "maximum": 100})
    overdue = fields.Boolean(required=True, attribute="row.overdue")
    days_overdue = fields.Integer(required=True, attribute="row.days_overdue", metadata={"minimum": 0})
    lagging = fields.Boolean(required=True, attribute="row.lagging")
    light = fields.String(required=True, allow_none=True, attribute="row.light",
                          metadata={"enum": list(LIGHTS), "description": "已销号的问题为 null"})
    merged_into = fields.Integer(required=True, allow_none=True, attribute="merged_into",
                                 metadata={"description": "合并整改所并入的问题 id;调用者看不到该问题时为 null"})
    version = fields.Integer(required=True, attribute="row.issue.version",
                             metadata={"description": "乐观锁版本号,办理时可回传"})
    created_at = UtcDateTime(required=True, attribute="row.issue.created_at")
    updated_at = UtcDateTime(required=True, attribute="row.issue.updated_at")


class DeadlineChangeSchema(Reply):
    """One move of an issue's deadline: from, to, by whom, when, why."""

    old = fields.Date(required=True, attribute="old_deadline", metadata=DATE_META)
    new = fields.Date(required=True, attribute="new_deadline", metadata=DATE_META)
    by = fields.String(required=True, allow_none=True, attribute="changed_by.username", dump_default=None,
                       metadata={"description": "调整人用户名"})
    at = UtcDateTime(required=True, attribute="changed_at")
    reason = fields.String(required=True, allow_none=True)
    source = fields.String(required=True, metadata={
        "enum": values(enums.DeadlineSource), "description": "edit 页面或 API 修改,import 台账导入,extension 延期"})


class WaitingSchema(Reply):
    """The approval-chain step an issue waits for."""

    step = fields.Integer(required=True, metadata={"minimum": 1, "description": "审核链的第几个环节(从 1 起)"})
    label = fields.String(required=True, metadata={"description": "环节名称,如「市级验收」"})
    level = fields.String(required=True, allow_none=True, metadata={
        "enum": values(enums.UNIT_LEVELS), "description": "办理该环节的整改办所在层级;null 为不限层级"})
    role = fields.String(required=True, metadata={"enum": values(enums.CHAIN_ROLES), "description": "办理角色"})


class ExtensionSchema(Reply):
    """A deadline extension request (延期申请) and its decision."""

    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": values(enums.ExtensionState)})
    state_label = fields.Function(lambda r: labels.EXTENSION_STATE_LABELS.get(r.state, r.state), required=True,
                                  metadata={"type": "string", "description": "状态的中文名称"})
    old_deadline = fields.Date(required=True, metadata={**DATE_META, "description": "申请时的整改时限"})
    new_deadline = fields.Date(required=True, metadata={**DATE_META, "description": "申请延期至的日期"})
    reason = fields.String(required=True, metadata={"description": "延期理由"})
    requested_at = UtcDateTime(required=True)
    requested_by = fields.String(required=True, allow_none=True, attribute="requested_by.username",
                                 dump_default=None, metadata={"description": "申请人用户名"})
    granted_deadline = fields.Date(required=True, allow_none=True,
                                   metadata={**DATE_META, "description": "批准的整改时限;未批准时为 null"})
    decided_at = UtcDateTime(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True, attribute="decided_by.username", dump_default=None,
                               metadata={"description": "审批人用户名"})
    decision_reason = fields.String(required=True, allow_none=True, metadata={"description": "审批意见或驳回理由"})


class IssueDetailSchema(IssueSchema):
    """One issue, as the list shows it, with its deadline history (oldest first), extension requests and,
    while it is in the approval chain, the step it waits for."""

    waiting_for = fields.Nested(WaitingSchema, required=True, allow_none=True, metadata={
        "type": "object", "description": "问题在审核链中等待的环节(已提交销号、尚未销号时);其他时候为 null"})

    original_deadline = fields.Date(required=True, attribute="row.issue.original_deadline", metadata={
        **DATE_META, "description": "交办时的整改时限(此后的调整见 deadline_history)"})
    deadline_history = fields.List(fields.Nested(DeadlineChangeSchema), required=True,
                                   metadata={"description": "整改时限调整记录(时间先后)"})
    extensions = fields.List(fields.Nested(ExtensionSchema), required=True,
                             metadata={"description": "延期申请(时间先后)"})


class IssueListSchema(Reply):
    """One page of issues and the total."""

    items = fields.List(fields.Nested(IssueSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class EventSchema(Reply):
    """One entry of an issue's timeline."""

    at = UtcDateTime(required=True)
    actor = fields.String(required=True, allow_none=True, attribute="actor.username", dump_default=None,
                          metadata={"description": "操作人用户名"})
    action = fields.String(required=True, metadata={"enum": values(labels.EVENT_LABELS)})
    from_state = fields.String(required=True, allow_none=True)
    to_state = fields.String(required=True, allow_none=True)
    comment = fields.String(required=True, allow_none=True)
    changes = fields.Dict(required=True, attribute="changed", keys=fields.String(),
                          values=fields.List(fields.Raw()),
                          metadata={"description": "修改问题时改动的字段:{字段: [原值, 新值]};其他记录为 {}"})


class EventListSchema(Reply):
    """An issue's timeline, oldest first."""

    items = fields.List(fields.Nested(EventSchema), required=True)


class ProgressReportSchema(Reply):
    """A progress report just filed."""

    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    period = fields.String(required=True)
    percent = fields.Integer(required=True)
    text = fields.String(required=True)
    author = fields.String(required=True, attribute="author.username")
    created_at = UtcDateTime(required=True)


class AttachmentSchema(Reply):
    """An evidence file: id, the cleaned name, size and content hash."""

    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True, metadata={"pattern": "^[0-9a-f]{64}$"})
