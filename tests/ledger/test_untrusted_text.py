"""Control characters in stored or imported text (ASVS 5.1.3, 7.4.2): exports never fail on what
the database holds, and the imports store text cleaned."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from tests.support.api import PREFIX, token_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.core.xlsx import xlsx_row
from tracker.issues.models import Issue
from tracker.ledger import export as ledger

# What may already sit in the database from before text was cleaned (NUL aside: PostgreSQL refuses it).
DIRTY = "第一句\u000b第二句\x01\x1f\ufffe\uffff\x85完"


@pytest.fixture
def office(session):
    lead = make_unit("HBB", "环保办")
    round_ = make_round("自治区督察(2019年)")
    issue = make_issue(lead_unit=lead, round=round_, code="D-01", title="标题\u000b", description=DIRTY,
                       measures="=措施\x0c", deadline=date(2020, 12, 31))
    make_report(issue, text="进展\u000b顺利\x00" if db.engine.dialect.name == "sqlite" else "进展\u000b顺利")
    supervisor = make_user("supervisor", username="super")
    session.commit()
    return {"lead": lead, "round": round_, "issue": issue, "supervisor": supervisor}


def _cells(data: bytes) -> list[list]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [[cell.value for cell in row] for row in wb.active.iter_rows()]


def test_the_page_export_of_stored_control_characters_is_a_valid_workbook(client, login_as, office):
    login_as(office["supervisor"])
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 200
    row = _cells(response.get_data())[1]
    columns = list(ledger.LEDGER_COLUMNS)
    assert row[columns.index("问题描述")] == "第一句第二句完"
    assert row[columns.index("整改措施")] == "=措施"  # still text with the quote prefix, not a formula
    assert row[columns.index("最新进展")] == "进展顺利"


def test_the_api_export_of_stored_control_characters_answers(client, office):
    token = token_for(client, office["supervisor"])
    response = client.get(f"{PREFIX}/issues/export.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert _cells(response.get_data())[1][4] == "第一句第二句完"


def test_the_csv_export_carries_the_same_clean_text(client, login_as, office):
    login_as(office["supervisor"])
    response = client.get("/issues/export.csv")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    assert "第一句第二句完" in text and "\u000b" not in text and "'=措施" in text


def test_xlsx_rows_drop_what_xml_cannot_hold():
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("x")
    ws.append(xlsx_row(ws, ["a\ud800b\x00c\x0b", "\ufffe", 3, None]))
    stream = io.BytesIO()
    wb.save(stream)
    assert _cells(stream.getvalue())[0] == ["abc", None, 3]


# --- imports -----------------------------------------------------------------------

SHORT_HEADER = ("问题编号", "督察轮次", "问题类别", "问题描述", "牵头单位", "配合单位", "整改时限", "整改类型")


def _ledger(description: str) -> io.BytesIO:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(SHORT_HEADER))
    ws.append(["N-01", "自治区督察(2019年)", "反馈问题", description, "环保办", "", "2020年底前", "限期整改"])
    stream = io.BytesIO()
    wb.save(stream)
    stream.seek(0)
    return stream


def test_the_ledger_import_previews_and_stores_text_cleaned(client, office):
    token = token_for(client, office["supervisor"])
    headers = {"Authorization": f"Bearer {token}"}
    # Characters an .xlsx may carry (XML allows them) that nobody can see: C1, BOM, bidi override.
    for confirm in ("false", "true"):
        response = client.post(f"{PREFIX}/imports/ledger", headers=headers, content_type="multipart/form-data",
                               data={"file": (_ledger("\ufeff河道\x85整治\u202e。"), "台账.xlsx"), "confirm": confirm})
        assert response.status_code == 200, response.get_data(as_text=True)
    issue = db.session.scalar(select(Issue).where(Issue.code == "N-01"))
    assert issue.description == "河道整治。" and issue.title == "河道整治"
    assert client.get(f"{PREFIX}/issues/export.xlsx", headers=headers).status_code == 200


def test_the_plan_import_stores_text_cleaned(client, office):
    token = token_for(client, office["supervisor"])
    plan = "某镇2020年整治方案\r\n一、大气\r\n1.整治散乱污\u000b企业\x00。6月底前完成。(责任单位:环保办)\r\n"
    response = client.post(f"{PREFIX}/imports/plan", headers={"Authorization": f"Bearer {token}"}, json={
        "text": plan, "round_id": office["round"].id, "confirm": True})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    issue = db.session.scalar(select(Issue).where(Issue.code != "D-01"))
    assert "\u000b" not in issue.description and "\x00" not in issue.description
    assert issue.description.startswith("整治散乱污企业")


def test_an_uploaded_plan_file_is_cleaned(client, login_as, office):
    login_as(office["supervisor"])
    plan = "某镇2020年整治方案\n一、大气\n1.整治散乱污\u000b企业。6月底前完成。(责任单位:环保办)\n"
    response = client.post("/issues/import-plan", content_type="multipart/form-data", data={
        "round_id": str(office["round"].id), "category": "feedback", "rectify_type": "deadline",
        "file": (io.BytesIO(plan.encode("utf-8")), "方案.txt")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "整治散乱污企业" in html and "\u000b" not in html
