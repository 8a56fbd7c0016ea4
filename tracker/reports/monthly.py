"""The monthly summary report (月度整改进展情况) and the closures-by-month series.

The report for a month (YYYY-MM) gives, per round in the user's scope and in total:
the leaders' sentence, the counts by state (as of today), closed, closed in the month,
basically done, in progress, overdue at the month's end (as of today for the current
month), under supervision order and the completion rate; then the issues closed in the
month, the issues overdue at the month's end ranked by days overdue, and the lead units
whose progress report for the month was late or is missing.

Every figure is counted in the database (GROUP BY) over `scoping.visible_issues`, so the
number of queries does not depend on the number of issues, rounds or units. Month
boundaries are Beijing calendar days: `closed_at` (naive UTC) is turned into a local date
with `figures.local_date_of`.

What "open at a day" means for a past day: the issue is not merged and either is still
being rectified (整改中 / 基本完成) or left rectification (its closure request was submitted, or it
was closed without one) after that day. Issues reopened since are taken as open throughout.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, Any, Optional

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tracker.accounts.models import User
from tracker.core import enums, workflow
from tracker.core.clock import local_date, utc_offset_hours
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.labels import SUPERVISED_LABEL
from tracker.core.sql import days_between, local_date_of, local_month_of
from tracker.core.xlsx import xlsx_row, xlsx_text
from tracker.escalation.queries import due_date
from tracker.escalation.settings import get_settings
from tracker.issues import figures
from tracker.issues.models import Issue
from tracker.issues.scoping import area_units, visible_issues
from tracker.reports.dashboard import _flag
from tracker.reports.stats import RoundFigures, round_stats, summary_sentence
from tracker.rounds.models import Round
from tracker.units.models import Unit

# How many issues the page and the API list per section; the Excel workbook lists them all.
LIST_LIMIT = 200
# Rows fetched per round trip when the workbook streams its lists.
STREAM_BATCH = 500
# How many months the closures series covers, the current one included.
CLOSURE_MONTHS = 12
# The earliest month a report may be asked for.
FIRST_YEAR = 2000

_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


# --- months ------------------------------------------------------------------

def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return day.replace(day=1)


def next_month(start: date) -> date:
    """The first day of the month after the one starting at `start`."""
    return date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)


def previous_month(start: date) -> date:
    """The first day of the month before the one starting at `start`."""
    return date(start.year - 1, 12, 1) if start.month == 1 else date(start.year, start.month - 1, 1)


def parse_month(raw: Optional[str], today: date) -> date:
    """The first day of the report's month from "YYYY-MM"; the month before today's when empty.

    Refusal("bad_request") when the text is not a month, or the month is after the current one.
    """
    raw = (raw or "").strip()
    if not raw:
        return previous_month(month_start(today))
    match = _MONTH.match(raw)
    if not match or not 1 <= int(match[2]) <= 12:
        raise Refusal("bad_request", f"月份“{raw[:20]}”格式不正确,应为“年-月”,例如 2020-06。", "month")
    # Checked before building the date: year 0000 is no date at all (ValueError).
    if int(match[1]) < FIRST_YEAR:
        raise Refusal("bad_request", f"月份 {raw} 太早,最早可查看 {FIRST_YEAR}-01。", "month")
    start = date(int(match[1]), int(match[2]), 1)
    if start > month_start(today):
        raise Refusal("bad_request", f"月份 {raw} 尚未开始,只能查看本月及以前的月报。", "month")
    return start


# --- SQL conditions ----------------------------------------------------------

def _tz(config: Mapping[str, Any]) -> str:
    """The configured time zone's name."""
    return str(config.get("TIMEZONE", "Asia/Shanghai"))


def closed_between(first: date, last: date, hours: int) -> ColumnElement[bool]:
    """Issues closed (and still closed) on a local day from `first` to `last`, both included."""
    closed_on = local_date_of(Issue.closed_at, hours)
    return and_(Issue.state == workflow.CLOSED, Issue.closed_at.is_not(None),
                closed_on >= literal(first), closed_on <= literal(last))


# --- the report --------------------------------------------------------------

@dataclass
class MonthFigures:
    """One round's figures for the month (or, with no round, the total over the rounds)."""

    round: Optional[Round]
    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    closed_in_month: int = 0
    overdue: int = 0
    supervised: int = 0

    @property
    def basically_done(self) -> int:
        """Issues basically done (基本完成)."""
        return self.by_state.get(workflow.BASICALLY_DONE, 0)

    @property
    def in_progress(self) -> int:
        """Issues being rectified (整改中)."""
        return self.by_state.get(workflow.IN_PROGRESS, 0)

    @property
    def completion_rate(self) -> float:
        """Share of issues closed, in percent (0 with no issue)."""
        return round(100.0 * self.closed / self.total, 1) if self.total else 0.0

    def sentence(self) -> str:
        """The leaders' sentence (see `stats.summary_sentence`)."""
        return summary_sentence(self.total, self.closed, self.by_category)

    def add(self, other: MonthFigures) -> None:
        """Add another round's figures into these (for the total)."""
        self.total += other.total
        self.closed += other.closed
        self.closed_in_month += other.closed_in_month
        self.overdue += other.overdue
        self.supervised += other.supervised
        for state, n in other.by_state.items():
            self.by_state[state] = self.by_state.get(state, 0) + n
        for category, n in other.by_category.items():
            self.by_category[category] = self.by_category.get(category, 0) + n

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        out: dict[str, Any] = {}
        if self.round is not None:
            out["round"] = {"id": self.round.id, "name": self.round.name}
        out.update({
            "total": self.total,
            "by_category": dict(sorted(self.by_category.items())),
            "by_state": {s: self.by_state.get(s, 0) for s in enums.STATES},
            "closed": self.closed,
            "closed_in_month": self.closed_in_month,
            "basically_done": self.basically_done,
            "in_progress": self.in_progress,
            "overdue": self.overdue,
            "supervised": self.supervised,
            "completion_rate": self.completion_rate,
            "summary": self.sentence(),
        })
        return out


@dataclass(frozen=True)
class ClosedRow:
    """An issue closed in the month."""

    issue_id: int
    code: str
    title: str
    lead_unit: str
    closed_on: date

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"issue_id": self.issue_id, "code": self.code, "title": self.title, "lead_unit": self.lead_unit,
                "closed_on": self.closed_on.isoformat()}


@dataclass(frozen=True)
class OverdueRow:
    """An issue overdue at the month's end."""

    issue_id: int
    code: str
    title: str
    lead_unit: str
    deadline: date
    days_overdue: int

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"issue_id": self.issue_id, "code": self.code, "title": self.title, "lead_unit": self.lead_unit,
                "deadline": self.deadline.isoformat(), "days_overdue": self.days_overdue}


@dataclass(frozen=True)
class UnitReporting:
    """A lead unit's issues whose report for the month came late or has not come."""

    unit_id: int
    code: str
    name: str
    late: int
    missing: int

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"unit": {"id": self.unit_id, "code": self.code, "name": self.name},
                "late": self.late, "missing": self.missing}


@dataclass
class MonthlyReport:
    """The monthly summary report of one month as one user may see it."""

    start: date
    today: date
    rounds: list[MonthFigures]
    total: MonthFigures
    closed: list[ClosedRow]
    overdue: list[OverdueRow]
    reports_due: date
    reporting: list[UnitReporting]
    limit: int = LIST_LIMIT

    @property
    def month(self) -> str:
        """The month, "YYYY-MM"."""
        return f"{self.start:%Y-%m}"

    @property
    def end(self) -> date:
        """The month's last day."""
        return next_month(self.start) - timedelta(days=1)

    @property
    def current(self) -> bool:
        """Whether the month is today's (figures at its end are then as of today)."""
        return self.start == month_start(self.today)

    @property
    def as_of(self) -> date:
        """The day the overdue figures are taken at: the month's end, or today for the current month."""
        return min(self.end, self.today)

    @property
    def reports_checked(self) -> bool:
        """Whether the month's report due day has passed (before it, nothing is missing yet)."""
        return self.today > self.reports_due

    @property
    def title(self) -> str:
        """The report's title, e.g. 2020年6月整改进展情况."""
        return f"{self.start.year}年{self.start.month}月整改进展情况"

    @property
    def previous(self) -> str:
        """The month before, "YYYY-MM"."""
        return f"{previous_month(self.start):%Y-%m}"

    @property
    def following(self) -> Optional[str]:
        """The month after, "YYYY-MM", unless this is the current month."""
        return None if self.current else f"{next_month(self.start):%Y-%m}"

    def as_json(self) -> dict[str, Any]:
        """The JSON form for GET /api/v1/reports/monthly."""
        return {
            "month": self.month,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "today": self.today.isoformat(),
            "rounds": [r.as_json() for r in self.rounds],
            "total": self.total.as_json(),
            "closed_in_month": {"count": self.total.closed_in_month, "limit": self.limit,
                                "items": [row.as_json() for row in self.closed]},
            "overdue": {"count": self.total.overdue, "limit": self.limit,
                        "items": [row.as_json() for row in self.overdue]},
            "reports": {"due_on": self.reports_due.isoformat(), "checked": self.reports_checked,
                        "units": [u.as_json() for u in self.reporting]},
        }


def _month_figures(session: DbSession, user: User, start: date, as_of: date, hours: int, tz: str,
                   rounds: list[RoundFigures]) -> list[MonthFigures]:
    """The per-round figures: today's totals from `stats.round_stats`, and one grouped query for the
    month's closures and the overdue issues at `as_of` (by the deadline in force then)."""
    end = next_month(start) - timedelta(days=1)
    month = dict((rid, (int(c or 0), int(o or 0))) for rid, c, o in session.execute(
        select(Issue.round_id, func.sum(_flag(closed_between(start, end, hours))),
               func.sum(_flag(figures.overdue_on(as_of, hours, tz))))
        .where(visible_issues(user)).group_by(Issue.round_id)))
    out = []
    for r in rounds:
        closed_in_month, overdue = month.get(r.round.id, (0, 0))
        out.append(MonthFigures(
            round=r.round, total=r.totals.total, by_state=dict(r.totals.by_state),
            by_category={c: n for c, (n, _k) in r.totals.by_category.items()}, closed=r.totals.closed,
            closed_in_month=closed_in_month, overdue=overdue, supervised=r.supervised))
    return out


def _closed_stmt(user: User, start: date, hours: int):
    end = next_month(start) - timedelta(days=1)
    return (select(Issue.id, Issue.code, Issue.title, Unit.name, Issue.closed_at)
            .join(Unit, Unit.id == Issue.lead_unit_id)
            .where(visible_issues(user), closed_between(start, end, hours))
            .order_by(Issue.closed_at, Issue.id))


def _overdue_stmt(user: User, as_of: date, hours: int, tz: str):
    deadline = figures.deadline_on(figures.end_of_day_utc(as_of, tz))
    days = days_between(deadline, literal(as_of))
    return (select(Issue.id, Issue.code, Issue.title, Unit.name, deadline, days)
            .join(Unit, Unit.id == Issue.lead_unit_id)
            .where(visible_issues(user), figures.overdue_on(as_of, hours, tz))
            .order_by(days.desc(), Issue.code))


def _rows(session: DbSession, stmt, limit: Optional[int]):
    """Execute a list query: the first `limit` rows, or all of them streamed in batches."""
    if limit is not None:
        return session.execute(stmt.limit(limit))
    return session.execute(stmt.execution_options(yield_per=STREAM_BATCH))


def closed_rows(session: DbSession, user: User, start: date, config: dict,
                limit: Optional[int] = LIST_LIMIT) -> Iterator[ClosedRow]:
    """The issues in scope closed in the month (by Beijing date), earliest first: one query."""
    hours = utc_offset_hours(start, _tz(config))
    tz = config.get("TIMEZONE", "Asia/Shanghai")
    for issue_id, code, title, unit, closed_at in _rows(session, _closed_stmt(user, start, hours), limit):
        yield ClosedRow(issue_id, code, title, unit, local_date(closed_at, tz))


def overdue_rows(session: DbSession, user: User, as_of: date, config: dict,
                 limit: Optional[int] = LIST_LIMIT) -> Iterator[OverdueRow]:
    """The issues in scope overdue at `as_of` by the deadline in force then, most days overdue first: one query."""
    hours = utc_offset_hours(as_of, _tz(config))
    for issue_id, code, title, unit, deadline, days in _rows(session, _overdue_stmt(user, as_of, hours, _tz(config)),
                                                             limit):
        yield OverdueRow(issue_id, code, title, unit, deadline, int(days or 0))


def _reporting(session: DbSession, user: User, start: date) -> tuple[date, list[UnitReporting]]:
    """The report due day of the month, and per lead unit its late reports of the month (未按时报送, the
    marks of the monthly cycle): those that came late and those still missing; for an office serving an area,
    the lead units inside it. Two queries (settings, counts)."""
    settings = get_settings(session)
    period = f"{start:%Y-%m}"
    due = due_date(period, settings)
    late = and_(figures.has_late_report(period), ~figures.still_missing(period))
    missing = figures.still_missing(period)
    late_n, missing_n = func.sum(_flag(late)), func.sum(_flag(missing))
    scope = [visible_issues(user)]
    area = area_units(user)
    if area is not None:  # an office lists only the lead units it serves
        scope.append(Issue.lead_unit_id.in_(area))
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name, late_n, missing_n).select_from(Issue)
        .join(Unit, Unit.id == Issue.lead_unit_id)
        .where(*scope, or_(late, missing))
        .group_by(Unit.id, Unit.code, Unit.name)
        .order_by((late_n + missing_n).desc(), Unit.code)).all()
    return due, [UnitReporting(uid, code, name, int(n or 0), int(m or 0)) for uid, code, name, n, m in rows]


def monthly_report(session: DbSession, user: User, start: date, today: date, config: dict,
                   limit: Optional[int] = LIST_LIMIT) -> MonthlyReport:
    """The report of the month starting at `start`, in the user's scope; lists hold at most `limit` rows
    (0: none). Eight queries whatever the data: three for today's totals (`stats.round_stats`), one for
    the month's figures per round, one per list, two for the report lateness."""
    end = next_month(start) - timedelta(days=1)
    as_of = min(end, today)
    hours = utc_offset_hours(start, _tz(config))
    rounds = _month_figures(session, user, start, as_of, hours, _tz(config), round_stats(session, user, today, config))
    total = MonthFigures(round=None)
    for r in rounds:
        total.add(r)
    closed = list(closed_rows(session, user, start, config, limit)) if limit != 0 else []
    overdue = list(overdue_rows(session, user, as_of, config, limit)) if limit != 0 else []
    due, reporting = _reporting(session, user, start)
    return MonthlyReport(start, today, rounds, total, closed, overdue, due, reporting, limit or 0)


# --- the workbook ------------------------------------------------------------

SUMMARY_COLUMNS = ("督察轮次", "问题总数", "整改中", "基本完成", "待验收", "待销号", "已销号", "本月销号",
                   "逾期", SUPERVISED_LABEL, "完成率(%)")
CLOSED_COLUMNS = ("序号", "问题编号", "问题", "牵头单位", "销号日期")
OVERDUE_COLUMNS = ("序号", "问题编号", "问题", "牵头单位", "整改时限", "逾期天数")
REPORTING_COLUMNS = ("序号", "牵头单位", "逾期报送(项)", "未报送(项)")


def _summary_row(name: str, f: MonthFigures) -> list[Any]:
    return [name, f.total, f.in_progress, f.basically_done, f.by_state.get(workflow.SUBMITTED, 0),
            f.by_state.get(workflow.VERIFIED, 0), f.closed, f.closed_in_month, f.overdue, f.supervised,
            f.completion_rate]


def _sheet(wb: Workbook, title: str, columns: Iterable[str], widths: Iterable[int]):
    ws = wb.create_sheet(title)
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    return ws


def _header(ws, columns: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for title in columns:
        cell = WriteOnlyCell(ws, value=xlsx_text(title))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cells.append(cell)
    return cells


def write_xlsx(session: DbSession, user: User, start: date, today: date, config: dict, stream: IO[bytes]) -> None:
    """Write the month's report as a workbook (sheets 汇总, 本月销号, 逾期问题, 报送情况) to a binary stream.

    The two issue lists are streamed from the database in batches, not limited, and written
    row by row (openpyxl's write-only mode), so memory stays flat whatever their length.
    """
    report = monthly_report(session, user, start, today, config, limit=0)
    wb = Workbook(write_only=True)

    ws = _sheet(wb, "汇总", SUMMARY_COLUMNS, (30,) + (10,) * (len(SUMMARY_COLUMNS) - 1))
    ws.append([WriteOnlyCell(ws, value=xlsx_text(report.title))])
    ws.append(xlsx_row(ws, [f"统计月份:{report.month};问题状态截至 {today:%Y-%m-%d},"
                        f"逾期截至 {report.as_of:%Y-%m-%d}。"]))
    ws.append([])
    ws.append(_header(ws, SUMMARY_COLUMNS))
    for r in report.rounds:
        assert r.round is not None  # only the total is of no round
        ws.append(xlsx_row(ws, _summary_row(r.round.name, r)))
    ws.append(xlsx_row(ws, _summary_row("合计", report.total)))
    ws.append([])
    ws.append(xlsx_row(ws, [f"总体:{report.total.sentence()}"]))
    for r in report.rounds:
        assert r.round is not None
        ws.append(xlsx_row(ws, [f"{r.round.name}:{r.sentence()}"]))

    ws = _sheet(wb, "本月销号", CLOSED_COLUMNS, (6, 16, 50, 24, 12))
    ws.append(_header(ws, CLOSED_COLUMNS))
    for n, closed in enumerate(closed_rows(session, user, start, config, limit=None), 1):
        ws.append(xlsx_row(ws, [n, closed.code, closed.title, closed.lead_unit, closed.closed_on]))

    ws = _sheet(wb, "逾期问题", OVERDUE_COLUMNS, (6, 16, 50, 24, 12, 10))
    ws.append(_header(ws, OVERDUE_COLUMNS))
    for n, overdue in enumerate(overdue_rows(session, user, report.as_of, config, limit=None), 1):
        ws.append(xlsx_row(ws, [n, overdue.code, overdue.title, overdue.lead_unit, overdue.deadline,
                                overdue.days_overdue]))

    ws = _sheet(wb, "报送情况", REPORTING_COLUMNS, (6, 30, 14, 12))
    ws.append(xlsx_row(ws, [f"{report.month} 月度进展报送截止日:{report.reports_due:%Y-%m-%d}"
                        + ("" if report.reports_checked else "(尚未到期,暂不统计未报送)")]))
    ws.append(_header(ws, REPORTING_COLUMNS))
    for n, unit in enumerate(report.reporting, 1):
        ws.append(xlsx_row(ws, [n, unit.name, unit.late, unit.missing]))
    wb.save(stream)


def xlsx_filename(start: date) -> str:
    """The workbook's download name, e.g. 月度整改进展情况-2020-06.xlsx."""
    return f"月度整改进展情况-{start:%Y-%m}.xlsx"


# --- closures by month -------------------------------------------------------

@dataclass(frozen=True)
class MonthCount:
    """Issues closed in one month."""

    month: str
    closed: int

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"month": self.month, "closed": self.closed}


def closures_by_month(session: DbSession, user: User, today: date, config: dict,
                      round_id: Optional[int] = None, months: int = CLOSURE_MONTHS) -> list[MonthCount]:
    """Issues in scope (and round) closed per month (Beijing dates) over the last `months` months, the
    current one included, oldest first; months with none are listed with 0. One query (GROUP BY month)."""
    first = month_start(today)
    for _ in range(months - 1):
        first = previous_month(first)
    hours = utc_offset_hours(today, _tz(config))
    month = local_month_of(Issue.closed_at, hours)
    stmt = (select(month, func.count()).where(visible_issues(user), closed_between(first, today, hours))
            .group_by(month))
    if round_id is not None:
        stmt = stmt.where(Issue.round_id == round_id)
    counts = {str(m): int(n) for m, n in session.execute(stmt)}
    out, start = [], first
    for _ in range(months):
        key = f"{start:%Y-%m}"
        out.append(MonthCount(key, counts.get(key, 0)))
        start = next_month(start)
    return out
