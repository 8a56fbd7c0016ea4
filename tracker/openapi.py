"""The OpenAPI 3.0 description of the API, served at /api/v1/openapi.json (no token needed).

Kept next to the views and checked by the tests against the URL map, so that a
new endpoint without a description fails the build.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from flask import Flask, Response, jsonify

from tracker.core import enums, labels, workflow
from tracker.core.api import bp
from tracker.core.enums import ROLES
from tracker.issues.api import LIGHTS, MAX_PER_PAGE, STATE_FILTERS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(status: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{status}"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _error(str(status)) for status in statuses}


NULLABLE_STR = {"type": "string", "nullable": True}
DATE = {"type": "string", "format": "date", "example": "2020-12-31"}
DATE_TIME = {"type": "string", "format": "date-time", "description": "UTC, e.g. 2020-07-15T02:00:00Z"}
ISSUE_ID = {"name": "issue_id", "in": "path", "required": True, "schema": {"type": "integer"},
            "description": "问题 id"}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"},
          "description": "后台任务 id"}

SCHEMAS: dict[str, Any] = {
    "Job": {
        "type": "object",
        "required": ["id", "kind", "state", "done", "total", "percent", "download_url", "summary", "error"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["ledger_export", "ledger_import", "ledger_preview"]},
            "kind_label": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"],
                      "description": "心跳超过 10 分钟的未完成任务显示为 failed(任务中断)"},
            "state_label": {"type": "string"},
            "done": {"type": "integer", "description": "已处理行数"},
            "total": {"type": "integer", "description": "总行数"},
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "download_url": {**NULLABLE_STR, "description": "完成的导出任务的下载地址"},
            "summary": {"type": "object", "nullable": True,
                        "description": "完成的导入任务:{\"created\": 新登记数, \"updated\": 更新数};"
                                       "完成的导入预览:{\"rows\", \"create\", \"update\", \"unchanged\", "
                                       "\"errors\", \"warnings\"}(行数和错误、提示条数)"},
            "error": {**NULLABLE_STR, "description": "失败原因(中文)"},
            "created_at": DATE_TIME,
            "finished_at": {**DATE_TIME, "nullable": True},
        },
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "错误说明(中文)"}},
    },
    "Credentials": {
        "type": "object", "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}},
    },
    "Token": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
    "UnitCreate": {
        "type": "object", "required": ["code", "name"],
        "properties": {
            "code": {"type": "string", "maxLength": 64},
            "name": {"type": "string", "maxLength": 200},
            "parent_code": NULLABLE_STR,
            "email": {"type": "string", "format": "email", "nullable": True},
        },
    },
    "Unit": {
        "type": "object", "required": ["code", "name", "parent_code", "email"],
        "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "parent_code": NULLABLE_STR, "email": NULLABLE_STR,
        },
    },
    "UnitList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Unit")}},
    },
    "UserCreate": {
        "type": "object", "required": ["username", "password", "role"],
        "properties": {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9_.\\-]{2,80}$"},
            "password": {"type": "string", "format": "password", "minLength": 8, "maxLength": 128},
            "role": {"type": "string", "enum": list(ROLES)},
            "unit_code": {"type": "string", "nullable": True,
                          "description": "unit_staff 与 unit_head 必填"},
            "email": {"type": "string", "format": "email", "nullable": True},
            "display_name": NULLABLE_STR,
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "role", "unit_code", "email", "display_name", "active"],
        "properties": {
            "id": {"type": "integer"}, "username": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)},
            "unit_code": NULLABLE_STR, "email": NULLABLE_STR, "display_name": NULLABLE_STR,
            "active": {"type": "boolean"},
        },
    },
    "RoundCreate": {
        "type": "object", "required": ["name", "level", "kind"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "level": {"type": "string", "enum": list(labels.LEVEL_LABELS)},
            "kind": {"type": "string", "enum": list(labels.ROUND_KIND_LABELS)},
            "feedback_date": {**DATE, "nullable": True},
            "document_no": NULLABLE_STR,
        },
    },
    "Round": {
        "type": "object", "required": ["id", "name", "level", "kind", "feedback_date", "document_no"],
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "level": {"type": "string", "enum": list(labels.LEVEL_LABELS)},
            "kind": {"type": "string", "enum": list(labels.ROUND_KIND_LABELS)},
            "feedback_date": {**DATE, "nullable": True}, "document_no": NULLABLE_STR,
        },
    },
    "IssueCreate": {
        "type": "object",
        "required": ["round_id", "code", "title", "category", "rectify_type", "deadline", "lead_unit"],
        "properties": {
            "round_id": {"type": "integer"},
            "code": {"type": "string", "maxLength": 64},
            "title": {"type": "string", "maxLength": 300},
            "description": {"type": "string"},
            "category": {"type": "string", "enum": list(labels.CATEGORY_LABELS)},
            "rectify_type": {"type": "string", "enum": list(labels.RECTIFY_TYPE_LABELS)},
            "deadline": DATE,
            "assigned_on": {**DATE, "nullable": True, "description": "交办日期,默认当天"},
            "lead_unit": {"type": "string", "description": "牵头单位编码"},
            "cooperating_units": {"type": "array", "items": {"type": "string"}, "description": "配合单位编码"},
            "target": NULLABLE_STR,
            "measures": NULLABLE_STR,
            "domain": {"type": "string", "enum": list(enums.DOMAINS), "nullable": True},
            "responsible_leader": NULLABLE_STR,
            "responsible_person": NULLABLE_STR,
        },
    },
    "Issue": {
        "type": "object",
        "required": ["id", "code", "title", "round_id", "category", "rectify_type", "deadline", "lead_unit",
                     "cooperating_units", "state", "progress_percent", "overdue", "days_overdue", "lagging",
                     "light", "merged_into", "version", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "title": {"type": "string"},
            "round_id": {"type": "integer"},
            "category": {"type": "string", "enum": list(labels.CATEGORY_LABELS)},
            "rectify_type": {"type": "string", "enum": list(labels.RECTIFY_TYPE_LABELS)},
            "deadline": DATE,
            "lead_unit": {"type": "string", "description": "牵头单位编码"},
            "cooperating_units": {"type": "array", "items": {"type": "string"}},
            "state": {"type": "string", "enum": list(enums.STATES)},
            "progress_percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "overdue": {"type": "boolean"},
            "days_overdue": {"type": "integer", "minimum": 0},
            "lagging": {"type": "boolean"},
            "light": {"type": "string", "enum": list(LIGHTS), "nullable": True,
                      "description": "已销号的问题为 null"},
            "merged_into": {"type": "integer", "nullable": True, "description": "合并整改所并入的问题 id"},
            "version": {"type": "integer", "description": "乐观锁版本号,办理时可回传"},
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
    },
    "IssueList": {
        "type": "object", "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": _ref("Issue")},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    },
    "Event": {
        "type": "object", "required": ["at", "actor", "action", "from_state", "to_state", "comment"],
        "properties": {
            "at": DATE_TIME,
            "actor": {"type": "string", "nullable": True, "description": "操作人用户名"},
            "action": {"type": "string", "enum": list(labels.EVENT_LABELS)},
            "from_state": NULLABLE_STR,
            "to_state": NULLABLE_STR,
            "comment": NULLABLE_STR,
        },
    },
    "EventList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Event")}},
    },
    "ProgressCreate": {
        "type": "object", "required": ["period", "percent", "text"],
        "properties": {
            "period": {"type": "string", "pattern": "^\\d{4}-(0[1-9]|1[0-2])$", "example": "2020-06"},
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "text": {"type": "string"},
        },
    },
    "ProgressReport": {
        "type": "object", "required": ["id", "issue_id", "period", "percent", "text", "author", "created_at"],
        "properties": {
            "id": {"type": "integer"}, "issue_id": {"type": "integer"}, "period": {"type": "string"},
            "percent": {"type": "integer"}, "text": {"type": "string"}, "author": {"type": "string"},
            "created_at": DATE_TIME,
        },
    },
    "Attachment": {
        "type": "object", "required": ["id", "filename", "size", "sha256"],
        "properties": {
            "id": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
    "Transition": {
        "type": "object", "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": list(workflow.ACTIONS)},
            "comment": {"type": "string", "nullable": True, "description": "理由;return 与 reopen 必填"},
            "summary": {"type": "string", "nullable": True, "description": "整改情况总结;submit 必填"},
            "target_issue_id": {"type": "integer", "nullable": True, "description": "merge 的目标问题"},
            "target_code": {"type": "string", "nullable": True,
                            "description": "merge 的目标问题编号(给出时优先于 target_issue_id)"},
            "version": {"type": "integer", "nullable": True,
                        "description": "调用方所见的问题版本;与当前版本不符时返回 409"},
        },
    },
    "MonthFigures": {
        "type": "object",
        "required": ["total", "by_category", "by_state", "closed", "closed_in_month", "basically_done",
                     "in_progress", "overdue", "supervised", "completion_rate", "summary"],
        "properties": {
            "round": {"type": "object", "description": "督察轮次 {id, name};合计行没有",
                      "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
            "total": {"type": "integer", "description": "问题总数"},
            "by_category": {"type": "object", "description": "问题类别 -> 数量",
                            "additionalProperties": {"type": "integer"}},
            "by_state": {"type": "object", "description": "状态 -> 数量(截至统计日)",
                         "additionalProperties": {"type": "integer"}},
            "closed": {"type": "integer", "description": "已销号"},
            "closed_in_month": {"type": "integer", "description": "本月销号(按北京时间的销号日期)"},
            "basically_done": {"type": "integer", "description": "基本完成"},
            "in_progress": {"type": "integer", "description": "整改中"},
            "overdue": {"type": "integer", "description": "月末逾期(本月为截至统计日)"},
            "supervised": {"type": "integer", "description": "挂牌督办(未销号)"},
            "completion_rate": {"type": "number", "description": "完成率(已销号占比,百分数)"},
            "summary": {"type": "string", "description": "汇报用语"},
        },
    },
    "MonthlyReport": {
        "type": "object",
        "required": ["month", "title", "start", "end", "as_of", "today", "rounds", "total", "closed_in_month",
                     "overdue", "reports"],
        "properties": {
            "month": {"type": "string", "example": "2020-06"},
            "title": {"type": "string", "example": "2020年6月整改进展情况"},
            "start": DATE, "end": DATE,
            "as_of": {**DATE, "description": "逾期的统计日:月末,本月为今天"},
            "today": {**DATE, "description": "统计日(问题状态按这一天)"},
            "rounds": {"type": "array", "items": _ref("MonthFigures")},
            "total": _ref("MonthFigures"),
            "closed_in_month": {
                "type": "object", "required": ["count", "limit", "items"],
                "description": "本月销号的问题(最多列出 limit 条)",
                "properties": {
                    "count": {"type": "integer"}, "limit": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "issue_id": {"type": "integer"}, "code": {"type": "string"}, "title": {"type": "string"},
                        "lead_unit": {"type": "string"}, "closed_on": DATE}}},
                },
            },
            "overdue": {
                "type": "object", "required": ["count", "limit", "items"],
                "description": "月末逾期的问题,按逾期天数从多到少(最多列出 limit 条)",
                "properties": {
                    "count": {"type": "integer"}, "limit": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "issue_id": {"type": "integer"}, "code": {"type": "string"}, "title": {"type": "string"},
                        "lead_unit": {"type": "string"}, "deadline": DATE, "days_overdue": {"type": "integer"}}}},
                },
            },
            "reports": {
                "type": "object", "required": ["due_on", "checked", "units"],
                "description": "本月进展逾期报送或未报送的牵头单位",
                "properties": {
                    "due_on": {**DATE, "description": "报送截止日"},
                    "checked": {"type": "boolean", "description": "截止日是否已过(未过时不统计未报送)"},
                    "units": {"type": "array", "items": {"type": "object", "properties": {
                        "unit": {"type": "object"}, "late": {"type": "integer", "description": "逾期报送的问题数"},
                        "missing": {"type": "integer", "description": "未报送的问题数"}}}},
                },
            },
        },
    },
}

RESPONSES = {
    "400": _json(_ref("Error"), "请求格式不正确:非法 JSON、字段类型错误或查询参数无效"),
    "401": {**_json(_ref("Error"), "缺少、无效或已撤销的访问令牌"),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "403": _json(_ref("Error"), "角色或单位无权执行该操作"),
    "404": _json(_ref("Error"), "问题不存在或不在调用者的可见范围内"),
    "409": _json(_ref("Error"), "状态不允许、前置条件未满足、版本已过期或数据冲突"),
    "413": _json(_ref("Error"), "上传的文件超过大小上限"),
    "422": _json(_ref("Error"), "字段取值无效或缺少必填内容(如退回理由)"),
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PATHS: dict[str, Any] = {
    "/auth/token": {
        "post": {
            "tags": ["auth"], "summary": "用用户名和密码换取访问令牌", "operationId": "createToken",
            "security": [],
            "requestBody": _body("Credentials"),
            "responses": {"200": _json(_ref("Token"), "访问令牌"), **_errors(400, 401)},
        },
        "delete": {
            "tags": ["auth"], "summary": "撤销本次请求所用的访问令牌", "operationId": "revokeToken",
            "responses": {"204": {"description": "已撤销"}, **_errors(401)},
        },
    },
    "/units": {
        "get": {
            "tags": ["units"], "summary": "全部责任单位", "operationId": "listUnits",
            "responses": {"200": _json(_ref("UnitList"), "单位列表(按编码排序)"), **_errors(401)},
        },
        "post": {
            "tags": ["units"], "summary": "新增单位(系统管理员)", "operationId": "createUnit",
            "requestBody": _body("UnitCreate"),
            "responses": {"201": _json(_ref("Unit"), "新增的单位"), **_errors(400, 401, 403, 409, 422)},
        },
    },
    "/users": {
        "post": {
            "tags": ["users"], "summary": "新增用户(系统管理员)", "operationId": "createUser",
            "requestBody": _body("UserCreate"),
            "responses": {"201": _json(_ref("User"), "新增的用户(不含密码)"), **_errors(400, 401, 403, 409, 422)},
        },
    },
    "/rounds": {
        "post": {
            "tags": ["rounds"], "summary": "登记督察轮次(系统管理员、督察整改办)", "operationId": "createRound",
            "requestBody": _body("RoundCreate"),
            "responses": {"201": _json(_ref("Round"), "登记的轮次"), **_errors(400, 401, 403, 409, 422)},
        },
    },
    "/issues": {
        "get": {
            "tags": ["issues"], "summary": "调用者可见的问题列表", "operationId": "listIssues",
            "parameters": [
                _query("state", {"type": "string", "enum": list(STATE_FILTERS)},
                       "状态;open 为未销号,merged 为合并整改"),
                _query("unit", {"type": "string"}, "单位编码:牵头或配合"),
                _query("round_id", {"type": "integer", "minimum": 1}, "督察轮次 id"),
                _query("overdue", {"type": "boolean"}, "是否逾期(true / false)"),
                _query("light", {"type": "string", "enum": list(LIGHTS)}, "红黄绿灯"),
                _query("q", {"type": "string"}, "关键字:编号、标题、描述"),
                _query("page", {"type": "integer", "minimum": 1, "default": 1}, "页码"),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                       "每页条数"),
            ],
            "responses": {"200": _json(_ref("IssueList"), "一页问题及总数"), **_errors(400, 401)},
        },
        "post": {
            "tags": ["issues"], "summary": "登记问题(督察整改办)", "operationId": "createIssue",
            "requestBody": _body("IssueCreate"),
            "responses": {"201": _json(_ref("Issue"), "登记的问题"), **_errors(400, 401, 403, 409, 422)},
        },
    },
    "/issues/export.xlsx": {
        "get": {
            "tags": ["issues"], "summary": "导出整改台账(Excel):调用者可见且符合筛选条件的全部问题",
            "operationId": "exportIssuesXlsx",
            "parameters": [
                _query("state", {"type": "string", "enum": list(STATE_FILTERS)},
                       "状态;open 为未销号,merged 为合并整改"),
                _query("unit", {"type": "string"}, "单位编码:牵头或配合"),
                _query("round_id", {"type": "integer", "minimum": 1}, "督察轮次 id"),
                _query("overdue", {"type": "boolean"}, "是否逾期(true / false)"),
                _query("light", {"type": "string", "enum": list(LIGHTS)}, "红黄绿灯"),
                _query("q", {"type": "string"}, "关键字:编号、标题、描述"),
            ],
            "responses": {
                "200": {"description": "整改台账工作簿(附件 整改台账-YYYY-MM-DD.xlsx)",
                        "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                            "schema": {"type": "string", "format": "binary"}}}},
                "202": {**_json(_ref("Job"), "行数超过 EXPORT_INLINE_MAX_ROWS:已转为后台任务,按 Location 查询进度"),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "/api/v1/jobs/{job_id}"}}},
                **_errors(400, 401),
            },
        },
    },
    "/issues/{issue_id}": {
        "get": {
            "tags": ["issues"], "summary": "单个问题", "operationId": "getIssue",
            "parameters": [ISSUE_ID],
            "responses": {"200": _json(_ref("Issue"), "问题"), **_errors(401, 404)},
        },
    },
    "/issues/{issue_id}/events": {
        "get": {
            "tags": ["issues"], "summary": "问题的流转记录(时间先后)", "operationId": "listIssueEvents",
            "parameters": [ISSUE_ID],
            "responses": {"200": _json(_ref("EventList"), "流转记录"), **_errors(401, 404)},
        },
    },
    "/issues/{issue_id}/progress": {
        "post": {
            "tags": ["issues"], "summary": "报送整改进展(牵头或配合单位);同一期次再次报送将替换前一次",
            "operationId": "reportProgress",
            "parameters": [ISSUE_ID],
            "requestBody": _body("ProgressCreate"),
            "responses": {"201": _json(_ref("ProgressReport"), "报送的进展"),
                          **_errors(400, 401, 403, 404, 409, 422)},
        },
    },
    "/issues/{issue_id}/attachments": {
        "post": {
            "tags": ["issues"], "summary": "上传佐证材料(PDF、图片、Office 文档或 ZIP)",
            "operationId": "addAttachment",
            "parameters": [ISSUE_ID],
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }}},
            },
            "responses": {"201": _json(_ref("Attachment"), "保存的材料"),
                          **_errors(400, 401, 403, 404, 409, 413, 422)},
        },
    },
    "/issues/{issue_id}/transitions": {
        "post": {
            "tags": ["issues"], "summary": "办理:提交销号、验收、批准销号、退回、重新打开、标记基本完成、合并整改",
            "operationId": "transitionIssue",
            "parameters": [ISSUE_ID],
            "requestBody": _body("Transition"),
            "responses": {"200": _json(_ref("Issue"), "办理后的问题"), **_errors(400, 401, 403, 404, 409, 422)},
        },
    },
    "/imports/plan": {
        "post": {
            "tags": ["imports"], "summary": "导入整改方案:从方案文本中识别任务、责任单位和时限(督察整改办);确认后创建为问题",
            "operationId": "importPlan",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["text"],
                "properties": {
                    "text": {"type": "string", "description": "方案全文"},
                    "year": {"type": "integer", "nullable": True,
                             "description": "方案年份;缺省时从标题或落款日期识别,用于“6月底前”“年底前”"},
                    "round_id": {"type": "integer", "nullable": True, "description": "督察轮次 id"},
                    "confirm": {"type": "boolean", "default": False,
                                "description": "false 仅预览;true 且给出 round_id 时创建问题(全部成功或全部不写入)"},
                    "category": {"type": "string", "enum": list(labels.CATEGORY_LABELS), "default": "feedback"},
                    "rectify_type": {"type": "string", "enum": list(labels.RECTIFY_TYPE_LABELS), "default": "deadline",
                                     "description": "有时限任务的整改类型;无时限的任务为 long_term"},
                    "assigned_on": {**DATE, "description": "交办日期;缺省为方案落款日期,否则方案年份的 1 月 1 日"},
                    "default_deadline": {**DATE, "description": "未写明时限的任务的整改时限;缺省为方案年份的 12 月 31 日"},
                    "code_prefix": {"type": "string", "example": "FA2020",
                                    "description": "问题编号前缀,编号为“前缀-001”起;缺省 FA+年份"},
                    "unit_map": {"type": "object", "additionalProperties": {"type": "string"},
                                 "description": "方案中系统没有的单位名称 → 单位编码,或 \"+new\" 新建同名单位"},
                },
            }}}},
            "responses": {"200": _json({
                "type": "object", "required": ["year", "tasks", "unassigned", "unknown_units"],
                "properties": {
                    "year": {"type": "integer", "nullable": True},
                    "title": NULLABLE_STR,
                    "tasks": {"type": "array", "items": {
                        "type": "object",
                        "required": ["number", "text", "lead_units", "cooperating_units", "deadline",
                                     "deadline_text", "damaged", "notes"],
                        "properties": {
                            "number": {"type": "string", "example": "二.(一).1.(1)-2"},
                            "text": {"type": "string"},
                            "lead_units": {"type": "array", "items": {"type": "string"}},
                            "cooperating_units": {"type": "array", "items": {"type": "string"}},
                            "deadline": {**DATE, "nullable": True},
                            "deadline_text": NULLABLE_STR,
                            "damaged": {"type": "boolean", "description": "文本残缺(如缺括号),已尽量识别"},
                            "notes": {"type": "array", "items": {"type": "string"}},
                        },
                    }},
                    "unassigned": {"type": "array", "description": "有编号、有正文但未找到责任单位的条目",
                                   "items": {"type": "object"}},
                    "unknown_units": {"type": "array", "items": {"type": "string"},
                                      "description": "系统中没有同名单位的名称,需对应或新建"},
                    "suggestions": {"type": "object", "additionalProperties": {"type": "string"},
                                    "description": "未知名称 → 最接近的现有单位名称(仅供参考)"},
                },
            }, "识别出的任务(未写入任何数据)"),
                "201": _json({
                    "type": "object", "required": ["created", "issue_ids", "codes"],
                    "properties": {
                        "created": {"type": "integer"},
                        "issue_ids": {"type": "array", "items": {"type": "integer"}},
                        "codes": {"type": "array", "items": {"type": "string"}},
                    },
                }, "已按方案创建的问题"),
                **_errors(400, 401, 403, 413, 422)},
        },
    },
    "/imports/ledger": {
        "post": {
            "tags": ["imports"], "summary": "导入整改台账(Excel):预览每行的错误;确认后登记新问题、更新已有问题(督察整改办)",
            "operationId": "importLedger",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "台账工作簿(.xlsx)"},
                    "confirm": {"type": "string", "enum": ["true", "false"], "default": "false",
                                "description": "true:无错误时写入;false:仅预览"},
                    "round_id": {"type": "integer", "description": "督察轮次 id,用于没有“督察轮次”列或该列为空的行"},
                },
            }}}},
            "responses": {"200": _json({
                "type": "object",
                "properties": {
                    "rows": {"type": "integer", "description": "数据行数(预览)"},
                    "errors": {"type": "array", "items": {
                        "type": "object", "required": ["row", "column", "message"],
                        "properties": {"row": {"type": "integer"}, "column": {"type": "string"},
                                       "message": {"type": "string"}}}},
                    "warnings": {"type": "array", "items": {"type": "object"}},
                    "create": {"type": "integer"}, "update": {"type": "integer"}, "unchanged": {"type": "integer"},
                    "created": {"type": "integer", "description": "确认后:新登记的问题数"},
                    "updated": {"type": "integer", "description": "确认后:更新的问题数"},
                    "error_count": {"type": "integer",
                                    "description": "由后台任务预览时:错误总数(errors 最多列出 2000 条)"},
                    "warning_count": {"type": "integer", "description": "由后台任务预览时:提示总数"},
                },
            }, "预览(未写入任何数据)或导入结果"),
                "202": {**_json(_ref("Job"), "文件超过 PREVIEW_INLINE_MAX_BYTES:预览或导入已转为后台任务,按 Location "
                                             "查询进度;预览完成后再次提交同一文件即返回预览"),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "/api/v1/jobs/{job_id}"}}},
                **_errors(400, 401, 403, 413, 422)},
        },
    },
    "/stats": {
        "get": {
            "tags": ["stats"], "summary": "统计:按督察轮次和牵头单位汇总调用者可见的问题",
            "operationId": "getStats",
            "parameters": [_query("round_id", {"type": "integer", "minimum": 1}, "督察轮次 id(缺省为全部轮次)")],
            "responses": {"200": _json({
                "type": "object", "required": ["rounds", "units", "closures_by_month"],
                "properties": {
                    "rounds": {"type": "array", "items": {
                        "type": "object",
                        "required": ["round", "total", "by_category", "by_state", "closed", "basically_done",
                                     "in_progress", "overdue", "supervised", "completion_rate", "summary"],
                        "properties": {
                            "round": {"type": "object"},
                            "total": {"type": "integer"},
                            "by_category": {"type": "object", "description": "问题类别 -> {total, closed}",
                                            "additionalProperties": {"type": "object"}},
                            "by_state": {"type": "object", "description": "状态 -> 数量",
                                         "additionalProperties": {"type": "integer"}},
                            "closed": {"type": "integer", "description": "已销号"},
                            "basically_done": {"type": "integer", "description": "基本完成"},
                            "in_progress": {"type": "integer", "description": "整改中"},
                            "overdue": {"type": "integer", "description": "逾期未完成"},
                            "supervised": {"type": "integer", "description": "挂牌督办(未销号)"},
                            "completion_rate": {"type": "number", "description": "完成率(已销号占比,百分数)"},
                            "summary": {"type": "string", "description": "汇报用语"},
                        },
                    }},
                    "units": {"type": "array", "items": {
                        "type": "object",
                        "required": ["unit", "assigned", "closed", "closed_on_time", "overdue", "late_reports",
                                     "escalations"],
                        "properties": {
                            "unit": {"type": "object"},
                            "assigned": {"type": "integer", "description": "牵头问题数"},
                            "closed": {"type": "integer"},
                            "closed_on_time": {"type": "integer", "description": "按期销号(销号日期不晚于整改时限)"},
                            "overdue": {"type": "integer"},
                            "late_reports": {"type": "integer", "description": "未按时报送次数"},
                            "escalations": {"type": "integer", "description": "挂牌督办、约谈/通报次数"},
                        },
                    }},
                    "closures_by_month": {"type": "array", "description": "近 12 个月每月销号数(含本月,按北京时间)",
                                          "items": {"type": "object", "required": ["month", "closed"],
                                                    "properties": {"month": {"type": "string", "example": "2020-07"},
                                                                   "closed": {"type": "integer"}}}},
                },
            }, "统计结果"), **_errors(400, 401)},
        },
    },
    "/stats/scorecard": {
        "get": {
            "tags": ["stats"], "summary": "单位考评:各牵头单位的逾期、未按时报送、督办等扣分和得分排名",
            "description": "得分 = max(0, 基础分 − Σ 次数 × 每次扣分);按得分从高到低排名,得分相同排名相同。"
                           "单位用户只得到本单位牵头问题的得分,不排名(rank 为 null)。",
            "operationId": "getScorecard",
            "parameters": [_query("round_id", {"type": "integer", "minimum": 1}, "督察轮次 id(缺省为全部轮次)")],
            "responses": {"200": _json({
                "type": "object", "required": ["rules", "rules_text", "ranked", "units"],
                "properties": {
                    "rules": {"type": "object", "description": "扣分规则(管理员设置)",
                              "required": ["base", "overdue", "late_report", "supervision_order", "interview"],
                              "properties": {
                                  "base": {"type": "number", "description": "基础分"},
                                  "overdue": {"type": "number", "description": "每个逾期问题扣分"},
                                  "late_report": {"type": "number", "description": "每次未按时报送扣分"},
                                  "supervision_order": {"type": "number", "description": "每次挂牌督办扣分"},
                                  "interview": {"type": "number", "description": "每次约谈/通报扣分"},
                              }},
                    "rules_text": {"type": "string", "description": "扣分规则说明"},
                    "ranked": {"type": "boolean", "description": "是否排名(单位用户为 false)"},
                    "units": {"type": "array", "items": {
                        "type": "object",
                        "required": ["rank", "unit", "assigned", "closed", "closed_on_time", "overdue",
                                     "late_reports", "supervision_orders", "interviews", "deductions", "score"],
                        "properties": {
                            "rank": {"type": "integer", "nullable": True},
                            "unit": {"type": "object"},
                            "assigned": {"type": "integer", "description": "牵头问题数"},
                            "closed": {"type": "integer"},
                            "closed_on_time": {"type": "integer"},
                            "overdue": {"type": "integer", "description": "当前逾期未完成"},
                            "late_reports": {"type": "integer", "description": "未按时报送次数"},
                            "supervision_orders": {"type": "integer", "description": "挂牌督办次数"},
                            "interviews": {"type": "integer", "description": "约谈/通报次数"},
                            "deductions": {"type": "object", "description": "各项扣分",
                                           "additionalProperties": {"type": "number"}},
                            "score": {"type": "number", "description": "得分"},
                        },
                    }},
                },
            }, "单位考评"), **_errors(400, 401)},
        },
    },
    "/reports/monthly": {
        "get": {
            "tags": ["stats"], "summary": "月度整改进展情况:调用者可见问题的月度汇总",
            "operationId": "getMonthlyReport",
            "parameters": [_query("month", {"type": "string", "pattern": "^\\d{4}-(0[1-9]|1[0-2])$"},
                                  "月份 YYYY-MM(缺省为上个月;不能晚于本月)")],
            "responses": {"200": _json(_ref("MonthlyReport"), "月度报告"), **_errors(400, 401)},
        },
    },
    "/jobs/{job_id}": {
        "get": {
            "tags": ["jobs"], "summary": "后台任务(大批量导出、导入)的状态和进度;仅发起人可见",
            "operationId": "getJob",
            "parameters": [JOB_ID],
            "responses": {"200": _json(_ref("Job"), "后台任务"), **_errors(401, 404)},
        },
    },
    "/jobs/{job_id}/download": {
        "get": {
            "tags": ["jobs"], "summary": "下载已完成的导出任务的文件(附件);仅发起人可下载",
            "operationId": "downloadJob",
            "parameters": [JOB_ID],
            "responses": {
                "200": {"description": "导出的台账文件(附件)", "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string", "format": "binary"}}}},
                **_errors(401, 404),
            },
        },
    },
    "/openapi.json": {
        "get": {
            "tags": ["meta"], "summary": "本文档", "operationId": "openapi", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.0 文档",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        },
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "督察反馈问题整改跟踪系统 API",
        "version": "1.0.0",
        "description": (
            "除 POST /auth/token 与本文档外,每个请求都需在请求头中提供 Authorization: Bearer <令牌>。"
            "错误一律为 {\"error\": \"说明\"}。单位用户只能看到本单位牵头或配合的问题,范围外的问题返回 404。"
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}


def openapi_document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers may not alter the module's own)."""
    return deepcopy(DOCUMENT)



@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.0 description of this API (no token needed)."""
    return jsonify(openapi_document())


def init_app(app: Flask) -> None:
    """Nothing to wire: importing this module served the document on the API blueprint."""
