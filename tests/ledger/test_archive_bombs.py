"""Decompression bombs and blank-row floods in the ledger and plan imports (ASVS 12.1.2): refused
before openpyxl or python-docx unpacks anything, with nothing kept or written."""
from __future__ import annotations

import io
from pathlib import Path

import docx
import openpyxl
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.support.api import PREFIX, token_for
from tests.support.archives import with_zeros
from tests.support.factories import make_round, make_unit, make_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues.models import Issue
from tracker.ledger import imports as ledger_import

SHORT_HEADER = ("问题编号", "督察轮次", "问题类别", "问题描述", "牵头单位", "配合单位", "整改时限", "整改类型")
GOOD = ["N-01", "自治区督察(2019年)", "反馈问题", "新问题", "环保办", "", "2020年底前", "限期整改"]


@pytest.fixture
def office(session):
    make_unit("HBB", "环保办")
    round_ = make_round("自治区督察(2019年)")
    supervisor = make_user("supervisor", username="super")
    session.commit()
    return {"round": round_, "supervisor": supervisor}


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if a refused file reaches a parser (where the memory would go)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the parser was called")
    monkeypatch.setattr(ledger_import, "load_workbook", refuse)
    monkeypatch.setattr(docx, "Document", refuse)


def _ledger(rows=(GOOD,)) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(SHORT_HEADER))
    for row in rows:
        ws.append(list(row))
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


def _issues() -> int:
    return db.session.scalar(select(func.count(Issue.id)))


def _kept(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    return list(folder.iterdir()) if folder.exists() else []


def test_an_xlsx_bomb_is_refused_through_the_api_before_parsing(app, client, office, no_parsing):
    bomb = with_zeros(_ledger(), megabytes=2)
    token = token_for(client, office["supervisor"])
    response = client.post(f"{PREFIX}/imports/ledger", headers={"Authorization": f"Bearer {token}"},
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(bomb), "台账.xlsx"), "confirm": "true"})
    assert response.status_code == 413
    assert "压缩炸弹" in response.get_json()["error"] and set(response.get_json()) == {"error"}
    assert _issues() == 0 and _kept(app) == []


def test_an_xlsx_bomb_is_refused_on_the_page_and_not_kept(app, client, login_as, office, no_parsing):
    app.config.update(ARCHIVE_MAX_BYTES=1024 * 1024)
    login_as(office["supervisor"])
    response = client.post("/issues/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(with_zeros(_ledger(), megabytes=2)), "台账.xlsx")})
    assert response.status_code == 413
    assert "可能是压缩炸弹" in response.get_data(as_text=True)
    assert _kept(app) == []


def test_a_kept_ledger_is_checked_again_when_read(app, session, office, no_parsing):
    """A file kept under older, looser limits is refused by the reader too (the background jobs' path)."""
    data = with_zeros(_ledger(), megabytes=2)
    loose = ledger_import.keep_upload(app.config["UPLOAD_DIR"], io.BytesIO(data), office["supervisor"],
                                      archive=ledger_import.ArchiveLimits(max_ratio=100_000))
    with pytest.raises(Refusal) as refused:
        ledger_import.read_kept(app.config["UPLOAD_DIR"], loose, session, office["supervisor"])
    assert refused.value.status == 413


def test_a_docx_plan_bomb_is_refused_on_the_page(app, client, login_as, office, monkeypatch):
    real = docx.Document()
    real.add_paragraph("某镇2020年整治方案")
    stream = io.BytesIO()
    real.save(stream)
    bomb = with_zeros(stream.getvalue(), name="word/media/zeros.bin", megabytes=2)
    def refuse(*args, **kwargs):
        raise AssertionError("python-docx was called")
    monkeypatch.setattr(docx, "Document", refuse)
    login_as(office["supervisor"])
    response = client.post("/issues/import-plan", content_type="multipart/form-data", data={
        "round_id": str(office["round"].id), "category": "feedback", "rectify_type": "deadline",
        "file": (io.BytesIO(bomb), "方案.docx")})
    assert response.status_code == 413
    assert "压缩炸弹" in response.get_data(as_text=True)
    assert _issues() == 0


# --- blank rows count towards the row limit ------------------------------------------

def _blank_rows_with_dimension(blank: int) -> bytes:
    """One good row, then a whitespace cell `blank` rows further down (the sheet's dimension says so)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(SHORT_HEADER))
    ws.append(GOOD)
    ws.cell(row=blank + 3, column=1, value=" ")
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


def _blank_rows_without_dimension(blank: int) -> bytes:
    """The same from write-only mode, which writes no dimension: only counting the rows finds them."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(list(SHORT_HEADER))
    ws.append(GOOD)
    for _ in range(blank):
        ws.append([" "])
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


@pytest.mark.parametrize("build", [_blank_rows_with_dimension, _blank_rows_without_dimension])
def test_blank_rows_count_towards_the_row_limit(session, office, build):
    with pytest.raises(Refusal) as refused:
        ledger_import.read_ledger(io.BytesIO(build(40)), session, max_rows=20)
    assert refused.value.kind == "invalid" and "一次最多导入 20 行" in refused.value.message
    preview = ledger_import.read_ledger(io.BytesIO(build(10)), session, max_rows=20)
    assert len(preview.rows) == 1


def test_blank_rows_are_refused_through_the_api(app, client, office):
    app.config.update(LEDGER_IMPORT_MAX_ROWS=20)
    token = token_for(client, office["supervisor"])
    response = client.post(f"{PREFIX}/imports/ledger", headers={"Authorization": f"Bearer {token}"},
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(_blank_rows_without_dimension(40)), "台账.xlsx"),
                                 "confirm": "true"})
    assert response.status_code == 422 and "一次最多导入 20 行" in response.get_json()["error"]
    assert _issues() == 0
