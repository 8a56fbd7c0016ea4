"""The unit scorecard (单位考评): each lead unit's figures and a score from deductions, ranked.

The deductions (扣分规则) are stored as JSON under the key "scorecard" in `job_settings`
and edited by admins. `get_rules` never fails: a missing or unreadable stored value
falls back to the defaults (and is logged). `save_rules` validates everything it is
given and refuses a malformed value with Refusal("invalid", message, field).

The figures are `stats.unit_stats` (counted in SQL, scoped by `visible_issues`), so a
scorecard costs the same few queries whatever the number of units or issues:

    score = max(0, base − overdue×d1 − late reports×d2 − supervised issues×d3 − interviewed issues×d4)

Each count is a `tracker.issues.figures` figure, counted as everywhere else: overdue issues, late
reports (one per issue and period), issues under supervision order, issues interviewed. An issue
under supervision is counted once however many supervision rungs the ladder has.

Units are ranked by score (highest first); equal scores share a rank (1, 1, 3), listed by
unit code. A unit user sees only its own unit's row (the issues it leads) and no rank:
its scope holds other units' issues only where it cooperates, which would score them
on a fraction of their issues, and a rank would tell it about units it may not see.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Optional

from tracker.accounts.models import User
from tracker.core import permissions
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.labels import FIGURE_LABELS
from tracker.core.models import JobSetting
from tracker.core.permissions import Permission
from tracker.core.settings import put_setting
from tracker.core.xlsx import xlsx_row, xlsx_text
from tracker.reports.stats import UnitFigures, unit_stats

log = logging.getLogger(__name__)

# The row of `job_settings` that holds the rules.
SETTING_KEY = "scorecard"
# The rules, in the order the form and the rules sentence list them.
FIELDS = ("base", "overdue", "late_report", "supervision_order", "interview")
FIELD_LABELS = {
    "base": "基础分",
    "overdue": "每个逾期问题扣分",
    "late_report": "每次未按时报送扣分",
    "supervision_order": "每个挂牌督办问题扣分",
    "interview": "每个约谈/通报问题扣分",
}
# What each deduction counts, in the page's column headers and the rules sentence.
DEDUCTION_LABELS = {
    "overdue": "逾期问题",
    "late_report": FIGURE_LABELS["late_report"],
    "supervision_order": FIGURE_LABELS["supervised"],
    "interview": FIGURE_LABELS["interviewed"],
}
DEDUCTIONS = tuple(DEDUCTION_LABELS)
# "Per occurrence" in the rules sentence.
PER = {"overdue": "每个逾期问题", "late_report": "每次未按时报送", "supervision_order": "每个挂牌督办问题",
       "interview": "每个约谈/通报问题"}
MAX_VALUE = Decimal(100)
TENTH = Decimal("0.1")


def _figure(unit: UnitFigures, kind: str) -> int:
    """How many times a unit incurred a deduction of `kind`."""
    return {
        "overdue": unit.overdue,
        "late_report": unit.late_reports,
        "supervision_order": unit.supervision_orders,
        "interview": unit.interviews,
    }[kind]


def _plain(value: Decimal) -> int | float:
    """A JSON number: whole values as int, others with their one decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


def format_number(value: Decimal) -> str:
    """A score or deduction for people: "100", "97.5"."""
    return str(_plain(value))


@dataclass(frozen=True)
class Rules:
    """The scorecard's base score and deduction per occurrence (0 to 100, at most one decimal)."""

    base: Decimal = Decimal(100)
    overdue: Decimal = Decimal(2)
    late_report: Decimal = Decimal(1)
    supervision_order: Decimal = Decimal(5)
    interview: Decimal = Decimal(0)  # 约谈/通报 is not deducted unless an admin sets it

    def deduction(self, kind: str) -> Decimal:
        """The deduction per occurrence of `kind` (a key of DEDUCTION_LABELS)."""
        return getattr(self, kind)

    def as_data(self) -> dict[str, int | float]:
        """The rules as plain JSON-ready numbers (what is stored and what the API returns)."""
        return {name: _plain(getattr(self, name)) for name in FIELDS}

    def sentence(self) -> str:
        """The rules in one Chinese sentence, e.g. "基础分 100 分;每个逾期问题扣 2 分、……"."""
        parts = [f"{PER[k]}扣 {format_number(self.deduction(k))} 分" for k in DEDUCTIONS if self.deduction(k)]
        free = [DEDUCTION_LABELS[k] for k in DEDUCTIONS if not self.deduction(k)]
        text = f"基础分 {format_number(self.base)} 分"
        if parts:
            text += ";" + "、".join(parts)
        if free:
            text += ";" + "、".join(free) + "不扣分"
        return text + ";扣完为止(最低 0 分)。"


DEFAULTS = Rules()


# --- validation --------------------------------------------------------------

def _number(value: Any, name: str) -> Decimal:
    """A rule's value from a form (text) or JSON (number): 0 to 100, at most one decimal place."""
    label = FIELD_LABELS.get(name, name)
    message = f"{label}必须是 0 到 100 之间的数,最多一位小数。"
    if isinstance(value, bool) or value is None:
        raise Refusal("invalid", message, name)
    text = str(value).strip() if not isinstance(value, (int, float)) else repr(value)
    if not text or len(text) > 12:
        raise Refusal("invalid", message, name)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refusal("invalid", message, name) from None
    if not number.is_finite() or not Decimal(0) <= number <= MAX_VALUE:
        raise Refusal("invalid", message, name)
    if number != number.quantize(TENTH):
        raise Refusal("invalid", message, name)
    return abs(number.quantize(TENTH))  # abs: "-0" is stored as 0


def _validate(data: Mapping[str, Any], current: Rules) -> Rules:
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        name = str(unknown[0])[:40]
        raise Refusal("invalid", f"未知的考评设置项:{name}", name)
    values = {name: getattr(current, name) for name in FIELDS}
    for name in FIELDS:
        if name in data:
            values[name] = _number(data[name], name)
    return Rules(**values)


# --- reading and saving ------------------------------------------------------

def get_rules(session: DbSession) -> Rules:
    """The current rules: stored values over the defaults; an unreadable one falls back (one query)."""
    row = session.get(JobSetting, SETTING_KEY)
    if row is None:
        return DEFAULTS
    try:
        stored = json.loads(row.value)
    except ValueError as exc:
        log.warning("scorecard setting is unreadable (%s); using the defaults", exc)
        return DEFAULTS
    if not isinstance(stored, dict):
        log.warning("scorecard setting is not an object; using the defaults")
        return DEFAULTS
    values = {name: getattr(DEFAULTS, name) for name in FIELDS}
    for name, raw in stored.items():
        if name not in FIELDS:
            continue
        try:
            values[name] = _number(raw, name)
        except Refusal as exc:
            log.warning("scorecard setting %s is unreadable (%s); using the default", name, exc)
    return Rules(**values)


def save_rules(session: DbSession, actor: Optional[User], data: Mapping[str, Any],
               now: Optional[datetime] = None) -> Rules:
    """Validate and store the rules given in `data` (others stay); admins only (None: the system)."""
    permissions.require(actor, Permission.ADMINISTER, doing="修改单位考评扣分规则")
    before = get_rules(session)
    rules = _validate(data, before)
    from tracker.core.clock import utcnow

    stamp = now or utcnow()
    put_setting(session, SETTING_KEY, rules.as_data(), actor, stamp)
    session.flush()
    # Settings have no event trail of their own; the log records who changed the scoring and how.
    log.info("scorecard rules changed by %s: %s -> %s", actor.username if actor else "system",
             before.as_data(), rules.as_data())
    return rules


# --- the scorecard -----------------------------------------------------------

@dataclass
class UnitScore:
    """One unit's line of the scorecard: its figures, each deduction, its score and rank."""

    figures: UnitFigures
    deductions: dict[str, Decimal]
    score: Decimal
    rank: Optional[int] = None  # None: not ranked (a unit user's own view)

    @property
    def total_deduction(self) -> Decimal:
        """All deductions together (before the floor at 0)."""
        return sum(self.deductions.values(), Decimal(0))

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        f = self.figures
        return {
            "rank": self.rank,
            "unit": {"id": f.unit_id, "code": f.code, "name": f.name},
            "assigned": f.assigned, "closed": f.closed, "closed_on_time": f.closed_on_time,
            "overdue": f.overdue, "late_reports": f.late_reports,
            "supervision_orders": f.supervision_orders, "interviews": f.interviews,
            "deductions": {k: _plain(v) for k, v in self.deductions.items()},
            "score": _plain(self.score),
        }


@dataclass
class Scorecard:
    """The rules and the units' lines, best score first."""

    rules: Rules
    units: list[UnitScore] = field(default_factory=list)
    ranked: bool = True

    def as_json(self) -> dict[str, Any]:
        """The JSON form for the API."""
        return {"rules": self.rules.as_data(), "rules_text": self.rules.sentence(), "ranked": self.ranked,
                "units": [u.as_json() for u in self.units]}


def score_unit(rules: Rules, unit: UnitFigures) -> UnitScore:
    """A unit's deductions and score under the rules: max(0, base − Σ count × deduction)."""
    deductions = {kind: _figure(unit, kind) * rules.deduction(kind) for kind in DEDUCTIONS}
    score = max(Decimal(0), rules.base - sum(deductions.values(), Decimal(0)))
    return UnitScore(unit, deductions, score)


def rank(lines: list[UnitScore]) -> list[UnitScore]:
    """Sort by score (highest first), then unit code; equal scores share a rank (1, 1, 3)."""
    ordered = sorted(lines, key=lambda u: (-u.score, u.figures.code))
    for position, line in enumerate(ordered, start=1):
        tied = position > 1 and ordered[position - 2].score == line.score
        line.rank = ordered[position - 2].rank if tied else position
    return ordered


def scorecard(session: DbSession, user: User, today: date, config: dict,
              round_id: Optional[int] = None) -> Scorecard:
    """The scorecard over the lead units in the user's scope (and round): four queries.

    Only units that lead at least one issue in scope are scored. A unit user gets its own
    unit's line, unranked (see the module docstring).
    """
    rules = get_rules(session)
    if not permissions.can(user, Permission.RANK_UNITS):
        if user.unit_id is None:
            return Scorecard(rules, [], ranked=False)
        units = unit_stats(session, user, today, config, round_id, lead_unit_id=user.unit_id)
        return Scorecard(rules, [score_unit(rules, u) for u in units], ranked=False)
    units = unit_stats(session, user, today, config, round_id)
    return Scorecard(rules, rank([score_unit(rules, u) for u in units]))


# --- Excel -------------------------------------------------------------------

COLUMNS = ("排名", "单位编码", "单位", "牵头问题", "已销号", "按期销号", "逾期问题", "未按时报送", "挂牌督办",
           "约谈/通报", "逾期扣分", "未按时报送扣分", "挂牌督办扣分", "约谈/通报扣分", "得分")


def _header(ws, values: list[Any]) -> list[Any]:
    """Bold, centred header cells."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    out = []
    for value in values:
        cell = WriteOnlyCell(ws, value=xlsx_text(value))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        out.append(cell)
    return out


def _cells(ws, values: list[Any]) -> list[Any]:
    """One data row as the ledger writes it (formula-like text kept as text), Decimals as numbers."""
    return xlsx_row(ws, [_plain(v) if isinstance(v, Decimal) else v for v in values])


def write_xlsx(card: Scorecard, title: str, stream: IO[bytes]) -> None:
    """Write the scorecard as a one-sheet workbook (Chinese headers, the rules atop) to a binary stream."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("单位考评")
    for index, width in enumerate((6, 14, 28) + (10,) * (len(COLUMNS) - 3), 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.append(_header(ws, [title]))
    ws.append(_cells(ws, [f"扣分规则:{card.rules.sentence()}"]))
    ws.append([])
    ws.append(_header(ws, list(COLUMNS)))
    for line in card.units:
        f = line.figures
        ws.append(_cells(ws, [
            line.rank if line.rank is not None else "—", f.code, f.name, f.assigned, f.closed, f.closed_on_time,
            f.overdue, f.late_reports, f.supervision_orders, f.interviews,
            *(line.deductions[k] for k in DEDUCTIONS), line.score]))
    wb.save(stream)
