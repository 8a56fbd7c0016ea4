"""The rectification ledger (整改台账) export: the issue list's rows in the usual ledger columns.

Rows are streamed: the list's query runs once with a server-side cursor (`yield_per`),
and for each batch the cooperating units and the latest progress reports are read in
one query each, so neither memory nor the number of queries grows with every row.
Writers put the rows into an Excel workbook (openpyxl write-only mode) or a CSV file;
text that a spreadsheet could take for a formula is neutralised in both.

Text already stored may hold characters an .xlsx cannot (XML 1.0 has no place for control
characters, lone surrogates or U+FFFE/U+FFFF: openpyxl and lxml refuse them and the whole export
would fail). `xlsx_text` removes them on write, so an export never fails on what is in the
database, whatever came in before text was cleaned at the boundary (`tracker.core.text`).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tracker.core.text import clean_text

# A cell starting with one of these may be run as a formula by a spreadsheet (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """Whether a text value would be taken for a formula by a spreadsheet."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def xlsx_text(value: Any) -> Any:
    """A value as a workbook can hold it: text without the characters XML 1.0 refuses (openpyxl's
    ILLEGAL_CHARACTERS_RE, and what `clean_text` removes: lone surrogates, U+FFFE/U+FFFF...)."""
    if not isinstance(value, str):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", clean_text(value))


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """One write-only row: text cleaned by `xlsx_text`, dates as yyyy-mm-dd, text that looks like a
    formula kept as a string cell with Excel's quote prefix (shown and read back unchanged, never
    calculated), the rest as is."""
    out: list[Any] = []
    for value in values:
        value = xlsx_text(value)
        if is_formula_like(value) or isinstance(value, (date, datetime)):
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
                cell.quotePrefix = True
            else:
                cell.number_format = "yyyy-mm-dd"
            out.append(cell)
        else:
            out.append(value)
    return out
