"""The ledger import (台账导入): round trip with the export, refused files, preview before writing,
unit suggestions, date formats, and the API's refusals."""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.support.api import PREFIX, token_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues.models import Event, Issue, IssueUnit
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import

NOW = datetime(2020, 7, 15, 2, 0)
TODAY = date(2020, 7, 15)


def export(app, user) -> bytes:
    """The whole ledger the user sees, as the export writes it, sorted by code."""
    stream = io.BytesIO()
    ledger.write_xlsx(ledger.ledger_rows(db.session, user, TODAY, app.config, IssueFilters(), sort="code"), stream)
    return stream.getvalue()


def rows_of(data: bytes) -> list[list]:
    """The workbook's rows without 序号 (header included)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [[cell.value for cell in row][1:] for row in wb.active.iter_rows()]


def workbook(rows: list[list], header=ledger.LEDGER_COLUMNS) -> io.BytesIO:
    """A small workbook made as a user would: a header row, then the rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    stream = io.BytesIO()
    wb.save(stream)
    stream.seek(0)
    return stream


SHORT_HEADER = ("问题编号", "督察轮次", "问题类别", "问题描述", "牵头单位", "配合单位", "整改时限", "整改类型")


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Issue.id))),
            db.session.scalar(select(func.count()).select_from(IssueUnit)),
            db.session.scalar(select(func.count(Event.id))))


@pytest.fixture
def world(session):
    lead = make_unit("LEAD", "市生态环境分局")
    coop = make_unit("COOP", "市住建局")
    other = make_unit("OTHER", "市水务局")
    round_ = make_round("中央环保督察(2016年)")
    supervisor = make_user("supervisor", username="super")
    session.commit()
    return {"lead": lead, "coop": coop, "other": other, "round": round_, "supervisor": supervisor}


def test_export_then_import_into_an_empty_tracker_gives_back_the_same_ledger(app, session, world):
    make_issue(lead_unit=world["lead"], round=world["round"], cooperating=(world["coop"], world["other"]),
               code="A-01", title="扬尘污染", description="扬尘污染治理不到位。工地未覆盖。", target="年底前完成",
               measures="=加强巡查", responsible_leader="张副市长", responsible_person="李科长",
               deadline=date(2020, 6, 30), category="key_concern", rectify_type="long_term")
    make_issue(lead_unit=world["other"], round=world["round"], code="B-01", description="",
               deadline=date(2020, 12, 31), target="", measures="")
    make_issue(lead_unit=world["coop"], round=world["round"], code="C-01", deadline=date(2021, 3, 31),
               category="petition", rectify_type="immediate", responsible_leader=None)
    session.commit()
    before = export(app, world["supervisor"])
    for issue in session.scalars(select(Issue)):
        session.delete(issue)
    session.commit()
    assert counts()[0] == 0

    preview = ledger_import.read_ledger(io.BytesIO(before), session)
    assert preview.errors == []
    assert preview.counts() == {"create": 3, "update": 0, "unchanged": 0}
    assert ledger_import.apply_ledger(session, world["supervisor"], NOW, TODAY, preview) == (3, 0)
    session.commit()

    assert rows_of(export(app, world["supervisor"])) == rows_of(before)
    a = session.scalar(select(Issue).where(Issue.code == "A-01"))
    assert a.title == "扬尘污染治理不到位"  # the description's first sentence
    assert a.measures == "=加强巡查"  # the formula-like text came back as text


def test_export_then_import_into_the_same_tracker_changes_nothing(app, session, world):
    a = make_issue(lead_unit=world["lead"], round=world["round"], cooperating=(world["coop"],), code="A-01",
                   progress_percent=40, deadline=date(2020, 6, 30))
    make_report(a, period="2020-06", text="六月进展")
    make_issue(lead_unit=world["coop"], round=world["round"], code="C-01", state="closed",
               progress_percent=100, closed_at=datetime(2020, 5, 20, 17, 0))
    session.commit()
    before = export(app, world["supervisor"])
    events = counts()

    preview = ledger_import.read_ledger(io.BytesIO(before), session)
    assert (preview.errors, preview.warnings) == ([], [])
    assert preview.counts() == {"create": 0, "update": 0, "unchanged": 2}
    assert ledger_import.apply_ledger(session, world["supervisor"], NOW, TODAY, preview) == (0, 0)
    session.commit()
    assert counts() == events
    assert export(app, world["supervisor"]) and rows_of(export(app, world["supervisor"])) == rows_of(before)


def test_changed_rows_update_the_issue_and_closed_issues_are_not_changed(app, session, world):
    make_issue(lead_unit=world["lead"], round=world["round"], code="A-01", description="旧描述")
    make_issue(lead_unit=world["coop"], round=world["round"], code="C-01", state="closed")
    session.commit()
    stream = workbook([["A-01", "中央环保督察(2016年)", "反馈问题", "新描述", "市生态环境分局", "市水务局",
                        "2020-12-31", "限期整改"]], SHORT_HEADER)
    preview = ledger_import.read_ledger(stream, session)
    assert preview.errors == [] and preview.counts()["update"] == 1
    assert ledger_import.apply_ledger(session, world["supervisor"], NOW, TODAY, preview) == (0, 1)
    session.commit()
    a = session.scalar(select(Issue).where(Issue.code == "A-01"))
    assert a.description == "新描述" and [u.unit_id for u in a.cooperating] == [world["other"].id]

    stream = workbook([["C-01", "中央环保督察(2016年)", "反馈问题", "改了", "市住建局", "", "2020-12-31",
                        "限期整改"]], SHORT_HEADER)
    preview = ledger_import.read_ledger(stream, session)
    assert preview.errors == [{"row": 2, "column": "问题编号", "message": "问题「C-01」已销号,不能通过导入修改。"}]


def test_nothing_is_written_before_confirmation_nor_with_errors(app, session, world):
    before = counts()
    good = ["N-01", "中央环保督察(2016年)", "反馈问题", "新问题", "市生态环境分局", "", "2020-12-31", "限期整改"]
    bad = ["N-02", "中央环保督察(2016年)", "反馈问题", "另一个", "住建局", "", "2020-12-31", "限期整改"]
    preview = ledger_import.read_ledger(workbook([good, bad], SHORT_HEADER), session)
    session.commit()
    assert counts() == before
    with pytest.raises(Refusal) as refused:
        ledger_import.apply_ledger(session, world["supervisor"], NOW, TODAY, preview)
    assert refused.value.kind == "invalid" and "未写入任何数据" in refused.value.message
    session.rollback()
    assert counts() == before


def test_unknown_units_and_rounds_suggest_the_closest(session, world):
    row = ["N-01", "中央环保督察2016", "反馈问题", "新问题", "住建局", "市水务局、生态环境分局", "2020-12-31",
           "限期整改"]
    preview = ledger_import.read_ledger(workbook([row], SHORT_HEADER), session)
    assert preview.errors == [
        {"row": 2, "column": "督察轮次",
         "message": "未找到督察轮次「中央环保督察2016」,是否为「中央环保督察(2016年)」?"},
        {"row": 2, "column": "牵头单位", "message": "未找到单位「住建局」,是否为「市住建局」?"},
        {"row": 2, "column": "配合单位", "message": "未找到单位「生态环境分局」,是否为「市生态环境分局」?"},
    ]


def test_units_match_by_code_and_labels_by_key(session, world):
    row = ["N-01", "中央环保督察(2016年)", "petition", "新问题", "COOP", "LEAD,OTHER", "2020-12-31", "立行立改"]
    preview = ledger_import.read_ledger(workbook([row], SHORT_HEADER), session)
    assert preview.errors == []
    data = preview.rows[0].data
    assert (data["lead_unit"], data["cooperating_units"], data["category"], data["rectify_type"]) == (
        "COOP", ["LEAD", "OTHER"], "petition", "immediate")


@pytest.mark.parametrize("cell, expected", [
    (datetime(2020, 6, 30), date(2020, 6, 30)),
    (date(2020, 6, 30), date(2020, 6, 30)),
    ("2020-06-30", date(2020, 6, 30)),
    ("2020/6/30", date(2020, 6, 30)),
    ("2020.6.30", date(2020, 6, 30)),
    ("2020年6月30日", date(2020, 6, 30)),
    ("2020年6月30日前", date(2020, 6, 30)),
    ("2020年6月底前", date(2020, 6, 30)),
    ("2020年2月底前", date(2020, 2, 29)),
    ("2021年2月底", date(2021, 2, 28)),
    ("2020年底前", date(2020, 12, 31)),
    ("2020年底", date(2020, 12, 31)),
    (44012, date(2020, 6, 30)),
    ("长期坚持", None),
    ("2020年13月", None),
    ("6月底前", None),
])
def test_date_formats(cell, expected):
    assert ledger_import.parse_ledger_date(cell) == expected


def test_row_errors_name_the_row_and_column(session, world):
    rows = [
        ["", "中央环保督察(2016年)", "反馈问题", "无编号", "市住建局", "", "2020-12-31", "限期整改"],
        ["N-02", "中央环保督察(2016年)", "其他问题", "类别错", "市住建局", "", "长期", "马上改"],
        ["N-02", "中央环保督察(2016年)", "", "重复编号", "", "", "", ""],
    ]
    preview = ledger_import.read_ledger(workbook(rows, SHORT_HEADER), session)
    got = {(e["row"], e["column"]) for e in preview.errors}
    assert got == {(2, "问题编号"), (3, "问题类别"), (3, "整改时限"), (3, "整改类型"), (4, "牵头单位"),
                   (4, "整改时限"), (4, "问题编号")}
    assert any("与第 3 行重复" in e["message"] for e in preview.errors)


def test_headers_are_tolerated_and_a_title_row_above_is_skipped(app, session, world):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某市整改台账"])
    ws.append([" 问题编号 ", "问题标题", "问题描述", "牵头单位", "整改时限(年月日)", "整改类型 *"])
    ws.append(["N-01", "自己的标题", "描述", "市住建局", "2020年9月底前", "立行立改"])
    stream = io.BytesIO()
    wb.save(stream)
    stream.seek(0)
    preview = ledger_import.read_ledger(stream, session, round_id=world["round"].id)
    assert preview.errors == []
    assert ledger_import.apply_ledger(session, world["supervisor"], NOW, TODAY, preview) == (1, 0)
    issue = session.scalar(select(Issue).where(Issue.code == "N-01"))
    assert (issue.title, issue.deadline, issue.round_id, issue.category, issue.rectify_type) == (
        "自己的标题", date(2020, 9, 30), world["round"].id, "feedback", "immediate")


def test_refused_files(session, world):
    with pytest.raises(Refusal) as refused:
        ledger_import.read_ledger(io.BytesIO(b"%PDF-1.4 not a workbook"), session)
    assert refused.value.kind == "invalid" and "Excel 工作簿" in refused.value.message

    with pytest.raises(Refusal) as refused:
        ledger_import.read_ledger(workbook([["N-01", "描述"]], ("问题编号", "问题描述")), session)
    assert refused.value.kind == "invalid"
    assert refused.value.message.startswith("台账缺少必需的列:牵头单位、整改时限、督察轮次")

    rows = [[f"N-{n}", "中央环保督察(2016年)", "反馈问题", "描述", "市住建局", "", "2020-12-31", "限期整改"]
            for n in range(6)]
    with pytest.raises(Refusal) as refused:
        ledger_import.read_ledger(workbook(rows, SHORT_HEADER), session, max_rows=5)
    assert refused.value.kind == "invalid" and "一次最多导入 5 行" in refused.value.message

    with pytest.raises(Refusal) as refused:
        ledger_import.read_ledger(workbook(rows, SHORT_HEADER), session, max_bytes=1000)
    assert refused.value.kind == "too_large"


# --- API -----------------------------------------------------------------------

def _post(client, token, stream, confirm="false", **form):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"{PREFIX}/imports/ledger", headers=headers,
                       data={"file": (stream, "台账.xlsx"), "confirm": confirm, **form},
                       content_type="multipart/form-data")


GOOD = ["N-01", "中央环保督察(2016年)", "反馈问题", "新问题", "市生态环境分局", "市住建局", "2020年底前", "限期整改"]


def test_api_previews_then_imports(client, session, world):
    token = token_for(client, world["supervisor"])
    before = counts()
    response = _post(client, token, workbook([GOOD], SHORT_HEADER))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"rows": 1, "errors": [], "warnings": [], "create": 1, "update": 0,
                                   "unchanged": 0}
    assert counts() == before

    response = _post(client, token, workbook([GOOD], SHORT_HEADER), confirm="true")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"created": 1, "updated": 0}
    issue = db.session.scalar(select(Issue).where(Issue.code == "N-01"))
    assert issue.deadline == date(2020, 12, 31)


def test_api_confirm_with_errors_writes_nothing(client, session, world):
    token = token_for(client, world["supervisor"])
    before = counts()
    bad = ["N-02", *GOOD[1:4], "住建局", *GOOD[5:]]
    response = _post(client, token, workbook([GOOD, bad], SHORT_HEADER), confirm="true")
    assert response.status_code == 422
    body = response.get_json()
    assert "未写入任何数据" in body["error"]
    assert body["errors"] == [{"row": 3, "column": "牵头单位", "message": "未找到单位「住建局」,是否为「市住建局」?"}]
    assert counts() == before


def test_api_refusals(client, session, world):
    staff = make_user("unit_staff", world["lead"], username="staff")
    session.commit()
    before = counts()
    response = _post(client, None, workbook([GOOD], SHORT_HEADER), confirm="true")
    assert response.status_code == 401
    response = _post(client, token_for(client, staff), workbook([GOOD], SHORT_HEADER), confirm="true")
    assert response.status_code == 403
    assert response.get_json() == {"error": "只有督察整改办可以导入整改台账。"}
    token = token_for(client, world["supervisor"])
    response = _post(client, token, io.BytesIO(b"hello"), confirm="true")
    assert response.status_code == 422 and "Excel 工作簿" in response.get_json()["error"]
    response = client.post(f"{PREFIX}/imports/ledger", headers={"Authorization": f"Bearer {token}"},
                           data={"confirm": "true"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "字段名为 file" in response.get_json()["error"]
    response = _post(client, token, workbook([GOOD], SHORT_HEADER), confirm="maybe")
    assert response.status_code == 400
    assert counts() == before


# --- web pages -------------------------------------------------------------------

def test_web_upload_preview_and_confirm(app, client, login_as, session, world):
    login_as(world["supervisor"])
    html = client.get("/issues/").get_data(as_text=True)
    assert 'id="import-ledger"' in html
    page = client.get("/issues/import")
    assert page.status_code == 200
    before = counts()
    response = client.post("/issues/import", data={
        "round_id": "",
        "file": (workbook([GOOD], SHORT_HEADER), "台账.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 302
    location = response.headers["Location"]
    sha256 = location.split("/issues/import/")[1].split("?")[0]
    assert (tmp := app.config["UPLOAD_DIR"]) and (__import__("pathlib").Path(tmp) / "imports" / sha256).is_file()
    preview = client.get(location)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "新登记 1 个" in html and 'id="import-confirm"' in html
    assert counts() == before  # the upload and the preview write nothing

    done = client.post(f"/issues/import/{sha256}", data={"round_id": ""})
    assert done.status_code == 302 and done.headers["Location"].endswith("/issues/")
    assert db.session.scalar(select(func.count(Issue.id)).where(Issue.code == "N-01")) == 1
    assert "新登记 1 个问题" in client.get("/issues/").get_data(as_text=True)


def test_web_preview_shows_errors_and_offers_no_confirmation(client, login_as, session, world):
    login_as(world["supervisor"])
    page = client.get("/issues/import").get_data(as_text=True)
    assert 'id="import-form"' in page
    bad = [*GOOD[:4], "住建局", *GOOD[5:]]
    response = client.post("/issues/import", data={
        "file": (workbook([bad], SHORT_HEADER), "台账.xlsx")},
        content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert 'id="import-errors"' in html and "未找到单位「住建局」,是否为「市住建局」?" in html
    assert 'id="import-confirm"' not in html
    sha256 = response.request.path.rsplit("/", 1)[1]
    before = counts()
    # Confirming anyway (a forged POST) is refused and writes nothing.
    done = client.post(f"/issues/import/{sha256}", data={})
    assert done.status_code == 302
    assert counts() == before


def test_web_import_is_for_supervisors_only(client, login_as, session, world):
    staff = make_user("unit_staff", world["lead"], username="staff")
    session.commit()
    login_as(staff)
    assert 'id="import-ledger"' not in client.get("/issues/").get_data(as_text=True)
    response = client.get("/issues/import")
    assert response.status_code == 403 and "只有督察整改办可以导入整改台账" in response.get_data(as_text=True)
    assert client.get("/issues/import/" + "0" * 64).status_code == 403
    assert client.get("/issues/import/../../etc").status_code == 404


def test_the_preview_shows_which_cells_an_update_changes_and_what_they_hold_today(session, world):
    make_issue(lead_unit=world["lead"], round=world["round"], cooperating=(world["coop"],), code="A-01",
               description="旧描述", deadline=date(2020, 6, 30), category="feedback", rectify_type="deadline")
    session.commit()
    stream = workbook([["A-01", "中央环保督察(2016年)", "反馈问题", "新描述", "市生态环境分局", "市水务局",
                        "2020-12-31", "限期整改"]], SHORT_HEADER)
    preview = ledger_import.read_ledger(stream, session)
    [row] = preview.rows
    assert row.action == "update"
    # Exactly the changing cells, with the tracker's values as a ledger writes them.
    assert row.was == {"问题描述": "旧描述", "配合单位": "市住建局", "整改时限": "2020-06-30"}
    page = ledger_import.PreviewPage.from_preview(preview)
    assert page.shown_rows[0].was == row.was
    # A preview job keeps them in its stored result.
    assert ledger_import.PreviewPage.from_json(page.to_json()).shown_rows[0].was == row.was


def test_an_unchanged_row_marks_no_cell(app, session, world):
    make_issue(lead_unit=world["lead"], round=world["round"], code="A-01", description="描述")
    session.commit()
    preview = ledger_import.read_ledger(io.BytesIO(export(app, world["supervisor"])), session)
    assert [(row.action, row.was) for row in preview.rows] == [("unchanged", {})]


def test_web_preview_marks_the_changing_cells(client, login_as, session, world):
    make_issue(lead_unit=world["lead"], round=world["round"], code="A-01", description="旧描述",
               deadline=date(2020, 6, 30), category="feedback", rectify_type="deadline")
    session.commit()
    login_as(world["supervisor"])
    response = client.post("/issues/import", data={"round_id": "", "file": (workbook(
        [["A-01", "中央环保督察(2016年)", "反馈问题", "新描述", "市生态环境分局", "", "2020-06-30", "限期整改"]],
        SHORT_HEADER), "台账.xlsx")}, content_type="multipart/form-data")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-changes-legend"' in html
    marked = re.findall(r'<td class="table-warning cell-changed" data-column="([^"]+)" title="原值:([^"]*)">', html)
    assert marked == [("问题描述", "旧描述")]
    assert '<del class="text-muted cell-was">旧描述</del><br>新描述' in html
