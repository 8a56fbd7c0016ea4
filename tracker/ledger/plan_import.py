"""Plan import: read a plan's text into tasks, let the user check them, then create the issues.

`preview_plan` parses the text (supervisor only) and names the units the tracker does not
know, each with the existing unit it most likely means. `draft_rows` turns the plan's tasks
into editable rows: a code (prefix + sequence), a title (the task's first sentence), the
text, the units by name, the deadline. `apply_plan` checks every row, resolves every unit
name (an existing unit by name, else the user's mapping: an existing unit or a new one) and
creates the issues through the issue service, all or nothing: one bad row refuses the whole
plan with every row's errors (`PlanRejected`).

Choices: a task without a deadline phrase gets the default deadline (31 December of the
plan's year unless the user sets another) and the type 长期坚持; the others 限期整改 unless
the user picks another type. 交办日期 defaults to the plan's date, else 1 January of its year.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Optional

from sqlalchemy import func, select

from tracker.accounts.models import User
from tracker.core import labels, permissions
from tracker.core.antivirus import ClamdScanner, check_upload
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession
from tracker.core.files import ArchiveLimits, check_archive
from tracker.core.permissions import Permission
from tracker.core.text import clean_text
from tracker.issues import services as issue_service
from tracker.issues.models import Issue
from tracker.ledger.imports import title_from
from tracker.ledger.plans import Plan, parse_plan
from tracker.rounds.models import Round
from tracker.units.match import suggest_unit
from tracker.units.models import Unit

log = logging.getLogger(__name__)

MAX_PLAN_CHARS = 1_000_000  # a long plan is some 50,000 characters
MAX_PLAN_BYTES = 10 * 1024 * 1024
MIN_YEAR, MAX_YEAR = 1949, 2100
MAX_CODE_PREFIX = 40
NEW_UNIT = "+new"  # the mapping value that asks for a new unit with the plan's name
DEFAULT_CATEGORY = "feedback"
DEFAULT_RECTIFY_TYPE = "deadline"
NO_DEADLINE_TYPE = "long_term"
CODE_PREFIX_RE = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff_.-]{1,40}$")
NOT_A_PLAN_FILE = "无法读取该文件:请上传 .txt 文本或 .docx 文档;旧版 .doc 文件请先在 Word 中另存为 .docx。"


@dataclass
class PlanPreview:
    """A parsed plan, with the unit names the tracker does not know (to map or create)."""

    plan: Plan
    unknown_units: list[str] = field(default_factory=list)
    # unknown name -> the existing unit name it most likely means (absent: none close)
    suggestions: dict[str, str] = field(default_factory=dict)


@dataclass
class PlanRow:
    """One task as the user confirms it: what the issue will be created with."""

    number: str
    code: str
    title: str
    text: str
    lead_unit: str  # a unit name, as in the plan or as the user edited it
    cooperating_units: list[str]
    deadline: Optional[date | str]  # a string as typed on the page, checked by `check_rows`
    deadline_text: Optional[str] = None
    rectify_type: str = DEFAULT_RECTIFY_TYPE
    include: bool = True
    notes: list[str] = field(default_factory=list)  # what the parser repaired in a damaged item


@dataclass
class PlanOptions:
    """What the whole plan shares: its round, category, 交办日期 and the unit mapping."""

    round_id: Optional[int]
    category: str = DEFAULT_CATEGORY
    assigned_on: Optional[date | str] = None
    plan_title: Optional[str] = None
    # plan unit name -> existing unit code, or NEW_UNIT to create a unit with that name
    unit_map: dict[str, str] = field(default_factory=dict)


class PlanRejected(Refusal):
    """A plan that cannot be created as it stands; `errors` lists every row's problems."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("invalid", f"有 {len(errors)} 处需要修改,未创建任何问题。")
        self.errors = errors


def _require_importer(actor: User) -> None:
    permissions.require(actor, Permission.MANAGE_ISSUES, doing="导入整改方案")


def read_plan_file(stream: IO[bytes], filename: str, max_bytes: int = MAX_PLAN_BYTES,
                   archive: Optional[ArchiveLimits] = None, scanner: Optional[ClamdScanner] = None,
                   user: Optional[str] = None) -> str:
    """The text of an uploaded plan, cleaned (`clean_text`): a .txt file (UTF-8 or GB18030) or a
    .docx document; a .docx that would unpack beyond `archive` is refused before it is parsed, and,
    with a `scanner`, any file clamd finds infected or cannot scan (ASVS 12.4.2)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refusal("too_large", f"文件过大:不能超过 {max_bytes // (1024 * 1024)} MB。", "file")
    if not data.strip():
        raise Refusal("invalid", "上传的文件是空的。", "file")
    check_upload(scanner, data, filename, user=user)
    if data[:4] == b"PK\x03\x04":
        # python-docx loads every part of the package into memory: check what they unpack to first.
        check_archive(data, archive or ArchiveLimits())
        return clean_text(_docx_text(data))
    if filename.lower().endswith((".doc", ".docx", ".xlsx", ".xls", ".pdf")) or b"\x00" in data[:4096]:
        raise Refusal("invalid", NOT_A_PLAN_FILE, "file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return clean_text(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise Refusal("invalid", "无法识别文件的文字编码:请另存为 UTF-8 编码的 .txt 文件。", "file")


def _docx_text(data: bytes) -> str:
    """Paragraphs of a .docx, body and tables in document order, one per line."""
    import docx  # python-docx; imported here so that the app starts without reading Word files
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        log.info("not a docx: %s", exc)
        raise Refusal("invalid", NOT_A_PLAN_FILE, "file") from None
    except Exception as exc:  # python-docx raises several lxml/opc errors for damaged files
        log.info("unreadable docx: %r", exc)
        raise Refusal("invalid", NOT_A_PLAN_FILE, "file") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    lines.extend(p.text for p in cell.paragraphs)
    return "\n".join(lines)


def preview_plan(session: DbSession, actor: User, text: Any, year: Optional[int] = None,
                 round_id: Optional[int] = None) -> PlanPreview:
    """Parse a plan's text for the preview (supervisor); nothing is written."""
    _require_importer(actor)
    if not isinstance(text, str) or not text.strip():
        raise Refusal("invalid", "请粘贴或上传整改方案的文本。", "text")
    if len(text) > MAX_PLAN_CHARS:
        raise Refusal("too_large", f"方案文本过长:不能超过 {MAX_PLAN_CHARS:,} 个字。", "text")
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise Refusal("invalid", f"年份应在 {MIN_YEAR} 至 {MAX_YEAR} 之间。", "year")
    if round_id is not None and session.get(Round, round_id) is None:
        raise Refusal("invalid", "请选择存在的督察轮次。", "round_id")
    plan = parse_plan(clean_text(text), year)
    names: list[str] = []
    for task in plan.tasks:
        for name in task.units:
            if name not in names:
                names.append(name)
    unknown = unknown_unit_names(session, names)
    return PlanPreview(plan=plan, unknown_units=unknown, suggestions=suggest_units(session, unknown))


def unknown_unit_names(session: DbSession, names: list[str]) -> list[str]:
    """The names, in order, that are no unit's name (one query)."""
    if not names:
        return []
    known = set(session.scalars(select(Unit.name).where(Unit.name.in_(names))))
    return [n for n in dict.fromkeys(names) if n not in known]


def suggest_units(session: DbSession, names: list[str]) -> dict[str, str]:
    """For each unknown name, the existing unit name it most likely means (one query)."""
    if not names:
        return {}
    existing = list(session.scalars(select(Unit.name)))
    suggestions = {}
    for name in names:
        hint = suggest_unit(name, existing)
        if hint:
            suggestions[name] = hint
    return suggestions


def default_code_prefix(plan: Plan) -> str:
    """The issue-code prefix offered for a plan: FA (方案) and its year, e.g. "FA2020"."""
    return f"FA{plan.year}" if plan.year else "FA"


def default_assigned_on(plan: Plan, today: date) -> date:
    """交办日期 offered for a plan: the date it was issued, else 1 January of its year, else today."""
    if plan.dated:
        return plan.dated
    if plan.year:
        return date(plan.year, 1, 1)
    return today


def default_deadline(plan: Plan, today: date) -> date:
    """The deadline offered for tasks that name none: 31 December of the plan's year (or this year)."""
    return date(plan.year or today.year, 12, 31)


def draft_rows(plan: Plan, code_prefix: str, rectify_type: str = DEFAULT_RECTIFY_TYPE,
               fallback_deadline: Optional[date] = None) -> list[PlanRow]:
    """The plan's tasks as editable rows, coded `<prefix>-001`, `<prefix>-002`, ... in plan order."""
    rows = []
    for seq, task in enumerate(plan.tasks, start=1):
        rows.append(PlanRow(
            number=task.number,
            code=f"{code_prefix}-{seq:03d}",
            title=title_from(_without_marker(task.text)) or task.text[:60],
            text=task.text,
            lead_unit=task.lead_units[0] if task.lead_units else "",
            # A second 牵头 unit shares the lead; the tracker has one lead unit, so it cooperates.
            cooperating_units=task.lead_units[1:] + task.cooperating_units,
            deadline=task.deadline or fallback_deadline,
            deadline_text=task.deadline_text,
            rectify_type=rectify_type if task.deadline else NO_DEADLINE_TYPE,
            notes=list(task.notes),
        ))
    return rows


def _without_marker(text: str) -> str:
    # "(13)加强饮用水安全保障。…" — a sub-item marker left inside the text is no part of a title.
    return re.sub(r"^\s*[((]?\s*[0-9一二三四五六七八九十]{1,3}\s*[))、.．]\s*", "", text)


def split_unit_names(value: str) -> list[str]:
    """Unit names typed in one field, separated by 、 , ; or spaces."""
    return [n for n in re.split(r"[、,,;;\s]+", value or "") if n]


def as_date(value: Any) -> Optional[date]:
    """A date from a date or an ISO string; None for blank; ValueError otherwise."""
    if value is None or isinstance(value, date):
        return value
    value = str(value).strip()
    return date.fromisoformat(value) if value else None


def read_date(value: Any, field_name: str, label: str) -> Optional[date]:
    """A date typed on a form (YYYY-MM-DD) or None when blank; a refusal naming the field otherwise."""
    try:
        return as_date(value)
    except ValueError:
        raise Refusal("invalid", f"{label}格式应为 YYYY-MM-DD。", field_name) from None


def check_code_prefix(prefix: Any) -> str:
    """A valid issue-code prefix, or a refusal naming the rule."""
    prefix = str(prefix or "").strip()
    if not CODE_PREFIX_RE.fullmatch(prefix):
        raise Refusal("invalid", f"编号前缀应为 1 至 {MAX_CODE_PREFIX} 个字母、数字、汉字或 - _ .。", "code_prefix")
    return prefix


def _resolve_units(session: DbSession, rows: list[PlanRow], unit_map: dict[str, str],
                   errors: list[dict[str, Any]]) -> dict[str, Optional[str]]:
    """Every unit name in the rows -> a unit code, or None for a new unit; errors for the rest."""
    names = list(dict.fromkeys(n for r in rows for n in [r.lead_unit, *r.cooperating_units] if n))
    by_name = dict(session.execute(select(Unit.name, Unit.code).where(Unit.name.in_(names))).all()) if names else {}
    mapped_codes = {c for c in unit_map.values() if c and c != NEW_UNIT}
    known_codes = set(session.scalars(select(Unit.code).where(Unit.code.in_(mapped_codes)))) if mapped_codes else set()
    resolved: dict[str, Optional[str]] = {}
    for name in names:
        if name in by_name:
            resolved[name] = by_name[name]
            continue
        target = (unit_map.get(name) or "").strip()
        if target == NEW_UNIT:
            if len(name) > 200:
                errors.append({"task": None, "field": "unit_map",
                               "message": f"单位名称「{name[:20]}…」过长,无法新建。"})
            resolved[name] = None
        elif target in known_codes:
            resolved[name] = target
        else:
            message = (f"单位「{name}」对应的单位编码「{target}」不存在。" if target
                       else f"系统中没有单位「{name}」:请选择对应的单位,或新建该单位。")
            errors.append({"task": None, "field": "unit_map", "unit": name, "message": message})
    return resolved


def check_rows(session: DbSession, options: PlanOptions,
               rows: list[PlanRow]) -> tuple[list[dict[str, Any]], dict[str, Optional[str]]]:
    """Every problem that would stop the plan from being created, by task and field (reads only),
    and each unit name's code (None: a unit to create)."""
    errors: list[dict[str, Any]] = []

    def error(row: Optional[PlanRow], field_name: str, message: str) -> None:
        errors.append({"task": row.number if row else None, "field": field_name, "message": message})

    round_ = session.get(Round, options.round_id) if options.round_id is not None else None
    if round_ is None:
        error(None, "round_id", "请选择问题所属的督察轮次。")
    if options.category not in labels.CATEGORY_LABELS:
        error(None, "category", "请选择问题类别。")
    try:
        options.assigned_on = as_date(options.assigned_on)
    except ValueError:
        options.assigned_on = None
        error(None, "assigned_on", "交办日期格式应为 YYYY-MM-DD。")
    else:
        if options.assigned_on is None:
            error(None, "assigned_on", "请填写交办日期。")
    chosen = [r for r in rows if r.include]
    if not chosen:
        error(None, "tasks", "没有选中任何任务。")
    codes = [r.code.strip() for r in chosen]
    existing = set(session.scalars(select(Issue.code).where(Issue.code.in_(codes)))) if codes else set()
    seen: set[str] = set()
    for row in chosen:
        code = row.code.strip()
        if not code:
            error(row, "code", "请填写问题编号。")
        elif len(code) > 64:
            error(row, "code", "问题编号不能超过 64 个字符。")
        elif code in existing:
            error(row, "code", f"问题编号「{code}」已存在。")
        elif code in seen:
            error(row, "code", f"问题编号「{code}」在本次导入中重复。")
        seen.add(code)
        if not row.title.strip():
            error(row, "title", "请填写问题标题。")
        elif len(row.title.strip()) > 300:
            error(row, "title", "问题标题不能超过 300 个字。")
        if not row.lead_unit.strip():
            error(row, "lead_unit", "请填写牵头单位。")
        if row.rectify_type not in labels.RECTIFY_TYPE_LABELS:
            error(row, "rectify_type", "请选择整改类型。")
        try:
            row.deadline = as_date(row.deadline)
        except ValueError:
            error(row, "deadline", "整改时限格式应为 YYYY-MM-DD。")
            continue
        if row.deadline is None:
            error(row, "deadline", "请填写整改时限。")
        elif options.assigned_on and row.deadline < options.assigned_on:
            error(row, "deadline", f"整改时限 {row.deadline.isoformat()} 早于交办日期 "
                                   f"{options.assigned_on.isoformat()}。")
    resolved = _resolve_units(session, chosen, options.unit_map, errors)
    return errors, resolved


def _new_unit_code(session: DbSession, taken: set[str]) -> str:
    """The next free code of the form P001 for a unit created by a plan import."""
    count = session.scalar(select(func.count(Unit.id)).where(Unit.code.like("P%"))) or 0
    number = count + 1
    while f"P{number:03d}" in taken or session.scalar(select(Unit.id).where(Unit.code == f"P{number:03d}")):
        number += 1
    return f"P{number:03d}"


def apply_plan(session: DbSession, actor: User, now: datetime, today: date, options: PlanOptions,
               rows: list[PlanRow]) -> list[Issue]:
    """Create the chosen rows as issues (supervisor), all or none; return them in plan order."""
    _require_importer(actor)
    errors, resolved = check_rows(session, options, rows)
    if errors:
        raise PlanRejected(errors)
    chosen = [r for r in rows if r.include]
    taken: set[str] = set()
    for name, code in list(resolved.items()):
        if code is None:
            code = _new_unit_code(session, taken)
            taken.add(code)
            session.add(Unit(code=code, name=name))
            resolved[name] = code
            log.info("plan import by %s created unit %s %s", actor.username, code, name)
    session.flush()
    source = f"由整改方案《{options.plan_title}》导入" if options.plan_title else "由整改方案导入"
    created = []
    for row in chosen:
        issue = issue_service.create_issue(session, actor, now, {
            "round_id": options.round_id,
            "code": row.code.strip(),
            "title": clean_text(row.title, multiline=False).strip(),
            "description": clean_text(row.text).strip(),
            "category": options.category,
            "rectify_type": row.rectify_type,
            "deadline": row.deadline,
            "assigned_on": options.assigned_on,
            "lead_unit": resolved[row.lead_unit],
            "cooperating_units": [resolved[n] for n in row.cooperating_units if n],
        }, today, note=f"{source}(方案第 {row.number} 项" +
           (f",时限依据“{row.deadline_text}”" if row.deadline_text else "") + ")")
        created.append(issue)
    session.flush()
    return created
