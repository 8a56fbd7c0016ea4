"""Every Chinese label users see for the tracker's codes, in one place.

Pages, mails, workbooks and the API's `*_label` fields read these; templates get them
through the `label` filter (`{{ issue.state|label("state") }}`) or the globals below.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.core.enums import (
    Action,
    ActionMail,
    Category,
    DayMode,
    DigestFrequency,
    EscalationKind,
    EventKind,
    ExtensionState,
    Light,
    MailStatus,
    NoticeKind,
    RectifyType,
    Role,
    RoundKind,
    RoundLevel,
    State,
    TaskState,
    UnitLevel,
)

ROLE_LABELS: dict[str, str] = {
    Role.UNIT_STAFF: "责任单位经办人",
    Role.UNIT_HEAD: "责任单位负责人",
    Role.SUPERVISOR: "督察整改办",
    Role.APPROVER: "销号审批",
    Role.LEADER: "分管领导",
    Role.ADMIN: "系统管理员",
}

STATE_LABELS: dict[str, str] = {
    State.IN_PROGRESS: "整改中",
    State.BASICALLY_DONE: "基本完成",
    State.SUBMITTED: "待验收",
    State.VERIFIED: "待销号",
    State.CLOSED: "已销号",
}
# A merged issue shows this before its state (合并整改·整改中).
MERGED_LABEL = "合并整改"
# A merge partner outside the viewer's scope, named instead of its code and title (ASVS 4.2.1).
HIDDEN_ISSUE_LABEL = "其他单位牵头的问题"

ACTION_LABELS: dict[str, str] = {
    Action.SUBMIT: "提交销号申请",
    Action.VERIFY: "验收通过",
    Action.APPROVE: "批准销号",
    Action.RETURN: "退回",
    Action.REOPEN: "重新打开",
    Action.MARK_BASICALLY_DONE: "标记基本完成",
    Action.MERGE: "合并整改",
}

# The supervision flag (挂牌督办) and the ladder's rungs, the monthly cycle's steps and the unit order.
SUPERVISED_LABEL = "挂牌督办"
ESCALATION_LABELS: dict[str, str] = {
    EscalationKind.DUE_SOON: "临期提醒",
    EscalationKind.OVERDUE: "逾期通知",
    EscalationKind.SUPERVISION_ORDER: SUPERVISED_LABEL,
    EscalationKind.INTERVIEW: "约谈/通报",
    EscalationKind.REPORT_REMINDER: "报送提醒",
    EscalationKind.REPORT_LATE: "未按时报送",
    EscalationKind.UNIT_SUPERVISION: "单位督办",
}

# Timeline entries (流转记录): the actions, and what else happened to an issue.
EVENT_LABELS: dict[str, str] = {
    **{EventKind(action): label for action, label in ACTION_LABELS.items()},
    EventKind.CREATE: "登记问题",
    EventKind.EDIT: "修改问题",
    EventKind.DEADLINE: "调整整改时限",
    EventKind.PROGRESS: "报送进展",
    EventKind.EVIDENCE: "上传佐证材料",
    EventKind.FOLLOW: "随合并问题流转",
    EventKind.MERGED_IN: "其他问题并入",
    EventKind.PUBLISH: "公示",
    EventKind.UNPUBLISH: "取消公示",
    EventKind.EXTENSION_REQUEST: "申请延期",
    EventKind.EXTENSION_APPROVE: "批准延期",
    EventKind.EXTENSION_REJECT: "驳回延期申请",
    **{EventKind(kind): label for kind, label in ESCALATION_LABELS.items()
       if kind != EscalationKind.UNIT_SUPERVISION},
}

CATEGORY_LABELS: dict[str, str] = {
    Category.FEEDBACK: "反馈问题",
    Category.KEY_CONCERN: "重点关注问题",
    Category.PETITION: "交办信访件",
    Category.SELF_FOUND: "自查问题",
}
RECTIFY_TYPE_LABELS: dict[str, str] = {
    RectifyType.IMMEDIATE: "立行立改",
    RectifyType.DEADLINE: "限期整改",
    RectifyType.LONG_TERM: "长期坚持",
}
LEVEL_LABELS: dict[str, str] = {RoundLevel.CENTRAL: "中央", RoundLevel.PROVINCIAL: "省级", RoundLevel.MUNICIPAL: "市级"}
UNIT_LEVEL_LABELS: dict[str, str] = {UnitLevel.PROVINCE: "省级", UnitLevel.CITY: "市级", UnitLevel.COUNTY: "县级",
                                     UnitLevel.TOWN: "乡镇级"}
EXTENSION_STATE_LABELS: dict[str, str] = {ExtensionState.PENDING: "待审批", ExtensionState.APPROVED: "已批准",
                                          ExtensionState.REJECTED: "已驳回"}
ROUND_KIND_LABELS: dict[str, str] = {RoundKind.REGULAR: "例行督察", RoundKind.LOOK_BACK: "回头看",
                                     RoundKind.SPECIAL: "专项督察"}
LIGHT_LABELS: dict[str, str] = {Light.RED: "红灯", Light.YELLOW: "黄灯", Light.GREEN: "绿灯"}
DAY_MODE_LABELS: dict[str, str] = {DayMode.CALENDAR: "自然日", DayMode.WORKING: "工作日"}
DIGEST_LABELS: dict[str, str] = {DigestFrequency.DAILY: "每天", DigestFrequency.WEEKLY: "每周一",
                                 DigestFrequency.NONE: "不接收"}

MAIL_STATUS_LABELS: dict[str, str] = {MailStatus.PENDING: "待发送", MailStatus.SENDING: "发送中",
                                      MailStatus.SENT: "已发送", MailStatus.FAILED: "发送失败"}
ACTION_MAIL_LABELS: dict[str, str] = {ActionMail.IMMEDIATE: "立即发送邮件", ActionMail.DIGEST: "并入每日摘要邮件"}

# What a mail or notice is about: the escalations, the digest, and the notices of workflow actions.
MAIL_KIND_LABELS: dict[str, str] = {
    **ESCALATION_LABELS,
    NoticeKind.DIGEST: "每日摘要",
    NoticeKind.SUBMITTED: "待验收",
    NoticeKind.VERIFIED: "待销号",
    NoticeKind.RETURNED: "退回",
    NoticeKind.APPROVED: "已销号",
    NoticeKind.REOPENED: "重新打开",
    NoticeKind.DEADLINE_CHANGED: "整改时限调整",
    NoticeKind.EXTENSION_REQUESTED: "延期申请",
    NoticeKind.EXTENSION_DECIDED: "延期申请结果",
    NoticeKind.ACTION_DIGEST: "办理通知汇总",
    NoticeKind.PASSWORD_CHANGED: "密码已修改",
    NoticeKind.TOKENS_REVOKED: "访问令牌已撤销",
    NoticeKind.MFA_CODE_REUSED: "动态验证码被重复使用",
}

TASK_STATE_LABELS: dict[str, str] = {TaskState.QUEUED: "排队中", TaskState.RUNNING: "进行中", TaskState.DONE: "已完成",
                                     TaskState.FAILED: "失败"}


def label(value: object, kind: str) -> str:
    """The label of `value` in the vocabulary `kind` ("state", "role", ...); the value itself if unknown."""
    # Any value may be asked for (an enum member, a code read from the database, None).
    table: Mapping[Any, str] = VOCABULARIES.get(kind, {})
    return table.get(value, "" if value is None else str(value))


VOCABULARIES: dict[str, dict[str, str]] = {
    "role": ROLE_LABELS,
    "state": STATE_LABELS,
    "action": ACTION_LABELS,
    "event": EVENT_LABELS,
    "escalation": ESCALATION_LABELS,
    "category": CATEGORY_LABELS,
    "rectify_type": RECTIFY_TYPE_LABELS,
    "level": LEVEL_LABELS,
    "unit_level": UNIT_LEVEL_LABELS,
    "extension_state": EXTENSION_STATE_LABELS,
    "round_kind": ROUND_KIND_LABELS,
    "light": LIGHT_LABELS,
    "day_mode": DAY_MODE_LABELS,
    "digest": DIGEST_LABELS,
    "mail_status": MAIL_STATUS_LABELS,
    "mail_kind": MAIL_KIND_LABELS,
    "action_mail": ACTION_MAIL_LABELS,
    "task_state": TASK_STATE_LABELS,
}

# The issues' yes/no figures (tracker.issues.figures), as pages and list filters name them.
FIGURE_LABELS: dict[str, str] = {
    "overdue": "逾期",
    "due_soon": "临期",
    "lagging": "进度滞后",
    "supervised": SUPERVISED_LABEL,
    "interviewed": "约谈/通报",
    "returned": "被退回",
    "extended": "已延期",
    "closed_on_time": "按期销号",
    "late_report": "未按时报送",
    "progress_full": "进度已达100%未提交",
    "unreported": "本月未报送进展",
    "extension_decided": "近7天延期申请有结果",
    # The outcomes of an issue closed or due (tracker.issues.figures.OUTCOMES).
    "done_on_time": "按期完成",
    "done_after_extension": "延期后完成",
    "late": "逾期(含逾期销号)",
}

# An issue's fields, as an edit's timeline entry names them (old → new).
ISSUE_FIELD_LABELS: dict[str, str] = {
    "round_id": "督察轮次",
    "code": "问题编号",
    "title": "问题标题",
    "description": "问题描述",
    "category": "问题类别",
    "rectify_type": "整改类型",
    "deadline": "整改时限",
    "lead_unit": "牵头单位",
    "cooperating_units": "配合单位",
    "target": "整改目标",
    "measures": "整改措施",
    "domain": "领域",
    "responsible_leader": "责任领导",
    "responsible_person": "责任人",
    "assigned_on": "交办日期",
}
