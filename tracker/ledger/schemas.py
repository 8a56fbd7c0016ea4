"""The ledger API's schemas: the export's query, the Excel ledger upload and its result, and the
plan import's request, preview and result."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from marshmallow import fields

from tracker.core import labels
from tracker.core.schemas import (
    DATE_META,
    Body,
    BodyField,
    File,
    Flag,
    FormFlag,
    FormInt,
    Inline,
    Int,
    IntArg,
    Multipart,
    Reply,
    Str,
    values,
)
from tracker.core.text import clean_line
from tracker.issues.schemas import MAX_PER_PAGE, IssueListQuerySchema
from tracker.ledger import plan_import


class ExportQuerySchema(IssueListQuerySchema):
    """GET /issues/export.xlsx: the issue list's filters. An export has no pages, but page and
    per_page are checked as on the list (the export has always refused what the list refuses)."""

    page = IntArg(minimum=1, page=True, load_default=1, metadata={"description": "导出不分页;仅检查取值"})
    per_page = IntArg(minimum=1, maximum=MAX_PER_PAGE, load_default=20,
                      metadata={"description": "导出不分页;仅检查取值"})


# --- the Excel ledger ------------------------------------------------------------

class LedgerUploadSchema(Inline, Multipart):
    """POST /imports/ledger: the workbook, whether to apply it, and the round for rows naming none."""

    file = File(required=True, error_messages={"required": "请以 multipart/form-data 上传台账文件,字段名为 file。"},
                metadata={"description": "台账工作簿(.xlsx)"})
    confirm = FormFlag(load_default=False, metadata={"type": "string", "enum": ["true", "false"], "default": "false",
                                                     "description": "true:无错误时写入;false:仅预览"})
    round_id = FormInt(metadata={"description": "督察轮次 id,用于没有“督察轮次”列或该列为空的行"})


class LedgerMessageSchema(Inline, Reply):
    """An error or a warning of a ledger's row."""

    row = fields.Integer(required=True)
    column = fields.String(required=True)
    message = fields.String(required=True)


class LedgerResultSchema(Inline, Reply):
    """A ledger's preview (rows, errors, warnings, what each row would do) or what importing it did."""

    rows = fields.Integer(metadata={"description": "数据行数(预览)"})
    errors = fields.List(fields.Nested(LedgerMessageSchema))
    warnings = fields.List(fields.Nested(LedgerMessageSchema))
    create = fields.Integer()
    update = fields.Integer()
    unchanged = fields.Integer()
    created = fields.Integer(metadata={"description": "确认后:新登记的问题数"})
    updated = fields.Integer(metadata={"description": "确认后:更新的问题数"})
    error_count = fields.Integer(metadata={"description": "由后台任务预览时:错误总数(errors 最多列出 2000 条)"})
    warning_count = fields.Integer(metadata={"description": "由后台任务预览时:提示总数"})


# --- the plan's text -------------------------------------------------------------

UNIT_MAP_MESSAGE = "字段 unit_map 应为对象:{\"方案中的单位名称\": \"单位编码\" 或 \"+new\"}。"


class UnitMap(BodyField, fields.Dict):
    """A JSON object of strings to strings; an empty value of any type (null, [], "", false) is none."""

    # Braces doubled: marshmallow formats error messages with str.format.
    default_error_messages = {"invalid": UNIT_MAP_MESSAGE.replace("{", "{{").replace("}", "}}")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=fields.String(), values=fields.String(), **kwargs)

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> dict[str, str]:
        # The API has always read any falsy unit_map as no mapping at all.
        if not value:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise self.make_error("invalid")
        return {clean_line(k): clean_line(v) for k, v in value.items()}


class PlanImportSchema(Inline, Body):
    """POST /imports/plan: a plan's text and, to create its issues, the options (checked by the service: 422)."""

    text = Str(required=True, metadata={"description": "方案全文"})
    year = Int(allow_none=True, metadata={
        "description": "方案年份;缺省时从标题或落款日期识别,用于“6月底前”“年底前”"})
    round_id = Int(allow_none=True, metadata={"description": "督察轮次 id"})
    # The values are listed, not an `enum`: the service checks them, and an unknown one is a row of
    # the preview's errors (200), or 422 with `confirm` - not a malformed request.
    category = Str(load_default=plan_import.DEFAULT_CATEGORY, metadata={
        "description": "问题类别:" + "、".join(values(labels.CATEGORY_LABELS)) + ";其他值列为错误"})
    rectify_type = Str(load_default=plan_import.DEFAULT_RECTIFY_TYPE, metadata={
        "description": "有时限任务的整改类型:" + "、".join(values(labels.RECTIFY_TYPE_LABELS))
                       + ";无时限的任务为 long_term;其他值列为错误"})
    assigned_on = Str(metadata={"format": "date", **DATE_META,
                                "description": "交办日期;缺省为方案落款日期,否则方案年份的 1 月 1 日"})
    default_deadline = Str(metadata={"format": "date", **DATE_META,
                                     "description": "未写明时限的任务的整改时限;缺省为方案年份的 12 月 31 日"})
    code_prefix = Str(metadata={"example": "FA2020", "description": "问题编号前缀,编号为“前缀-001”起;缺省 FA+年份"})
    # A null `confirm` has always been refused (400), not read as false.
    confirm = Flag(load_default=False, null_is_absent=False, metadata={
        "description": "false 仅预览;true 且给出 round_id 时创建问题(全部成功或全部不写入)"})
    unit_map = UnitMap(load_default=dict, metadata={
        "description": "方案中系统没有的单位名称 → 单位编码,或 \"+new\" 新建同名单位"})


class PlanTaskSchema(Inline, Reply):
    """One task the plan's text names: its number, text, units and deadline."""

    number = fields.String(required=True, metadata={"example": "二.(一).1.(1)-2"})
    text = fields.String(required=True)
    lead_units = fields.List(fields.String(), required=True)
    cooperating_units = fields.List(fields.String(), required=True)
    deadline = fields.Date(required=True, allow_none=True, metadata=DATE_META)
    deadline_text = fields.String(required=True, allow_none=True)
    damaged = fields.Boolean(required=True, metadata={"description": "文本残缺(如缺括号),已尽量识别"})
    notes = fields.List(fields.String(), required=True)


class PlanPreviewSchema(Inline, Reply):
    """The tasks read from a plan's text (nothing written)."""

    year = fields.Integer(required=True, allow_none=True)
    title = fields.String(allow_none=True)
    tasks = fields.List(fields.Nested(PlanTaskSchema), required=True)
    unassigned = fields.List(fields.Nested(PlanTaskSchema), required=True,
                             metadata={"description": "有编号、有正文但未找到责任单位的条目"})
    unknown_units = fields.List(fields.String(), required=True,
                                metadata={"description": "系统中没有同名单位的名称,需对应或新建"})
    suggestions = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata={"description": "未知名称 → 最接近的现有单位名称(仅供参考)"})


class PlanCreatedSchema(Inline, Reply):
    """The issues created from a plan."""

    created = fields.Integer(required=True)
    issue_ids = fields.List(fields.Integer(), required=True)
    codes = fields.List(fields.String(), required=True)
