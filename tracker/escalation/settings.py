"""Settings of the jobs, stored in `job_settings` and edited by admins on the settings page.

`get_settings` never fails: a missing or unreadable stored value falls back to its
default (and is logged). `save_settings` validates everything it is given and
refuses a malformed value with Refusal("invalid", message, field).
"""
from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.calendar import CALENDAR
from tracker.core.enums import LADDER_KINDS, UNIT_ROLES, Role
from tracker.core.errors import Refusal
from tracker.core.labels import DAY_MODE_LABELS, ESCALATION_LABELS, ROLE_LABELS
from tracker.core.models import JobSetting
from tracker.core.permissions import Permission
from tracker.core.settings import put_setting

log = logging.getLogger(__name__)


# The ladder's kinds and their labels, in rising severity: a later rung may not be milder.
KINDS = {kind: ESCALATION_LABELS[kind] for kind in LADDER_KINDS}
SEVERITY = {kind: rank for rank, kind in enumerate(KINDS)}


# Who a ladder level can go to.
LADDER_ROLES = (Role.UNIT_STAFF, Role.UNIT_HEAD, Role.SUPERVISOR, Role.LEADER, Role.APPROVER)


MAX_LEVELS = 12


OFFSET_RANGE = (-90, 365)


TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Level:
    """One step of the escalation ladder: `offset` days from the deadline (negative: before)."""

    offset: int
    kind: str
    roles: tuple[str, ...]

    @property
    def key(self) -> str:
        """The level's name in escalation rows and mail refs, e.g. "overdue+1", "due_soon-7"."""
        return f"{self.kind}{self.offset:+d}"

    @property
    def kind_label(self) -> str:
        """The kind in Chinese."""
        return KINDS[self.kind]

    @property
    def when_label(self) -> str:
        """When it fires, in Chinese."""
        if self.offset < 0:
            return f"整改时限前 {-self.offset} 天"
        if self.offset == 0:
            return "整改时限当天"
        return f"逾期 {self.offset} 天"

    @property
    def unit_roles(self) -> tuple[str, ...]:
        """The roles taken from the issue's lead unit."""
        return tuple(r for r in self.roles if r in UNIT_ROLES)

    @property
    def global_roles(self) -> tuple[str, ...]:
        """The roles that are not tied to a unit (the office, leaders, approvers)."""
        return tuple(r for r in self.roles if r not in UNIT_ROLES)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"offset": self.offset, "kind": self.kind, "roles": list(self.roles)}


DEFAULT_LADDER = (
    Level(-7, "due_soon", ("unit_staff", "unit_head")),
    Level(-1, "due_soon", ("unit_staff", "unit_head")),
    Level(1, "overdue", ("unit_head", "supervisor")),
    Level(15, "supervision_order", ("unit_head", "supervisor")),
    Level(30, "interview", ("leader", "supervisor")),
)


@dataclass(frozen=True)
class JobSettings:
    """Everything the jobs read from the settings page."""

    ladder: tuple[Level, ...] = DEFAULT_LADDER
    day_mode: str = CALENDAR
    report_due_day: int = 18
    report_reminder_day: int = 15
    unit_yellow_limit: int = 2  # yellow lights of one unit in a month that raise a supervision order; 0: off
    digest_time: str = "08:30"  # Asia/Shanghai

    @property
    def digest_hour_minute(self) -> tuple[int, int]:
        """The digest time as (hour, minute)."""
        hour, minute = self.digest_time.split(":")
        return int(hour), int(minute)

    def as_data(self) -> dict[str, Any]:
        """The settings as plain data (what the form shows and `save_settings` takes)."""
        data = asdict(self)
        data["ladder"] = [level.as_dict() for level in self.ladder]
        return data


DEFAULTS = JobSettings()


FIELDS = ("ladder", "day_mode", "report_due_day", "report_reminder_day", "unit_yellow_limit", "digest_time")


FIELD_LABELS = {
    "ladder": "督办阶梯",
    "day_mode": "天数计算方式",
    "report_due_day": "进展报送截止日",
    "report_reminder_day": "报送提醒日",
    "unit_yellow_limit": "单位月度黄灯次数上限",
    "digest_time": "摘要邮件发送时间",
}


# --- validation --------------------------------------------------------------

def _int(value: Any, field_name: str, low: int, high: int) -> int:
    label = FIELD_LABELS.get(field_name, field_name)
    if isinstance(value, bool):
        raise Refusal("invalid", f"{label}必须是整数。", field_name)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise Refusal("invalid", f"{label}必须是整数。", field_name) from None
    if not low <= number <= high:
        raise Refusal("invalid", f"{label}必须在 {low} 到 {high} 之间。", field_name)
    return number


def _roles(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in re.split(r"[,,\s]+", value) if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = [str(part).strip() for part in value]
    else:
        raise Refusal("invalid", f"{where}的通知对象格式不正确。", "ladder")
    if not items:
        raise Refusal("invalid", f"{where}至少要选择一个通知对象。", "ladder")
    unknown = [r for r in items if r not in LADDER_ROLES]
    if unknown:
        raise Refusal("invalid", f"{where}的通知对象「{unknown[0][:20]}」无效,可选:"
                      + "、".join(ROLE_LABELS[r] for r in LADDER_ROLES) + "。", "ladder")
    return tuple(r for r in LADDER_ROLES if r in items)


def parse_ladder(value: Any) -> tuple[Level, ...]:
    """Validate a ladder (a list of {offset, kind, roles}, or its JSON) and return it sorted."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Refusal("invalid", "督办阶梯格式不正确。", "ladder") from None
    if not isinstance(value, (list, tuple)):
        raise Refusal("invalid", "督办阶梯格式不正确。", "ladder")
    if len(value) > MAX_LEVELS:
        raise Refusal("invalid", f"督办阶梯最多 {MAX_LEVELS} 级。", "ladder")
    levels = []
    for n, raw in enumerate(value, start=1):
        where = f"第 {n} 级"
        if not isinstance(raw, Mapping):
            raise Refusal("invalid", f"{where}格式不正确。", "ladder")
        kind = str(raw.get("kind") or "").strip()
        if kind not in KINDS:
            raise Refusal("invalid", f"{where}的类型无效,可选:" + "、".join(KINDS.values()) + "。", "ladder")
        try:
            offset = _int(raw.get("offset"), "ladder", *OFFSET_RANGE)
        except Refusal:
            raise Refusal("invalid", f"{where}的天数必须是 {OFFSET_RANGE[0]} 到 {OFFSET_RANGE[1]} 之间的整数"
                          "(负数表示整改时限之前)。", "ladder") from None
        if kind == "due_soon" and offset > 0:
            raise Refusal("invalid", f"{where}:临期提醒必须在整改时限当天或之前(天数 ≤ 0)。", "ladder")
        if kind != "due_soon" and offset < 1:
            raise Refusal("invalid", f"{where}:{KINDS[kind]}必须在逾期之后(天数 ≥ 1)。", "ladder")
        levels.append(Level(offset, kind, _roles(raw.get("roles"), where)))
    levels.sort(key=lambda lv: (lv.offset, SEVERITY[lv.kind]))
    keys = [lv.key for lv in levels]
    if len(set(keys)) != len(keys):
        raise Refusal("invalid", "督办阶梯中有重复的级别(同一类型、同一天数)。", "ladder")
    for earlier, later in itertools.pairwise(levels):
        if SEVERITY[later.kind] < SEVERITY[earlier.kind]:
            raise Refusal("invalid", f"督办阶梯顺序不对:{later.kind_label}({later.when_label})"
                          f"不能晚于{earlier.kind_label}({earlier.when_label})。", "ladder")
    return tuple(levels)


def _validate(name: str, value: Any) -> Any:
    if name == "ladder":
        return parse_ladder(value)
    if name == "day_mode":
        mode = str(value or "").strip()
        if mode not in DAY_MODE_LABELS:
            raise Refusal("invalid", "天数计算方式只能是自然日或工作日。", name)
        return mode
    if name == "report_due_day":
        return _int(value, name, 1, 28)
    if name == "report_reminder_day":
        return _int(value, name, 1, 28)
    if name == "unit_yellow_limit":
        return _int(value, name, 0, 31)
    if name == "digest_time":
        text = str(value or "").strip()
        if len(text) == 4 and text[1] == ":":
            text = "0" + text
        if not TIME_RE.match(text):
            raise Refusal("invalid", "摘要邮件发送时间格式应为 HH:MM,例如 08:30。", name)
        return text
    raise Refusal("invalid", f"未知的设置项:{name[:40]}", name)


def _check_together(values: dict[str, Any]) -> None:
    if values["report_reminder_day"] >= values["report_due_day"]:
        raise Refusal("invalid", "报送提醒日必须早于进展报送截止日。", "report_reminder_day")


# --- reading and saving ------------------------------------------------------

def _stored(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(JobSetting))}


def get_settings(session: Session) -> JobSettings:
    """The current settings: stored values over the defaults; an unreadable one falls back."""
    values: dict[str, Any] = {name: getattr(DEFAULTS, name) for name in FIELDS}
    for name, raw in _stored(session).items():
        if name not in FIELDS:
            continue
        try:
            values[name] = _validate(name, json.loads(raw))
        except (ValueError, Refusal) as exc:
            log.warning("setting %s is unreadable (%s); using the default", name, exc)
    try:
        _check_together(values)
    except Refusal:
        log.warning("report reminder day is not before the due day; using the defaults for both")
        values["report_due_day"] = DEFAULTS.report_due_day
        values["report_reminder_day"] = DEFAULTS.report_reminder_day
    return JobSettings(**values)


def save_settings(session: Session, actor: Optional[User], data: Mapping[str, Any],
                  now: Optional[datetime] = None) -> JobSettings:
    """Validate and store the settings given in `data` (others stay); admins only (None: the system)."""
    permissions.require(actor, Permission.ADMINISTER, doing="修改提醒与督办设置")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        raise Refusal("invalid", f"未知的设置项:{str(unknown[0])[:40]}", str(unknown[0])[:40])
    current = get_settings(session)
    values: dict[str, Any] = {name: getattr(current, name) for name in FIELDS}
    for name in FIELDS:
        if name in data:
            values[name] = _validate(name, data[name])
    _check_together(values)
    from tracker.core.clock import utcnow

    stamp = now or utcnow()
    for name in FIELDS:
        if name not in data:
            continue
        value = values[name]
        put_setting(session, name, [lv.as_dict() for lv in value] if name == "ladder" else value, actor, stamp)
    session.flush()
    return JobSettings(**values)


def settings_form_data(settings: JobSettings) -> dict[str, Any]:
    """The settings for a form, with the labels a page needs (roles, kinds, day modes)."""
    return {
        **settings.as_data(),
        "kinds": KINDS,
        "roles": {r: ROLE_LABELS[r] for r in LADDER_ROLES},
        "day_modes": DAY_MODE_LABELS,
    }
