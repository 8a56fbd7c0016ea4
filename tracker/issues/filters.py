"""The issue list's query arguments: parsed into IssueFilters, bad values dropped with a note."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from tracker.core import labels
from tracker.core.bounds import page_number, whole_number
from tracker.core.labels import LIGHT_LABELS
from tracker.issues.figures import FLAGS
from tracker.issues.queries import SORT_LABELS, SORTS, IssueFilters
from tracker.rounds.models import Round
from tracker.rounds.services import MAX_STEPS
from tracker.units.models import Unit

DEFAULT_SORT = "urgent"
STATE_FILTERS = {
    "open": "未销号(全部)",
    **labels.STATE_LABELS,
    "merged": labels.MERGED_LABEL,
}
OVERDUE_FILTERS = {"1": "已逾期", "0": "未逾期"}
WAITING_FILTERS = {"mine": "等待我审核"}
MAX_DAYS_OVERDUE = 36500
MAX_Q = 100
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class ListArgs:
    """What the list shows: filters, sort and page, the values echoed into the form, and notes."""

    filters: IssueFilters
    sort: str = DEFAULT_SORT
    page: int = 1
    values: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Each filter in force, in Chinese ("仅本单位牵头"), by its query argument: the list names them,
    # each with a link that drops it.
    shown: dict[str, str] = field(default_factory=dict)

    @property
    def filtering(self) -> bool:
        """Whether any filter is set (the reset link is then worth showing)."""
        return any(k not in ("sort", "page") for k in self.values)


def _date(raw: str) -> Optional[date]:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_list_args(args: Mapping[str, str], rounds: Sequence[Round], units: Sequence[Unit]) -> ListArgs:
    """Read the list's query string; every bad value is ignored and named in a note.

    Arguments: round (id), state, unit (code; unit_id also taken: leads or cooperates on), lead (code:
    leads), light, category, rectify_type, overdue (1/0), each yes/no figure of `figures.FLAGS` (1: only
    issues having it, e.g. supervised=1, lagging=1, returned=1, unreported=1, progress_full=1),
    late_period (YYYY-MM), lead_only=1 (the user's own unit leads), waiting=mine (waiting for a step the
    user may sign), min_days_overdue (N: overdue N days or more), step (N: waiting at the approval chain's
    step N, counted from 0; with round), deadline_from, deadline_to
    (YYYY-MM-DD), q, sort, page.
    """
    out = ListArgs(filters=IssueFilters())
    f = out.filters

    def get(name: str) -> str:
        return (args.get(name) or "").strip()

    def bad(label: str, raw: str) -> None:
        out.notes.append(f"{label}「{raw[:40]}」无效,已忽略。")

    raw = get("round") or get("round_id")
    if raw:
        ids = {r.id for r in rounds}
        round_id = whole_number(raw)
        if round_id in ids:
            f.round_id = round_id
            out.values["round"] = raw
        else:
            bad("督察轮次", raw)

    raw = get("state")
    if raw:
        if raw in STATE_FILTERS:
            f.state = raw
            out.values["state"] = raw
        else:
            bad("状态", raw)

    raw = get("unit")
    by_code = {u.code: u for u in units}
    if raw:
        if raw in by_code:
            f.unit_id = by_code[raw].id
            out.values["unit"] = raw
        else:
            bad("责任单位", raw)
    elif get("unit_id"):
        raw = get("unit_id")
        by_id = {str(u.id): u for u in units}
        if raw in by_id:
            f.unit_id = by_id[raw].id
            out.values["unit"] = by_id[raw].code
        else:
            bad("责任单位", raw)

    for name, label, allowed in (("light", "灯色", LIGHT_LABELS), ("category", "问题类别", labels.CATEGORY_LABELS),
                                 ("rectify_type", "整改类型", labels.RECTIFY_TYPE_LABELS)):
        raw = get(name)
        if raw:
            if raw in allowed:
                setattr(f, name, raw)
                out.values[name] = raw
            else:
                bad(label, raw)

    raw = get("overdue")
    if raw:
        if raw in OVERDUE_FILTERS:
            f.overdue = raw == "1"
            out.values["overdue"] = raw
        else:
            bad("是否逾期", raw)

    chosen = []
    for name in FLAGS:
        raw = get(name)
        if raw:
            if raw == "1":
                chosen.append(name)
                out.values[name] = raw
            else:
                bad("仅" + labels.FIGURE_LABELS[name], raw)
    f.flags = tuple(chosen)

    raw = get("late_period")
    if raw:
        if PERIOD.match(raw):
            f.late_period = raw
            out.values["late_period"] = raw
        else:
            bad("未按时报送期次(应为 YYYY-MM)", raw)

    raw = get("lead")
    if raw:
        if raw in by_code:
            f.lead_unit_id = by_code[raw].id
            out.values["lead"] = raw
        else:
            bad("牵头单位", raw)

    for name, label in (("deadline_from", "整改时限起"), ("deadline_to", "整改时限止")):
        raw = get(name)
        if raw:
            value = _date(raw)
            if value is None:
                bad(label + "(应为 YYYY-MM-DD)", raw)
            else:
                setattr(f, name, value)
                out.values[name] = raw
    if f.deadline_from and f.deadline_to and f.deadline_from > f.deadline_to:
        out.notes.append("整改时限的起始日期晚于截止日期,不会有符合条件的问题。")

    raw = get("lead_only")
    if raw:
        if raw == "1":
            f.lead_only = True
            out.values["lead_only"] = raw
        else:
            bad("仅本单位牵头", raw)

    raw = get("waiting")
    if raw:
        if raw in WAITING_FILTERS:
            f.waiting_mine = True
            out.values["waiting"] = raw
        else:
            bad("等待审核", raw)

    raw = get("min_days_overdue")
    if raw:
        days = whole_number(raw, maximum=MAX_DAYS_OVERDUE)
        if days is None:
            bad(f"逾期天数下限(应为 0 到 {MAX_DAYS_OVERDUE} 的整数)", raw)
        else:
            f.min_days_overdue = days
            out.values["min_days_overdue"] = raw

    raw = get("step")
    if raw:
        position = whole_number(raw, maximum=MAX_STEPS - 1)
        if position is None:
            bad(f"审核环节(应为 0 到 {MAX_STEPS - 1} 的整数)", raw)
        else:
            f.step = position
            out.values["step"] = raw

    raw = get("q")
    if raw:
        if len(raw) > MAX_Q:
            out.notes.append(f"关键词过长,只按前 {MAX_Q} 个字查找。")
            raw = raw[:MAX_Q]
        f.q = raw
        out.values["q"] = raw

    raw = get("sort")
    if raw:
        if raw in SORT_LABELS or raw in SORTS:
            out.sort = raw
            out.values["sort"] = raw
        else:
            bad("排序方式", raw)

    raw = get("page")
    if raw:
        page = page_number(raw)
        if page is not None:
            out.page = page
        else:
            bad("页码", raw)
    out.shown = describe(out.values, rounds, units)
    return out


def _only(label: str, _value: str) -> str:
    return "仅" + label


def describe(values: Mapping[str, str], rounds: Sequence[Round], units: Sequence[Unit]) -> dict[str, str]:
    """The filters in force, each said in Chinese, by query argument (sort and page are no filters)."""
    round_names = {str(r.id): r.name for r in rounds}
    unit_names = {u.code: u.name for u in units}
    said: dict[str, Callable[[str], str]] = {
        "round": lambda v: f"督察轮次:{round_names.get(v, v)}",
        "state": lambda v: f"状态:{STATE_FILTERS.get(v, v)}",
        "unit": lambda v: f"责任单位:{unit_names.get(v, v)}",
        "lead": lambda v: f"牵头单位:{unit_names.get(v, v)}",
        "light": lambda v: f"灯色:{LIGHT_LABELS.get(v, v)}",
        "category": lambda v: f"问题类别:{labels.CATEGORY_LABELS.get(v, v)}",
        "rectify_type": lambda v: f"整改类型:{labels.RECTIFY_TYPE_LABELS.get(v, v)}",
        "overdue": lambda v: OVERDUE_FILTERS.get(v, v),
        "late_period": lambda v: f"{v} 月未按时报送",
        "lead_only": lambda v: "仅本单位牵头",
        "waiting": lambda v: WAITING_FILTERS.get(v, v),
        "min_days_overdue": lambda v: f"逾期 {v} 天以上",
        "step": lambda v: f"审核中,待审核链第 {int(v) + 1} 个环节",
        "deadline_from": lambda v: f"整改时限不早于 {v}",
        "deadline_to": lambda v: f"整改时限不晚于 {v}",
        "q": lambda v: f"关键词:{v}",
    }
    for name in FLAGS:
        said[name] = functools.partial(_only, labels.FIGURE_LABELS[name])
    return {name: said[name](value) for name, value in values.items() if name in said}
