"""Uploads scanned by an antivirus before they are kept (ASVS 12.4.2), against a real clamd.

clamd runs with one signature, for the EICAR test string (tests/support/clamd.py: the official
signatures need the internet). Every upload route is tried with an infected file (422, nothing kept,
`upload_infected` logged) and with clamd unreachable (503, nothing kept: fail closed); without
TRACKER_CLAMD_URL nothing is scanned. Skipped without clamd unless TRACKER_TEST_REQUIRE_CLAMD=1
(.ci/run sets it and installs clamav-daemon).
"""
from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.support.api import PREFIX, api_for, token_for
from tests.support.clamd import (
    EICAR,
    SIGNATURE,
    STREAM_MAX_BYTES,
    Clamd,
    clamd_available,
    clamd_folder,
    start_clamd,
    stop_clamd,
)
from tests.support.factories import PDF_BYTES
from tracker.core import antivirus
from tracker.core.antivirus import ClamdScanner, ScannerError
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, Issue

INFECTED_PDF = PDF_BYTES + b"%" + EICAR + b"\n"
INFECTED_TEXT = "未通过病毒扫描"
UNAVAILABLE_TEXT = "病毒扫描服务暂时不可用"
LEDGER_HEADER = ("问题编号", "督察轮次", "问题类别", "问题描述", "牵头单位", "配合单位", "整改时限", "整改类型")


@pytest.fixture(scope="session")
def clamd() -> Iterator[Clamd]:
    """One real clamd for the session (it starts in about a second with one signature)."""
    missing = clamd_available()
    if missing:
        if os.environ.get("TRACKER_TEST_REQUIRE_CLAMD") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    folder = clamd_folder()
    try:
        daemon = start_clamd(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield daemon
    finally:
        stop_clamd(daemon.process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def scanning(app, clamd) -> Clamd:
    """The app scans uploads with the real clamd (over its unix socket)."""
    app.config.update(CLAMD_URL=clamd.unix_url)
    return clamd


@pytest.fixture
def clamd_down(app, tmp_path) -> None:
    """TRACKER_CLAMD_URL names a socket nobody listens on."""
    app.config.update(CLAMD_URL=f"unix://{tmp_path / 'no-clamd.sock'}", CLAMD_TIMEOUT=2)


def _ledger(extra_member: bytes = b"") -> bytes:
    """A valid one-row ledger; with `extra_member`, that content as a deflated part of the .xlsx."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(LEDGER_HEADER))
    ws.append(["N-01", "第一轮中央环保督察", "反馈问题", "新问题", "牵头局", "", "2020年底前", "限期整改"])
    stream = io.BytesIO()
    wb.save(stream)
    if extra_member:
        with zipfile.ZipFile(stream, "a", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/media/readme.txt", extra_member)
    return stream.getvalue()


def _stored(app) -> list[Path]:
    return sorted(p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


def _rows() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Attachment.id))), db.session.scalar(select(func.count(Event.id))),
            db.session.scalar(select(func.count(Issue.id))))


# --- the scanner itself -----------------------------------------------------------------

@pytest.mark.parametrize("address", ["unix", "tcp"])
def test_clamd_finds_the_eicar_string_and_passes_a_clean_file(clamd, address):
    scanner = ClamdScanner(clamd.unix_url if address == "unix" else clamd.tcp_url)
    assert scanner.scan(io.BytesIO(PDF_BYTES)) is None
    assert scanner.scan(io.BytesIO(INFECTED_PDF)) == f"{SIGNATURE}.UNOFFICIAL"
    # In a zip member too (a .xlsx or .docx is one): clamd unpacks what it scans.
    assert scanner.scan(io.BytesIO(_ledger(EICAR))) == f"{SIGNATURE}.UNOFFICIAL"
    # Larger than one chunk: the stream is sent in several.
    assert scanner.scan(io.BytesIO(PDF_BYTES + b"%" * (3 * antivirus.CHUNK) + EICAR)) == f"{SIGNATURE}.UNOFFICIAL"


def test_an_answer_that_is_no_verdict_is_an_error_not_a_pass(clamd):
    # Past its StreamMaxLength clamd answers "INSTREAM size limit exceeded. ERROR": not scanned.
    with pytest.raises(ScannerError, match="size limit exceeded"):
        ClamdScanner(clamd.unix_url).scan(io.BytesIO(b"x" * (STREAM_MAX_BYTES + antivirus.CHUNK)))


def test_an_unreachable_clamd_is_an_error(tmp_path):
    with pytest.raises(ScannerError):
        ClamdScanner(f"unix://{tmp_path / 'none.sock'}", timeout=2).scan(io.BytesIO(PDF_BYTES))
    with pytest.raises(ScannerError, match="unsupported"):
        ClamdScanner("http://127.0.0.1:3310").scan(io.BytesIO(PDF_BYTES))


def test_check_upload_refuses_with_the_statuses_and_logs(clamd, tmp_path, caplog):
    scanner = ClamdScanner(clamd.unix_url)
    antivirus.check_upload(scanner, PDF_BYTES, "ok.pdf", user="staff")
    antivirus.check_upload(None, INFECTED_PDF, "off.pdf")  # scanning off: nothing asked
    with pytest.raises(Refusal) as infected:
        antivirus.check_upload(scanner, INFECTED_PDF, "证明.pdf", user="staff")
    assert infected.value.status == 422 and INFECTED_TEXT in infected.value.message
    assert "event=upload_infected user='staff' filename='证明.pdf'" in caplog.text
    with pytest.raises(Refusal) as down:
        antivirus.check_upload(ClamdScanner(f"unix://{tmp_path / 'none.sock'}", 2), PDF_BYTES, "a.pdf", user="staff")
    assert down.value.status == 503 and UNAVAILABLE_TEXT in down.value.message
    assert "event=upload_scan_failed user='staff'" in caplog.text


def test_the_setting_makes_the_scanner():
    assert antivirus.scanner_from_config({"CLAMD_URL": None}) is None
    scanner = antivirus.scanner_from_config({"CLAMD_URL": "tcp://127.0.0.1:3310", "CLAMD_TIMEOUT": 5})
    assert scanner == ClamdScanner("tcp://127.0.0.1:3310", 5.0)


# --- evidence -----------------------------------------------------------------------------

def test_infected_evidence_is_refused_through_the_api_and_nothing_is_kept(app, client, world, scanning, caplog):
    api = api_for(client, world["staff"])
    assert api.upload(world["issue"].id, PDF_BYTES, "干净.pdf").status_code == 201
    before, files = _rows(), _stored(app)
    response = api.upload(world["issue"].id, INFECTED_PDF, "证明.pdf")
    assert response.status_code == 422
    assert set(response.get_json()) == {"error"} and INFECTED_TEXT in response.get_json()["error"]
    assert _rows() == before and _stored(app) == files  # no row, no timeline entry, no file nor temp file
    assert "event=upload_infected user='staff' filename='证明.pdf'" in caplog.text


def test_infected_evidence_is_refused_on_the_page(app, client, login_as, world, scanning):
    login_as(world["staff"])
    before, files = _rows(), _stored(app)
    response = client.post(f"/issues/{world['issue'].id}/attachments", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(INFECTED_PDF), "证明.pdf")})
    assert response.status_code == 422
    assert INFECTED_TEXT in response.get_data(as_text=True)
    assert _rows() == before and _stored(app) == files


def test_evidence_is_refused_503_while_clamd_is_down(app, client, login_as, world, clamd_down):
    before = _rows()
    response = api_for(client, world["staff"]).upload(world["issue"].id, PDF_BYTES, "证明.pdf")
    assert response.status_code == 503
    assert set(response.get_json()) == {"error"} and UNAVAILABLE_TEXT in response.get_json()["error"]
    login_as(world["staff"])
    page = client.post(f"/issues/{world['issue'].id}/attachments", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(PDF_BYTES), "证明.pdf")})
    assert page.status_code == 503 and UNAVAILABLE_TEXT in page.get_data(as_text=True)
    assert _rows() == before and _stored(app) == []


def test_without_the_setting_nothing_is_scanned(app, client, world):
    assert app.config["CLAMD_URL"] is None
    assert api_for(client, world["staff"]).upload(world["issue"].id, INFECTED_PDF, "证明.pdf").status_code == 201


# --- ledgers and plans --------------------------------------------------------------------

def _post_ledger(client, world, data: bytes, **form):
    token = token_for(client, world["supervisor"])
    return client.post(f"{PREFIX}/imports/ledger", headers={"Authorization": f"Bearer {token}"},
                       content_type="multipart/form-data", data={"file": (io.BytesIO(data), "台账.xlsx"), **form})


def test_an_infected_ledger_is_refused_through_the_api(app, client, world, scanning):
    assert _post_ledger(client, world, _ledger()).status_code == 200  # a clean one is previewed
    before = _rows()
    for form in ({}, {"confirm": "true"}):
        response = _post_ledger(client, world, _ledger(EICAR), **form)
        assert response.status_code == 422, form
        assert INFECTED_TEXT in response.get_json()["error"]
    # Through a background job the file is kept first: refused before it is.
    app.config.update(PREVIEW_INLINE_MAX_BYTES=1)
    response = _post_ledger(client, world, _ledger(EICAR))
    assert response.status_code == 422 and INFECTED_TEXT in response.get_json()["error"]
    assert _rows() == before and _stored(app) == []


def test_an_infected_ledger_is_refused_on_the_page_and_not_kept(app, client, login_as, world, scanning):
    login_as(world["supervisor"])
    response = client.post("/issues/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(_ledger(EICAR)), "台账.xlsx")})
    assert response.status_code == 422 and INFECTED_TEXT in response.get_data(as_text=True)
    assert _stored(app) == []
    ok = client.post("/issues/import", content_type="multipart/form-data",
                     data={"file": (io.BytesIO(_ledger()), "台账.xlsx")})
    assert ok.status_code == 302 and len(_stored(app)) == 1


def test_a_ledger_is_refused_503_while_clamd_is_down(app, client, login_as, world, clamd_down):
    assert _post_ledger(client, world, _ledger()).status_code == 503
    login_as(world["supervisor"])
    response = client.post("/issues/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(_ledger()), "台账.xlsx")})
    assert response.status_code == 503 and UNAVAILABLE_TEXT in response.get_data(as_text=True)
    assert _stored(app) == []


@pytest.mark.parametrize("content, status", [("某镇整治方案\n".encode() + EICAR, 422), (None, 503)])
def test_an_uploaded_plan_is_scanned_before_it_is_read(app, client, login_as, world, clamd, content, status):
    if content is None:
        app.config.update(CLAMD_URL=f"unix://{Path(app.config['UPLOAD_DIR']).parent / 'none.sock'}")
        content = "某镇整治方案\n".encode()
    else:
        app.config.update(CLAMD_URL=clamd.tcp_url)
    login_as(world["supervisor"])
    before = _rows()
    response = client.post("/issues/import-plan", content_type="multipart/form-data", data={
        "round_id": str(world["round"].id), "category": "feedback", "rectify_type": "deadline",
        "file": (io.BytesIO(content), "方案.txt")})
    assert response.status_code == status
    assert (INFECTED_TEXT if status == 422 else UNAVAILABLE_TEXT) in response.get_data(as_text=True)
    assert _rows() == before


def test_the_api_documents_503_for_uploads(client):
    paths = client.get(f"{PREFIX}/openapi.json").get_json()["paths"]
    assert "503" in paths["/issues/{issue_id}/attachments"]["post"]["responses"]
    assert "503" in paths["/imports/ledger"]["post"]["responses"]
