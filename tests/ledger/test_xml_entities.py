"""Uploaded workbooks are parsed with XML entities and DTDs forbidden (ASVS 4.0.3 V5.5.2): openpyxl
reads through defusedxml, so a ledger whose sheet declares an entity is refused as no workbook rather
than having the entity expanded (the classic XXE / "billion laughs" file)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from tracker.core.errors import Refusal
from tracker.ledger.imports import NOT_A_WORKBOOK, read_ledger


def workbook_with_entity(declaration: str) -> bytes:
    """A one-cell workbook whose sheet declares `declaration` in a DOCTYPE and uses it in A1."""
    book = openpyxl.Workbook()
    book.active["A1"] = "placeholder"
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.replace("<worksheet", f"<!DOCTYPE worksheet [{declaration}]><worksheet", 1)
                text = text.replace('<c r="A1" t="s"><v>0</v></c>',
                                    '<c r="A1" t="inlineStr"><is><t>&boom;</t></is></c>')
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


def test_openpyxl_reads_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


@pytest.mark.parametrize("declaration", [
    '<!ENTITY boom "EXPANDED">',
    '<!ENTITY boom SYSTEM "file:///etc/passwd">',
    '<!ENTITY a "aaaaaaaaaa"><!ENTITY boom "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">',
], ids=["internal", "external", "nested"])
def test_a_workbook_declaring_xml_entities_is_refused(session, declaration):
    with pytest.raises(Refusal) as refused:
        read_ledger(io.BytesIO(workbook_with_entity(declaration)), session)
    assert refused.value.kind == "invalid" and refused.value.message == NOT_A_WORKBOOK
