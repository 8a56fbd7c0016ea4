"""The rectification ledger import (台账导入): read an Excel ledger into a preview, then apply it.

`read_ledger` reads the workbook (openpyxl read-only mode, values not formulas), maps its
header names to fields, matches rounds and units, parses dates and labels, and collects
every row's errors by row and column; it writes nothing. `apply_ledger` creates the new
issues and updates the existing ones (matched by code) through the issue services, and only
for a preview without errors. Export (services/ledger.py) then import gives back the same
ledger: the columns the import cannot set (progress, state, overdue, closing date) come
from the tracker's own records and are only compared, never written.
"""
from __future__ import annotations

import calendar
import hashlib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Optional, TypedDict

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from sqlalchemy import func, select

from tracker.accounts.models import User
from tracker.core import labels, permissions, workflow
from tracker.core.antivirus import ClamdScanner, check_upload
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.files import ArchiveLimits, archive_limits, check_archive
from tracker.core.permissions import Permission
from tracker.core.text import clean_text
from tracker.issues import services as issue_service
from tracker.issues.models import Event, Issue
from tracker.rounds.models import Round
from tracker.units.match import suggest_unit
from tracker.units.models import Unit

DEFAULT_MAX_ROWS = 20000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
TITLE_LENGTH = 60
HEADER_SCAN_ROWS = 10  # a ledger may have a title row or two above its header
CODE_CHUNK = 500
PROGRESS_EVERY = 200  # read_ledger and apply_ledger report progress after this many rows
PREVIEW_ROWS = 200  # rows shown in the preview table
STORED_MESSAGES_MAX = 2000  # errors (and warnings) kept in a preview job's result
ROW_TAG = b"<row "

# Field -> header names it may go by (after normalising); the export's own names come first.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("问题编号", "编号", "问题代码"),
    "round": ("督察轮次", "轮次", "督察批次", "督察名称"),
    "category": ("问题类别", "类别", "问题类型"),
    "title": ("问题标题", "标题"),
    "description": ("问题描述", "问题内容", "反馈问题", "存在问题", "具体问题"),
    "target": ("整改目标",),
    "measures": ("整改措施",),
    "lead_unit": ("牵头单位", "责任单位", "牵头责任单位"),
    "cooperating_units": ("配合单位", "协办单位", "配合责任单位"),
    "responsible_leader": ("责任领导", "牵头领导"),
    "responsible_person": ("责任人",),
    # The export names the deadline in force 现整改时限 (beside 原定整改时限, which is not read back).
    "deadline": ("整改时限", "现整改时限", "完成时限", "整改期限"),
    "rectify_type": ("整改类型", "整改方式"),
    "state": ("状态", "整改状态"),
    "assigned_on": ("交办日期",),
}
# Column titles shown in errors: the export's names.
FIELD_LABELS = {name: aliases[0] for name, aliases in HEADER_ALIASES.items()}
REQUIRED = ("code", "description", "lead_unit", "deadline")
TEXT_FIELDS = ("target", "measures", "responsible_leader", "responsible_person")
DEFAULT_CATEGORY = "feedback"
DEFAULT_RECTIFY_TYPE = "deadline"
UNIT_SPLIT_RE = re.compile(r"[、,,;;/\s]+")
SENTENCE_END_RE = re.compile(r"[。;;!?!?\n]")

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IMPORTS_FOLDER = "imports"
UPLOAD_GONE = "找不到已上传的台账文件,请重新上传。"

# Why an imported ledger moved a deadline, as its history says.
IMPORT_REASON = "台账导入"

NOT_A_WORKBOOK = "无法读取该文件:请上传 Excel 工作簿(.xlsx);旧版 .xls 文件请先在 Excel 中另存为 .xlsx。"

_FULL_TO_HALF = str.maketrans({"(": "(", ")": ")", "【": "(", "】": ")", "[": "(", "]": ")", "\u3000": " "})
_DATE_PATTERNS = (
    # 2020-06-30, 2020/6/30, 2020.6.30
    (re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s+00:00(?::00)?)?$"), "day"),
    # 2020年6月30日, 2020年6月30日前
    (re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*(?:之前|以前|前)?$"), "day"),
    # 2020年6月底前, 2020年6月底, 2020年6月
    (re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(?:底|末)?\s*(?:之前|以前|前)?$"), "month"),
    # 2020年底前, 2020年底, 2020年末
    (re.compile(r"^(\d{4})\s*年\s*(?:底|末)\s*(?:之前|以前|前)?$"), "year"),
)


@dataclass
class LedgerRow:
    """One data row of the ledger: where it is, what it sets, and what applying it does."""

    row: int
    code: str
    data: dict[str, Any]
    values: dict[str, str]  # the cells as read, by export column title, for the preview page
    issue_id: Optional[int] = None  # the existing issue with this code
    action: str = "create"  # create | update | unchanged
    changes: dict[str, Any] = field(default_factory=dict)
    # What each changing cell holds in the tracker today, by column title, as a ledger writes it.
    was: dict[str, str] = field(default_factory=dict)


@dataclass
class Preview:
    """What importing the ledger would do; `errors` empty means it may be applied."""

    columns: list[str]
    rows: list[LedgerRow]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """Whether the ledger may be applied."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """How many rows would create, update, or leave an issue unchanged."""
        result = {"create": 0, "update": 0, "unchanged": 0}
        for row in self.rows:
            result[row.action] += 1
        return result


@dataclass
class ShownRow:
    """One row of the preview table: its row number, what applying it does, its cells, and the
    tracker's current value of each cell the row would change (by column title)."""

    row: int
    action: str
    values: dict[str, str]
    was: dict[str, str] = field(default_factory=dict)


@dataclass
class PreviewPage:
    """What the preview page shows, from a fresh `Preview` or from a preview job's stored result.

    `errors` and `warnings` may be the first STORED_MESSAGES_MAX of `error_count` and
    `warning_count`; `shown_rows` are the first PREVIEW_ROWS rows of `row_count`.
    """

    columns: list[str]
    row_count: int
    action_counts: dict[str, int]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    error_count: int
    warning_count: int
    shown_rows: list[ShownRow]

    @property
    def ok(self) -> bool:
        """Whether the ledger may be applied (the confirmation checks the file again)."""
        return self.error_count == 0

    def counts(self) -> dict[str, int]:
        """How many rows would create, update, or leave an issue unchanged."""
        return dict(self.action_counts)

    @classmethod
    def from_preview(cls, preview: Preview, shown: int = PREVIEW_ROWS,
                     messages_max: Optional[int] = None) -> PreviewPage:
        """The page of a fresh preview; every error and warning unless `messages_max` caps them."""
        def first(items: list) -> list:
            return list(items if messages_max is None else items[:messages_max])

        return cls(columns=list(preview.columns), row_count=len(preview.rows), action_counts=preview.counts(),
                   errors=first(preview.errors), warnings=first(preview.warnings),
                   error_count=len(preview.errors), warning_count=len(preview.warnings),
                   shown_rows=[ShownRow(row.row, row.action, dict(row.values), dict(row.was))
                               for row in preview.rows[:shown]])

    def to_json(self) -> dict[str, Any]:
        """The page as JSON-ready values (a preview job's stored result)."""
        return {"columns": self.columns, "rows": self.row_count, "counts": self.action_counts,
                "errors": self.errors, "warnings": self.warnings, "error_count": self.error_count,
                "warning_count": self.warning_count,
                "shown_rows": [{"row": r.row, "action": r.action, "values": r.values, "was": r.was}
                               for r in self.shown_rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreviewPage:
        """The page back from `to_json`."""
        return cls(columns=list(data["columns"]), row_count=int(data["rows"]), action_counts=dict(data["counts"]),
                   errors=list(data["errors"]), warnings=list(data["warnings"]),
                   error_count=int(data["error_count"]), warning_count=int(data["warning_count"]),
                   shown_rows=[ShownRow(r["row"], r["action"], dict(r["values"]), dict(r.get("was") or {}))
                               for r in data["shown_rows"]])


def normalise_header(value: Any) -> str:
    """A header cell as a comparable name: no spaces, half-width brackets, no notes in brackets, no '*'."""
    text = str(value or "").translate(_FULL_TO_HALF)
    text = re.sub(r"\s+", "", text).replace("*", "")
    # "整改时限(年月日)" and "牵头单位(名称)" name the same columns.
    stripped = re.sub(r"\([^)]*\)", "", text)
    return stripped or text


_HEADER_LOOKUP = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}


def _map_header(cells: tuple) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _HEADER_LOOKUP.get(normalise_header(cell))
        if name and name not in mapping:
            mapping[name] = index
    return mapping


def cell_text(value: Any) -> str:
    """A cell's value as stripped text cleaned of invisible characters (`clean_text`); whole
    numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(str(value)).strip()


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_ledger_date(value: Any) -> Optional[date]:
    """A deadline cell as a date: an Excel date, `2020-06-30`, `2020/6/30`, `2020年6月30日`,
    `2020年6月底前` (the month's last day) or `2020年底前` (31 December); None if unreadable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A date cell that lost its date format reads as Excel's day number.
        if 1 <= value < 2958466:
            try:
                return from_excel(value).date()
            except (ValueError, OverflowError):
                return None
        return None
    text = str(value or "").strip().translate(_FULL_TO_HALF)
    for pattern, kind in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        try:
            year = int(match.group(1))
            if kind == "year":
                return date(year, 12, 31)
            month = int(match.group(2))
            if kind == "month":
                return _month_end(year, month)
            return date(year, month, int(match.group(3)))
        except ValueError:
            return None
    return None


def title_from(description: str) -> str:
    """A title for a ledger row without one: the description's first sentence, at most 60 characters."""
    text = description.strip()
    match = SENTENCE_END_RE.search(text)
    first = text[:match.start()].strip() if match and match.start() > 0 else text
    return first[:TITLE_LENGTH]


class _Lookup:
    """Rounds and units by name (and units by code), loaded once for the whole file."""

    def __init__(self, session: DbSession):
        units = session.execute(select(Unit.id, Unit.code, Unit.name)).all()
        self.unit_by_name = {name: code for _id, code, name in units}
        self.unit_codes = {code for _id, code, _name in units}
        self.unit_names = list(self.unit_by_name)
        rounds = session.execute(select(Round.id, Round.name, Round.feedback_date)).all()
        self.round_by_name = {name: (rid, feedback) for rid, name, feedback in rounds}
        self.round_by_id = {rid: (rid, feedback) for rid, _name, feedback in rounds}
        self.round_names = list(self.round_by_name)

    def unit(self, name: str) -> tuple[Optional[str], Optional[str]]:
        """(unit code, None) or (None, error message with the closest unit's name)."""
        if name in self.unit_by_name:
            return self.unit_by_name[name], None
        if name in self.unit_codes:
            return name, None
        hint = suggest_unit(name, self.unit_names)
        return None, f"未找到单位「{name}」" + (f",是否为「{hint}」?" if hint else "。")

    def round(self, name: str) -> tuple[Optional[tuple], Optional[str]]:
        """((round id, feedback date), None) or (None, error message)."""
        if name in self.round_by_name:
            return self.round_by_name[name], None
        hint = suggest_unit(name, self.round_names)
        return None, f"未找到督察轮次「{name}」" + (f",是否为「{hint}」?" if hint else ",请先登记该轮次。")


# How an uploaded ledger is named in a scanner's refusal (its own name is not kept).
LEDGER_FILENAME = "台账"


def _open_workbook(stream: IO[bytes], max_bytes: int, archive: Optional[ArchiveLimits] = None,
                   scanner: Optional[ClamdScanner] = None, user: Optional[str] = None):
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refusal("too_large", f"文件过大:台账不能超过 {max_bytes // (1024 * 1024)} MB。", "file")
    if not data:
        raise Refusal("invalid", "上传的文件是空的,请选择台账文件。", "file")
    check_upload(scanner, data, LEDGER_FILENAME, user=user)  # before any parser touches it (ASVS 12.4.2)
    # Before openpyxl unpacks anything: a small file may unpack to gigabytes (ASVS 12.1.2).
    check_archive(data, archive or ArchiveLimits())
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (BadZipFile, KeyError, InvalidFileException...)
        raise Refusal("invalid", NOT_A_WORKBOOK, "file") from None


def _find_header(wb) -> tuple[Any, int, dict[str, int]]:
    """The first sheet with the ledger's header row in its first rows: (sheet, header row number, mapping)."""
    best: Optional[dict[str, int]] = None
    for ws in wb.worksheets:
        for number, cells in enumerate(ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True), 1):
            mapping = _map_header(cells)
            if "code" in mapping and "description" in mapping:
                return ws, number, mapping
            if best is None or len(mapping) > len(best):
                best = mapping
    return None, 0, best or {}


def _estimated_rows(wb, ws) -> int:
    """The sheet's row count as its dimension says, else from counting its <row> tags; 0 if unknown.

    Files from write-only mode (the tracker's own export) have no dimension; counting the tags
    of the sheet's XML takes a few per cent of the time the parse takes.
    """
    if ws.max_row:
        return int(ws.max_row)
    try:
        count, tail = 0, b""
        with wb._archive.open(ws._worksheet_path) as source:  # openpyxl read-only internals
            while chunk := source.read(1 << 20):
                data = tail + chunk
                count += data.count(ROW_TAG)
                tail = data[-(len(ROW_TAG) - 1):]  # too short to hold a whole tag: nothing counted twice
        return count
    except Exception:  # an estimate only: any surprise means "unknown"
        return 0


def read_ledger(stream: IO[bytes], session: DbSession, max_rows: int = DEFAULT_MAX_ROWS,
                round_id: Optional[int] = None, actor: Optional[User] = None,
                max_bytes: int = DEFAULT_MAX_BYTES, archive: Optional[ArchiveLimits] = None,
                progress: Optional[Callable[[int, int], None]] = None,
                scanner: Optional[ClamdScanner] = None) -> Preview:
    """Read an Excel ledger into a preview of what importing it would do; write nothing.

    Refuses (Refusal) a file that is not a workbook, one without the needed columns (问题编号,
    问题描述, 牵头单位, 整改时限, and 督察轮次 unless `round_id` names the round), one with more
    than `max_rows` rows after the header (blank rows count: 400,000 of them cost as much to read
    as any others) or more than `max_bytes` bytes, one that would unpack beyond `archive`
    (`tracker.core.files.check_archive`), and, when `actor` is given, an actor who may not
    register issues. Errors in the rows are collected, not raised.
    `progress`, when given, is called with (rows read after the header, estimated rows after the
    header or 0 if unknown) once the header is found, every PROGRESS_EVERY rows, and at the end.
    With a `scanner` (TRACKER_CLAMD_URL), the file is scanned before it is parsed (an upload read
    straight from the request; a kept file was scanned when it was kept).
    """
    if actor is not None:
        _require_importer(actor)
    lookup = _Lookup(session)
    default_round = None
    if round_id is not None:
        default_round = lookup.round_by_id.get(int(round_id))
        if default_round is None:
            raise Refusal("invalid", "请选择存在的督察轮次。", "round_id")
    wb = _open_workbook(stream, max_bytes, archive, scanner, actor.username if actor is not None else None)
    try:
        ws, header_row, mapping = _find_header(wb)
        needed = list(REQUIRED) + ([] if default_round else ["round"])
        missing = [FIELD_LABELS[n] for n in needed if n not in mapping]
        if ws is None or missing:
            raise Refusal("invalid", "台账缺少必需的列:" + "、".join(missing or [FIELD_LABELS["code"]])
                          + "。请使用导出的台账格式,第一行为列名。", "file")
        preview = Preview(columns=[FIELD_LABELS[n] for n in mapping], rows=[], errors=[], warnings=[])
        too_many = f"台账行数过多:一次最多导入 {max_rows} 行,请拆分后分批导入。"
        # The sheet's declared dimension first (no row read yet), then a hard count of every row read.
        if ws.max_row and int(ws.max_row) - header_row > max_rows:
            raise Refusal("invalid", too_many, "file")
        total = max(0, _estimated_rows(wb, ws) - header_row) if progress else 0
        if progress:
            progress(0, total)
        read = 0
        # Files from write-only mode have no dimensions: count the rows as they come.
        for number, cells in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), header_row + 1):
            read = number - header_row
            if read > max_rows:  # counted before blank rows are skipped
                raise Refusal("invalid", too_many, "file")
            if progress and read % PROGRESS_EVERY == 0:
                progress(read, total)
            if all(cell_text(c) == "" for c in cells):
                continue
            raw = {name: (cells[index] if index < len(cells) else None) for name, index in mapping.items()}
            preview.rows.append(_read_row(number, raw, lookup, default_round, preview))
        if progress:
            progress(read, max(total, read))
    finally:
        wb.close()
    _check_codes(session, preview)
    return preview


def _read_row(number: int, raw: dict[str, Any], lookup: _Lookup, default_round: Optional[tuple],
              preview: Preview) -> LedgerRow:
    def error(name: str, message: str) -> None:
        preview.errors.append({"row": number, "column": FIELD_LABELS[name], "message": message})

    text = {name: cell_text(value) for name, value in raw.items()}
    data: dict[str, Any] = {}
    code = text.get("code", "")
    if not code:
        error("code", "请填写问题编号。")
    elif len(code) > 64:
        error("code", "问题编号不能超过 64 个字符。")
    data["code"] = code

    round_ = default_round
    if text.get("round"):
        round_, message = lookup.round(text["round"])
        if message:
            error("round", message)
    elif default_round is None:
        error("round", "请填写督察轮次。")
    if round_:
        data["round_id"] = round_[0]

    description = text.get("description", "")
    title = text.get("title") or title_from(description)
    if not description and not title:
        error("description", "请填写问题描述。")
    if len(title) > 300:
        error("title", "问题标题不能超过 300 个字。")
    data["description"] = description or title
    data["title"] = title
    data["_title_given"] = bool(text.get("title"))

    for name in TEXT_FIELDS:
        if name in raw:
            data[name] = text[name]
            if name.startswith("responsible") and len(text[name]) > 100:
                error(name, f"{FIELD_LABELS[name]}不能超过 100 个字。")

    lead = text.get("lead_unit", "")
    if not lead:
        error("lead_unit", "请填写牵头单位。")
    else:
        unit_code, message = lookup.unit(lead)
        if message:
            error("lead_unit", message)
        data["lead_unit"] = unit_code
    if "cooperating_units" in raw:
        codes = []
        for name in (n for n in UNIT_SPLIT_RE.split(text["cooperating_units"]) if n):
            unit_code, message = lookup.unit(name)
            if message:
                error("cooperating_units", message)
            elif unit_code not in codes and unit_code != data.get("lead_unit"):
                codes.append(unit_code)
        data["cooperating_units"] = codes

    for name, vocabulary in (("category", labels.CATEGORY_LABELS), ("rectify_type", labels.RECTIFY_TYPE_LABELS)):
        value = text.get(name, "")
        if not value:
            continue
        key = next((k for k, label in vocabulary.items() if value in (label, k)), None)
        if key is None:
            error(name, f"{FIELD_LABELS[name]}「{value}」应为 " + "、".join(vocabulary.values()) + " 之一。")
        data[name] = key

    deadline = None
    if raw.get("deadline") in (None, ""):
        error("deadline", "请填写整改时限。")
    else:
        deadline = parse_ledger_date(raw["deadline"])
        if deadline is None:
            error("deadline", f"无法识别整改时限「{text['deadline']}」,"
                              "请写作 2020-06-30、2020年6月30日或 2020年6月底前。")
        data["deadline"] = deadline
    if raw.get("assigned_on") not in (None, ""):
        assigned = parse_ledger_date(raw["assigned_on"])
        if assigned is None:
            error("assigned_on", f"无法识别交办日期「{text['assigned_on']}」。")
        elif deadline and deadline < assigned:
            error("deadline", "整改时限不能早于交办日期。")
        data["assigned_on"] = assigned
    elif deadline:
        # A ledger rarely says when an issue was assigned: the round's feedback date, or at the
        # latest the deadline, keeps an old ledger's past deadlines valid.
        data["_default_assigned_on"] = round_[1] if round_ and round_[1] and round_[1] <= deadline else None

    state = text.get("state", "")
    if state:
        label = state.split("·")[-1]
        if label not in labels.STATE_LABELS.values():
            error("state", f"状态「{state}」应为 " + "、".join(labels.STATE_LABELS.values()) + " 之一。")
        data["_state"] = state
    values = {FIELD_LABELS[name]: text[name] for name in raw}
    return LedgerRow(row=number, code=code, data=data, values=values)


def _comparable(issue: Issue, cooperating: list[str], lead_code: str) -> dict[str, Any]:
    return {
        "round_id": issue.round_id, "title": issue.title,
        # The export writes the title when an issue has no description.
        "description": issue.description or issue.title,
        "target": issue.target or "", "measures": issue.measures or "",
        "responsible_leader": issue.responsible_leader or "", "responsible_person": issue.responsible_person or "",
        "lead_unit": lead_code, "cooperating_units": sorted(cooperating),
        "category": issue.category, "rectify_type": issue.rectify_type, "deadline": issue.deadline,
        "assigned_on": issue.assigned_on,
    }


# A field of the comparison -> the ledger's column it is read from.
_COLUMN_OF = {"round_id": "round"}


def _as_written(name: str, value: Any, units: dict[str, str], rounds: dict[int, str]) -> str:
    """A current value as the ledger's cell would show it: names for units and rounds, labels for codes."""
    if name == "round_id":
        return rounds.get(value, "")
    if name == "lead_unit":
        return units.get(value, value)
    if name == "cooperating_units":
        return "、".join(units.get(code, code) for code in value)
    if name == "category":
        return labels.CATEGORY_LABELS.get(value, value)
    if name == "rectify_type":
        return labels.RECTIFY_TYPE_LABELS.get(value, value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value or "")


def _check_codes(session: DbSession, preview: Preview) -> None:
    """Find each row's existing issue by code, and what applying the row would change."""
    seen: dict[str, int] = {}
    for row in preview.rows:
        if row.code and row.code in seen:
            preview.errors.append({"row": row.row, "column": FIELD_LABELS["code"],
                                   "message": f"问题编号「{row.code}」与第 {seen[row.code]} 行重复。"})
        seen.setdefault(row.code, row.row)
    by_code = {row.code: row for row in preview.rows if row.code}
    codes = list(by_code)
    for start in range(0, len(codes), CODE_CHUNK):
        chunk = codes[start:start + CODE_CHUNK]
        issues = session.scalars(select(Issue).where(Issue.code.in_(chunk))).all()
        if not issues:
            continue
        coop = issue_service.cooperating_codes(session, [i.id for i in issues])
        leads = session.execute(
            select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_({i.lead_unit_id for i in issues}))).all()
        lead_codes = {unit_id: code for unit_id, code, _name in leads}
        # Unit and round names, to show what a changing cell holds today.
        unit_names = {code: name for _id, code, name in leads}
        unit_names.update({u.code: u.name for units in coop.values() for u in units})
        round_names = dict(session.execute(
            select(Round.id, Round.name).where(Round.id.in_({i.round_id for i in issues}))).all())
        for issue in issues:
            row = by_code[issue.code]
            row.issue_id = issue.id
            current = _comparable(issue, [u.code for u in coop[issue.id]], lead_codes[issue.lead_unit_id])
            changes = {}
            for name, value in row.data.items():
                if name.startswith("_") or name == "code" or name not in current:
                    continue
                if name == "title" and not row.data.get("_title_given"):
                    continue  # a title made up from the description never replaces the real one
                if name == "cooperating_units":
                    value = sorted(value)
                if value != current[name]:
                    changes[name] = value
            row.changes = changes
            row.was = {FIELD_LABELS[_COLUMN_OF.get(name, name)]:
                       _as_written(name, current[name], unit_names, round_names) for name in changes}
            row.action = "update" if changes else "unchanged"
            if changes and issue.state == workflow.CLOSED:
                preview.errors.append({"row": row.row, "column": FIELD_LABELS["code"],
                                       "message": f"问题「{issue.code}」已销号,不能通过导入修改。"})
            state = row.data.get("_state")
            if state and state.split("·")[-1] != labels.STATE_LABELS.get(issue.state):
                preview.warnings.append({"row": row.row, "column": FIELD_LABELS["state"],
                                         "message": "状态不通过导入修改,请在问题页面办理。"})
    for row in preview.rows:
        if row.issue_id is None:
            state = row.data.get("_state")
            if state and state != labels.STATE_LABELS[workflow.IN_PROGRESS]:
                preview.warnings.append({"row": row.row, "column": FIELD_LABELS["state"],
                                         "message": f"新问题登记为「{labels.STATE_LABELS[workflow.IN_PROGRESS]}」,"
                                                    f"台账中的状态「{state}」需在问题页面办理。"})


def apply_ledger(session: DbSession, actor: User, now: datetime, today: date, preview: Preview,
                 progress: Optional[Callable[[int], None]] = None) -> tuple[int, int]:
    """Create the preview's new issues and update the changed ones; return (created, updated).

    Writes nothing unless the preview has no errors. The issue services check the actor's
    role and each field again; a refusal names the ledger row, and the caller rolls back.
    `progress`, when given, is called with the number of rows applied every PROGRESS_EVERY
    rows and once at the end.
    """
    if preview.errors:
        raise Refusal("invalid", f"台账有 {len(preview.errors)} 处错误,请修改后重新上传;未写入任何数据。")
    _require_importer(actor)
    created = updated = 0
    for number, row in enumerate(preview.rows, 1):
        if progress and number % PROGRESS_EVERY == 0:
            progress(number - 1)
        try:
            if row.issue_id is None:
                data = {k: v for k, v in row.data.items() if not k.startswith("_") and v is not None}
                data.setdefault("category", DEFAULT_CATEGORY)
                data.setdefault("rectify_type", DEFAULT_RECTIFY_TYPE)
                if "assigned_on" not in data:
                    data["assigned_on"] = row.data.get("_default_assigned_on") or min(today, data["deadline"])
                issue_service.create_issue(session, actor, now, data, today)
                created += 1
            elif row.changes:
                issue = session.get(Issue, row.issue_id)
                issue_service.update_issue(session, actor, now, issue, dict(row.changes), today,
                                           reason=IMPORT_REASON, source=issue_service.DeadlineSource.IMPORT)
                updated += 1
        except Refusal as refusal:
            raise Refusal(refusal.kind, f"第 {row.row} 行:{refusal.message}", refusal.field) from None
    if progress:
        progress(len(preview.rows))
    return created, updated


# --- the uploaded file, kept on the server between preview and confirmation ----

def _import_path(upload_dir: str, sha256: str) -> Path:
    if not SHA256_RE.match(sha256 or ""):
        raise Refusal("not_found", UPLOAD_GONE)
    return Path(upload_dir) / IMPORTS_FOLDER / sha256


def _require_importer(actor: User) -> None:
    permissions.require(actor, Permission.MANAGE_ISSUES, doing="导入整改台账")


def keep_upload(upload_dir: str, stream: IO[bytes], actor: User, max_bytes: int = DEFAULT_MAX_BYTES,
                archive: Optional[ArchiveLimits] = None, scanner: Optional[ClamdScanner] = None) -> str:
    """Store an uploaded ledger under UPLOAD_DIR/imports/<sha256> and return the sha256.

    The confirmation reads the file back from here, so what is applied is exactly what was
    previewed, never a copy the browser sends again. Refuses an empty or too large file, one
    that would unpack beyond `archive`, and, with a `scanner`, one clamd finds infected or cannot
    scan (`tracker.core.antivirus.check_upload`).
    """
    _require_importer(actor)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refusal("too_large", f"文件过大:台账不能超过 {max_bytes // (1024 * 1024)} MB。", "file")
    if not data:
        raise Refusal("invalid", "上传的文件是空的,请选择台账文件。", "file")
    if not data.startswith(b"PK\x03\x04"):  # every .xlsx is a zip: refuse anything else before keeping it
        raise Refusal("invalid", NOT_A_WORKBOOK, "file")
    check_archive(data, archive or ArchiveLimits())  # a bomb is not even kept
    check_upload(scanner, data, LEDGER_FILENAME, user=actor.username)  # nor is malware (ASVS 12.4.2)
    sha256 = hashlib.sha256(data).hexdigest()
    path = _import_path(upload_dir, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{sha256}.{os.getpid()}.part")
        temp.write_bytes(data)
        os.replace(temp, path)  # atomic: a reader never sees half a file
    return sha256


class ImportLimits(TypedDict):
    """The size limits of an import, as keyword arguments of `read_kept` and `read_ledger`."""

    max_bytes: int
    max_rows: int
    archive: ArchiveLimits


def limits(config: Any) -> ImportLimits:
    """The size limits of an import from the app's config: max_bytes, max_rows and the archive's."""
    return {"max_bytes": int(config["MAX_UPLOAD_BYTES"]),
            "max_rows": int(config.get("LEDGER_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
            "archive": archive_limits(config)}


def read_kept(upload_dir: str, sha256: str, session: DbSession, actor: User, round_id: Optional[int] = None,
              max_rows: int = DEFAULT_MAX_ROWS, max_bytes: int = DEFAULT_MAX_BYTES,
              archive: Optional[ArchiveLimits] = None,
              progress: Optional[Callable[[int, int], None]] = None) -> Preview:
    """`read_ledger` on a file kept by `keep_upload`; refuse as not found when it is gone."""
    _require_importer(actor)
    path = _import_path(upload_dir, sha256)
    if not path.is_file():
        raise Refusal("not_found", UPLOAD_GONE)
    with path.open("rb") as stream:
        return read_ledger(stream, session, max_rows=max_rows, round_id=round_id, actor=actor,
                           max_bytes=max_bytes, archive=archive, progress=progress)


def kept_size(upload_dir: str, sha256: str, actor: User) -> int:
    """The size in bytes of a file kept by `keep_upload`; refused as `read_kept` refuses."""
    _require_importer(actor)
    path = _import_path(upload_dir, sha256)
    if not path.is_file():
        raise Refusal("not_found", UPLOAD_GONE)
    return path.stat().st_size


def data_mark(session: DbSession) -> list[int]:
    """A mark of what a preview depends on besides the file: the newest timeline event (every
    issue change writes one), the issue count, and the units' and rounds' counts and newest ids.

    A stored preview whose mark differs may be out of date. One query, on primary keys.
    """
    row = session.execute(select(
        select(func.max(Event.id)).scalar_subquery(), select(func.count(Issue.id)).scalar_subquery(),
        select(func.count(Unit.id)).scalar_subquery(), select(func.max(Unit.id)).scalar_subquery(),
        select(func.count(Round.id)).scalar_subquery(), select(func.max(Round.id)).scalar_subquery())).one()
    return [value or 0 for value in row]
