"""The ledger export (台账导出): columns and values, scope, filters, formula cells, CSV, API, query count."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from urllib.parse import quote

import openpyxl
import pytest

from tests.support.api import PREFIX, token_for
from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tests.support.queries import count_queries
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_xlsx(data: bytes) -> list[list]:
    """Every row of the workbook's only sheet, header first."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [[cell.value for cell in row] for row in wb.active.iter_rows()]


def by_code(rows: list[list]) -> dict[str, dict]:
    """Data rows as dicts keyed by the issue code."""
    header = rows[0]
    return {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}


@pytest.fixture
def ledger_world(session):
    """Two units with an issue each, one shared, a report history and a closed issue."""
    lead = make_unit("LEAD", "市生态环境分局")
    coop = make_unit("COOP", "市住建局")
    other = make_unit("OTHER", "市水务局")
    round_ = make_round("中央环保督察(2016年)")
    a = make_issue(lead_unit=lead, round=round_, cooperating=(coop, other), code="A-01",
                   description="扬尘污染治理不到位", target="年底前完成", measures="加强巡查",
                   responsible_leader="张副市长", responsible_person="李科长",
                   deadline=date(2020, 6, 30), progress_percent=40, category="key_concern",
                   rectify_type="long_term")
    make_report(a, period="2020-05", text="五月进展")
    replaced = make_report(a, period="2020-06", text="被替换的六月进展")
    replaced.replaced_at = datetime(2020, 6, 20)
    make_report(a, period="2020-06", text="六月进展")
    b = make_issue(lead_unit=other, round=round_, code="B-01", deadline=date(2020, 12, 31), description="")
    c = make_issue(lead_unit=coop, round=round_, code="C-01", state="closed", progress_percent=100,
                   deadline=date(2020, 5, 31), closed_at=datetime(2020, 5, 20, 17, 0))  # 21-05 Beijing
    users = {
        "supervisor": make_user("supervisor", username="super"),
        "lead_staff": make_user("unit_staff", lead, username="lead_staff"),
        "coop_staff": make_user("unit_staff", coop, username="coop_staff"),
    }
    session.commit()
    return {"a": a, "b": b, "c": c, "round": round_, **users}


def test_excel_ledger_has_the_columns_and_values(client, login_as, ledger_world):
    login_as(ledger_world["supervisor"])
    response = client.get("/issues/export.xlsx?sort=code")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''" + quote("整改台账-2020-07-15.xlsx") in disposition
    rows = read_xlsx(response.get_data())
    assert rows[0] == list(ledger.LEDGER_COLUMNS)
    assert [row[0] for row in rows[1:]] == [1, 2, 3]
    assert [row[1] for row in rows[1:]] == ["A-01", "B-01", "C-01"]
    a = by_code(rows)["A-01"]
    assert a == {
        "序号": 1, "问题编号": "A-01", "督察轮次": "中央环保督察(2016年)", "问题类别": "重点关注问题",
        "问题描述": "扬尘污染治理不到位", "整改目标": "年底前完成", "整改措施": "加强巡查",
        "牵头单位": "市生态环境分局", "配合单位": "市住建局、市水务局", "责任领导": "张副市长", "责任人": "李科长",
        "原定整改时限": datetime(2020, 6, 30), "现整改时限": datetime(2020, 6, 30), "延期次数": 0,
        "整改类型": "长期坚持", "最新进展": "六月进展", "进度": 40,
        "状态": "整改中", "是否逾期": "是", "逾期天数": 15, "销号时间": None,
    }
    b = by_code(rows)["B-01"]
    assert b["问题描述"] == ledger_world["b"].title  # no description: the title stands in
    assert (b["配合单位"], b["最新进展"], b["是否逾期"], b["逾期天数"]) == (None, None, "否", None)
    c = by_code(rows)["C-01"]
    assert (c["状态"], c["销号时间"], c["是否逾期"]) == ("已销号", datetime(2020, 5, 21), "否")
    # Dates are real dates in the workbook, shown as dates.
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    deadline_cell = wb.active.cell(row=2, column=13)
    assert deadline_cell.is_date and deadline_cell.number_format == "yyyy-mm-dd"


def test_unit_users_export_only_their_issues(client, login_as, ledger_world):
    login_as(ledger_world["coop_staff"])
    rows = read_xlsx(client.get("/issues/export.xlsx").get_data())
    # COOP leads C-01 and cooperates on A-01; B-01 is none of its business.
    assert sorted(row[1] for row in rows[1:]) == ["A-01", "C-01"]


def test_the_list_filters_apply_to_the_export(client, login_as, ledger_world):
    login_as(ledger_world["supervisor"])
    rows = read_xlsx(client.get("/issues/export.xlsx?overdue=1").get_data())
    assert [row[1] for row in rows[1:]] == ["A-01"]
    rows = read_xlsx(client.get("/issues/export.xlsx?state=closed").get_data())
    assert [row[1] for row in rows[1:]] == ["C-01"]
    rows = read_xlsx(client.get("/issues/export.xlsx?unit=OTHER&sort=-code&page=7").get_data())
    assert [row[1] for row in rows[1:]] == ["B-01", "A-01"]
    rows = read_xlsx(client.get("/issues/export.xlsx?q=扬尘").get_data())
    assert [row[1] for row in rows[1:]] == ["A-01"]


def test_the_list_page_links_to_the_export_with_its_filters(client, login_as, ledger_world):
    login_as(ledger_world["supervisor"])
    html = client.get("/issues/?state=open&unit=OTHER&page=1").get_data(as_text=True)
    assert 'id="export-xlsx"' in html and 'id="export-csv"' in html
    assert "/issues/export.xlsx?" in html and "state=open" in html and "unit=OTHER" in html
    assert "导出 Excel" in html and "导出 CSV" in html


def test_export_needs_a_login(client, ledger_world):
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_formula_like_text_stays_text(client, login_as, session, ledger_world):
    make_issue(code="F-01", title="=1+2", description="", measures="@SUM(A1)", target="-3",
               responsible_person="+86 123", responsible_leader="\t=cmd")
    session.commit()
    login_as(ledger_world["supervisor"])
    data = client.get("/issues/export.xlsx?q=F-01").get_data()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = {wb.active.cell(row=1, column=col).value: wb.active.cell(row=2, column=col)
             for col in range(1, len(ledger.LEDGER_COLUMNS) + 1)}
    for column, text in (("问题描述", "=1+2"), ("整改措施", "@SUM(A1)"), ("整改目标", "-3"),
                         ("责任人", "+86 123"), ("责任领导", "\t=cmd")):
        cell = cells[column]
        assert cell.data_type == "s" and cell.data_type != "f", column
        assert cell.value == text and cell.quotePrefix, column

    body = client.get("/issues/export.csv?q=F-01").get_data().decode("utf-8-sig")
    record = dict(zip(*list(csv.reader(io.StringIO(body))), strict=True))
    assert record["问题描述"] == "'=1+2"
    assert record["整改措施"] == "'@SUM(A1)"
    assert record["整改目标"] == "'-3"
    assert record["责任领导"] == "'\t=cmd"


def test_csv_export_has_a_bom_and_the_same_rows(client, login_as, ledger_world):
    login_as(ledger_world["supervisor"])
    response = client.get("/issues/export.csv?sort=code")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''" + quote("整改台账-2020-07-15.csv") in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(ledger.LEDGER_COLUMNS)
    assert [row[1] for row in rows[1:]] == ["A-01", "B-01", "C-01"]
    a = dict(zip(rows[0], rows[1], strict=True))
    assert (a["原定整改时限"], a["现整改时限"], a["配合单位"], a["进度"], a["逾期天数"]) == \
        ("2020-06-30", "2020-06-30", "市住建局、市水务局", "40", "15")
    assert dict(zip(rows[0], rows[3], strict=True))["销号时间"] == "2020-05-21"


def test_api_export_with_a_token(client, ledger_world):
    token = token_for(client, ledger_world["lead_staff"])
    response = client.get(f"{PREFIX}/issues/export.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.mimetype == XLSX
    assert [row[1] for row in read_xlsx(response.get_data())[1:]] == ["A-01"]

    token = token_for(client, ledger_world["supervisor"])
    response = client.get(f"{PREFIX}/issues/export.xlsx?state=closed",
                          headers={"Authorization": f"Bearer {token}"})
    assert [row[1] for row in read_xlsx(response.get_data())[1:]] == ["C-01"]
    response = client.get(f"{PREFIX}/issues/export.xlsx?overdue=maybe",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "overdue" in response.get_json()["error"]


def test_api_export_without_a_token_is_refused(client, ledger_world):
    response = client.get(f"{PREFIX}/issues/export.xlsx")
    assert response.status_code == 401
    assert "访问令牌" in response.get_json()["error"]


def _export_query_count(session, user, n: int) -> int:
    unit, round_ = make_unit(), make_round()
    coop = make_unit()
    for _ in range(n):
        issue = make_issue(lead_unit=unit, round=round_, cooperating=(coop,))
        make_report(issue)
    session.commit()
    round_id, _ = round_.id, user.role  # reload what the commit expired, outside the count
    with count_queries() as statements:
        rows = list(ledger.ledger_rows(session, user, date(2020, 7, 15), {}, IssueFilters(round_id=round_id),
                                       sort="urgent", batch_size=50))
    assert len(rows) == n and all(row[ledger.LEDGER_COLUMNS.index("最新进展")] == "进展顺利" for row in rows)
    return len(statements)


def test_query_count_does_not_grow_with_rows(session, app):
    user = make_user("supervisor")
    few = _export_query_count(session, user, 3)
    many = _export_query_count(session, user, 30)
    assert few == many == 3  # the issues, then per batch: cooperating units, latest reports


def test_rows_come_in_batches(session, app):
    user = make_user("supervisor")
    unit, round_ = make_unit(), make_round()
    for _ in range(7):
        make_issue(lead_unit=unit, round=round_)
    session.commit()
    _ = user.role  # reload what the commit expired, outside the count
    with count_queries() as statements:
        rows = list(ledger.ledger_rows(session, user, date(2020, 7, 15), {}, IssueFilters(), batch_size=3))
    assert [row[0] for row in rows] == list(range(1, 8))
    assert len(statements) == 1 + 2 * 3  # three batches: 3, 3 and 1 rows


def test_write_csv_to_a_stream():
    out = io.BytesIO()
    ledger.write_csv([[1, "=x", date(2020, 1, 2), None]], out)
    assert out.getvalue().decode("utf-8") == "\ufeff" + ",".join(ledger.LEDGER_COLUMNS) + "\r\n1,'=x,2020-01-02,\r\n"
