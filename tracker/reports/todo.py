"""The to-do list each role opens on (我的待办): what the user has to act on, each item a count and the
link to the list holding exactly those rows.

Each issue item is written once as the issue list's query arguments (e.g. `unreported=1`): the count
is the list's own filtered query (`issues.queries.filtered`, in the user's scope) for those arguments,
and the link opens the list with them, so that the count and the list never disagree.

- Unit clerk (unit_staff): this month's reports not yet filed (with the days left to the configured
  due day), issues sent back to the unit and not yet resubmitted.
- Unit head: issues at 100% not yet submitted (lead unit), issues sent back, this month's reports not
  yet filed, extension requests decided in the last 7 days. The tracker has no separate sign-off of
  reports by the head, so there is no "reports waiting for sign-off" item.
- Supervisor (an office): closure requests waiting for a step the user may sign, pending extension
  requests the user may decide (`issues.extensions.decidable_extensions`), issues turning red within the
  due-soon window (临期).
- Approver: closures waiting for the user's approval (the chain's step they may sign).
- Leader, admin: overdue issues, issues under supervision order (挂牌督办).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional
from urllib.parse import urlencode

from sqlalchemy import func, select

from tracker.accounts.models import User
from tracker.core.clock import utc_offset_hours
from tracker.core.enums import Role
from tracker.core.extensions import DbSession
from tracker.escalation.settings import JobSettings, get_settings
from tracker.issues.extensions import decidable_extensions
from tracker.issues.figures import EXTENSION_NEWS_DAYS, period_of
from tracker.issues.filters import parse_list_args
from tracker.issues.models import ExtensionRequest
from tracker.issues.queries import day_figures, filtered

ISSUE_LIST = "/issues/"
EXTENSIONS_PENDING = "/extensions/?state=pending"


@dataclass(frozen=True)
class TodoItem:
    """One line of the to-do list: what (kind, label), how many, and the list that holds them."""

    kind: str
    label: str
    count: int
    url: str

    def as_json(self) -> dict[str, Any]:
        """The item as the API gives it."""
        return {"kind": self.kind, "label": self.label, "count": self.count, "url": self.url}


@dataclass(frozen=True)
class _Wanted:
    """An item before counting: the issue list's query arguments, or (extensions) none."""

    kind: str
    label: str
    query: Optional[Mapping[str, str]] = None

    @property
    def url(self) -> str:
        if self.query is None:
            return EXTENSIONS_PENDING
        return ISSUE_LIST + "?" + urlencode(self.query)


def report_due_label(today: date, settings: JobSettings) -> str:
    """How the monthly report's due day stands today: "距 18 日报送截止还有 3 天", "今天(18 日)报送截止"
    or "已过 18 日报送截止"."""
    due_day = settings.report_due_day
    left = due_day - today.day
    if left > 0:
        return f"距 {due_day} 日报送截止还有 {left} 天"
    if left == 0:
        return f"今天({due_day} 日)报送截止"
    return f"已过 {due_day} 日报送截止"


def _wanted(session: DbSession, user: User, today: date, config: Mapping[str, Any]) -> list[_Wanted]:
    """The items of the user's role, uncounted."""
    role = user.role
    if role in (Role.UNIT_STAFF, Role.UNIT_HEAD):
        settings = get_settings(session)
        unreported = _Wanted("unreported", f"本月({period_of(today)})未报送进展的问题"
                                           f"({report_due_label(today, settings)})", {"unreported": "1"})
        returned = _Wanted("returned", "被退回、待按意见整改后重新提交的问题", {"returned": "1", "lead_only": "1"})
        if role == Role.UNIT_STAFF:
            return [unreported, returned]
        return [
            _Wanted("progress_full", "进度已达 100%、待提交销号申请的问题", {"progress_full": "1", "lead_only": "1"}),
            returned,
            unreported,
            _Wanted("extension_decided", f"近 {EXTENSION_NEWS_DAYS} 天延期申请已有审批结果的问题",
                    {"extension_decided": "1", "lead_only": "1"}),
        ]
    if role == Role.SUPERVISOR:
        days = int(config.get("DUE_SOON_DAYS", 7))
        return [
            _Wanted("awaiting", "等待我审核的销号申请", {"waiting": "mine"}),
            _Wanted("extensions", "待我审批的延期申请"),
            _Wanted("due_soon", f"{days} 天内到期、即将转为红灯的问题", {"due_soon": "1"}),
        ]
    if role == Role.APPROVER:
        return [_Wanted("awaiting", "等待我批准销号的问题", {"waiting": "mine"})]
    return [
        _Wanted("overdue", "逾期未销号的问题", {"overdue": "1"}),
        _Wanted("supervised", "挂牌督办的问题", {"supervised": "1"}),
    ]


def todo_items(session: DbSession, user: User, today: date, config: Mapping[str, Any]) -> list[TodoItem]:
    """The user's to-do list, counted in one query (plus the settings, for a unit's report due day)."""
    wanted = _wanted(session, user, today, config)
    fig = day_figures(today, config)
    hours = utc_offset_hours(today, config.get("TIMEZONE", "Asia/Shanghai"))
    counts = []
    for item in wanted:
        if item.query is None:
            counts.append(select(func.count()).select_from(ExtensionRequest)
                          .where(decidable_extensions(user)).scalar_subquery())
        else:
            args = parse_list_args(item.query, (), ())
            assert not args.notes, args.notes  # the items' arguments are the list's own
            base = filtered(user, args.filters, fig, hours)
            counts.append(select(func.count()).select_from(base.subquery()).scalar_subquery())
    if not counts:
        return []
    row = session.execute(select(*counts)).one()
    return [TodoItem(item.kind, item.label, int(count or 0), item.url) for item, count in zip(wanted, row, strict=True)]
