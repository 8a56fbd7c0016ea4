"""The rectification ledger (整改台账) export: the issue list's rows in the usual ledger columns.

Rows are streamed: the list's query runs once with a server-side cursor (`yield_per`),
and for each batch the cooperating units and the latest progress reports are read in
one query each, so neither memory nor the number of queries grows with every row.
Writers put the rows into an Excel workbook (openpyxl write-only mode) or a CSV file;
text that a spreadsheet could take for a formula is neutralised in both.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any, Optional

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tracker.accounts.models import User
from tracker.core import labels, workflow
from tracker.core.clock import local_date, utc_offset_hours
from tracker.core.enums import ExtensionState
from tracker.core.extensions import DbSession
from tracker.core.text import clean_text
from tracker.core.xlsx import is_formula_like, xlsx_row, xlsx_text
from tracker.issues.models import ExtensionRequest, Issue, IssueUnit, ProgressReport
from tracker.issues.queries import IssueFilters, day_figures, filtered, sort_order
from tracker.rounds.models import Round
from tracker.units.models import Unit

LEDGER_COLUMNS = (
    "序号", "问题编号", "督察轮次", "问题类别", "问题描述", "整改目标", "整改措施", "牵头单位", "配合单位",
    "责任领导", "责任人", "原定整改时限", "现整改时限", "延期次数", "整改类型", "最新进展", "进度", "状态", "是否逾期",
    "逾期天数", "销号时间",
)


# Column widths in the workbook (characters), in the order of LEDGER_COLUMNS.
COLUMN_WIDTHS = (6, 16, 24, 10, 50, 40, 50, 20, 24, 14, 12, 12, 12, 8, 10, 40, 8, 12, 8, 8, 12)


DEFAULT_BATCH = 1000


UNIT_SEPARATOR = "、"


SHEET_TITLE = "整改台账"


# A writer given a progress callback calls it after every this many rows (and once at the end).
PROGRESS_EVERY = 500


Progress = Optional[Callable[[int], None]]


def _state_label(state: str, merged: bool) -> str:
    label = labels.STATE_LABELS.get(state, state)
    return f"{labels.MERGED_LABEL}·{label}" if merged else label


def _cooperating_names(session: DbSession, ids: list[int]) -> dict[int, list[str]]:
    """Cooperating units' names of a batch of issues, in one query."""
    names: dict[int, list[str]] = {}
    rows = session.execute(
        select(IssueUnit.issue_id, Unit.name).join(Unit, Unit.id == IssueUnit.unit_id)
        .where(IssueUnit.issue_id.in_(ids)).order_by(IssueUnit.issue_id, Unit.code)
    )
    for issue_id, name in rows:
        names.setdefault(issue_id, []).append(name)
    return names


def _latest_reports(session: DbSession, ids: list[int]) -> dict[int, str]:
    """The text of each issue's latest current (not replaced) progress report, in one query."""
    rank = func.row_number().over(
        partition_by=ProgressReport.issue_id,
        order_by=(ProgressReport.period.desc(), ProgressReport.created_at.desc(), ProgressReport.id.desc()),
    ).label("rank")
    ranked = (
        select(ProgressReport.issue_id, ProgressReport.text, rank)
        .where(ProgressReport.issue_id.in_(ids), ProgressReport.replaced_at.is_(None))
        .subquery()
    )
    rows = session.execute(select(ranked.c.issue_id, ranked.c.text).where(ranked.c.rank == 1))
    return {issue_id: text for issue_id, text in rows}


def filename(today: date, extension: str) -> str:
    """The download's name, e.g. 整改台账-2020-07-15.xlsx."""
    return f"整改台账-{today.isoformat()}.{extension}"


def count_rows(session: DbSession, user: User, today: date, config: dict, filters: IssueFilters) -> int:
    """How many rows `ledger_rows` would give: one COUNT over the list's scoped, filtered query."""
    hours = utc_offset_hours(today, config.get("TIMEZONE", "Asia/Shanghai"))
    base = filtered(user, filters, day_figures(today, config), hours)
    return session.scalar(select(func.count()).select_from(base.subquery())) or 0


def ledger_rows(
    session: DbSession,
    user: User,
    today: date,
    config: dict,
    filters: IssueFilters,
    sort: str = "deadline",
    batch_size: Optional[int] = None,
) -> Iterator[list[Any]]:
    """Yield the ledger rows (values in LEDGER_COLUMNS order) of the issues `user` may see.

    The same scope, filters and order as the issue list. Dates stay `date` objects and
    numbers ints, so writers can give them their own types. Queries: one for the issues,
    plus two per batch of `batch_size` rows.
    """
    batch_size = batch_size or int(config.get("LEDGER_BATCH", DEFAULT_BATCH))
    tz = config.get("TIMEZONE", "Asia/Shanghai")
    fig = day_figures(today, config)
    lead = aliased(Unit)
    # 延期次数: the approved extension requests, counted in the same query.
    extensions = (select(func.count(ExtensionRequest.id))
                  .where(ExtensionRequest.issue_id == Issue.id, ExtensionRequest.state == ExtensionState.APPROVED)
                  .correlate(Issue).scalar_subquery())
    stmt = (
        select(
            Issue.id, Issue.code, Round.name, Issue.category, Issue.title, Issue.description, Issue.target,
            Issue.measures, lead.name, Issue.responsible_leader, Issue.responsible_person, Issue.original_deadline,
            Issue.deadline, extensions, Issue.rectify_type, Issue.progress_percent, Issue.state, Issue.merged_into_id,
            fig.overdue, fig.days_overdue, Issue.closed_at,
        )
        .join(Round, Round.id == Issue.round_id)
        .join(lead, lead.id == Issue.lead_unit_id)
        .where(Issue.id.in_(filtered(user, filters, fig, utc_offset_hours(today, tz))))
        .order_by(*sort_order(sort, fig))
        # A server-side cursor: rows arrive batch by batch, never all at once.
        .execution_options(yield_per=batch_size)
    )
    number = 0
    for batch in session.execute(stmt).partitions():
        ids = [row[0] for row in batch]
        cooperating = _cooperating_names(session, ids)
        reports = _latest_reports(session, ids)
        for (issue_id, code, round_name, category, title, description, target, measures, lead_name,
             leader, person, original_deadline, deadline, extended, rectify_type, percent, state, merged_into, overdue,
             days_overdue, closed_at) in batch:
            number += 1
            closed = state == workflow.CLOSED and closed_at is not None
            yield [
                number, code, round_name, labels.CATEGORY_LABELS.get(category, category),
                # The ledger has one text column for the problem: the description, or the title
                # when an issue was registered without one.
                description or title, target or "", measures or "", lead_name,
                UNIT_SEPARATOR.join(cooperating.get(issue_id, ())), leader or "", person or "",
                original_deadline or deadline, deadline, int(extended or 0),
                labels.RECTIFY_TYPE_LABELS.get(rectify_type, rectify_type), reports.get(issue_id, ""), percent,
                _state_label(state, merged_into is not None), "是" if overdue else "否",
                int(days_overdue or 0) if overdue else None,
                local_date(closed_at, tz) if closed else None,
            ]


def write_xlsx(rows: Iterable[list[Any]], stream: IO[bytes], progress: Progress = None) -> int:
    """Write the ledger as an .xlsx workbook to a binary stream; return the number of rows.

    openpyxl's write-only mode writes each row out as it comes (inline strings, no shared
    string table), so memory stays flat however many rows there are. Text that starts like a
    formula is kept as a string cell with Excel's quote prefix (as if typed with a leading '):
    shown and read back unchanged, never calculated. `progress`, when given, is called with the
    number of rows written so far every PROGRESS_EVERY rows and once at the end.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    for index, width in enumerate(COLUMN_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for title in LEDGER_COLUMNS:
        cell = WriteOnlyCell(ws, value=xlsx_text(title))
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header.append(cell)
    ws.append(header)
    count = 0
    for row in rows:
        ws.append(xlsx_row(ws, row))
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    wb.save(stream)
    if progress:
        progress(count)
    return count


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    # The same text as the workbook's: no control characters a spreadsheet would show as boxes.
    text = clean_text(str(value))
    # CSV has no cell types: the OWASP single-quote prefix is the only way to keep it text.
    return "'" + text if is_formula_like(text) else text


def csv_chunks(rows: Iterable[list[Any]], rows_per_chunk: int = 500, progress: Progress = None) -> Iterator[bytes]:
    """The ledger as UTF-8 CSV with a BOM (so Excel reads the Chinese), in chunks for streaming.

    `progress`, when given, is called with the number of rows so far with every chunk.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(LEDGER_COLUMNS)
    pending = count = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        pending += 1
        count += 1
        if pending >= rows_per_chunk:
            if progress:
                progress(count)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if progress:
        progress(count)
    yield buffer.getvalue().encode("utf-8")


def write_csv(rows: Iterable[list[Any]], stream: IO[bytes], progress: Progress = None) -> int:
    """Write the ledger as UTF-8 CSV with a BOM to a binary stream; return the number of rows."""
    count = 0

    def counted(done: int) -> None:
        nonlocal count
        count = done
        if progress:
            progress(done)

    for chunk in csv_chunks(rows, progress=counted):
        stream.write(chunk)
    return count
