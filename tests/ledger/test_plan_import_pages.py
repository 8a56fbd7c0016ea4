"""The plan import pages: paste or upload (.txt, .docx), the editable preview, unit mapping, confirm."""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from tests.support.factories import make_issue, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues.models import Event, Issue, IssueUnit
from tracker.units.models import Unit

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
HUOLINGGUOLE = (FIXTURES / "huolingguole-2020-action-plan.txt").read_text(encoding="utf-8")
SMALL_PLAN = """某镇2020年环境整治方案
一、大气污染防治
1.整治散乱污企业。6月底前完成排查,年底前全部整改到位。(责任单位:环保办、住建局)
2.加强扬尘管控。(安监站牵头,环保办配合)
"""


class FormReader(HTMLParser):
    """The fields a browser would submit from one form of a page (first option when none is selected)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._first = self._chosen = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "y")))
            else:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first, self._chosen = a["name"], None, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self._chosen = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.fields.append((self._select, self._chosen if self._chosen is not None else self._first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str = "plan-confirm-form") -> MultiDict:
    reader = FormReader(form_id)
    reader.feed(html)
    return MultiDict(reader.fields)


def _set(fields: MultiDict, name: str, value: str) -> MultiDict:
    assert name in fields, name
    fields.setlist(name, [value])
    return fields


def _count(model=Issue) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def office(login_as):
    supervisor = make_user("supervisor")
    for code, name in (("HBB", "环保办"), ("ZJJ", "市住建局"), ("AJZ", "安监站")):
        make_unit(code=code, name=name)
    round_ = make_round(name="自治区督察(2019年)")
    db.session.commit()
    login_as(supervisor)
    return round_


def _preview(client, round_, **data):
    form = {"round_id": str(round_.id), "category": "feedback", "rectify_type": "deadline", **data}
    return client.post("/issues/import-plan", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("role", ["admin", "approver", "leader", "unit_staff", "unit_head"])
def test_only_the_office_opens_the_plan_import(client, login_as, role):
    user = make_user(role)
    db.session.commit()
    login_as(user)
    assert client.get("/issues/import-plan").status_code == 403
    assert client.post("/issues/import-plan", data={"text": SMALL_PLAN}).status_code == 403
    assert client.post("/issues/import-plan/confirm", data={}).status_code == 403
    assert _count() == 0


def test_list_links_to_the_plan_import(client, office):
    html = client.get("/issues/").get_data(as_text=True)
    assert 'href="/issues/import-plan"' in html
    page = client.get("/issues/import-plan").get_data(as_text=True)
    assert "导入整改方案" in page and 'href="/issues/"' in page  # a way back


def test_pasted_plan_previews_its_tasks_with_abbreviations_mapped(client, office):
    response = _preview(client, office, text=SMALL_PLAN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "共识别出 2 条任务" in html and "某镇2020年环境整治方案" in html
    fields = form_fields(html)
    assert fields["rows-0-code"] == "FA2020-001" and fields["rows-1-code"] == "FA2020-002"
    assert fields["rows-0-title"] == "整治散乱污企业"
    assert fields["rows-0-lead_unit"] == "环保办" and fields["rows-0-cooperating_units"] == "住建局"
    assert fields["rows-0-deadline"] == "2020-12-31" and fields["rows-0-deadline_text"] == "年底前"
    assert fields["rows-1-deadline"] == "2020-12-31" and fields["rows-1-rectify_type"] == "long_term"
    assert fields["rows-1-lead_unit"] == "安监站" and fields["rows-1-cooperating_units"] == "环保办"
    assert fields["assigned_on"] == "2020-01-01"
    # "住建局" is not a unit's name: it is offered for mapping, preset to 市住建局.
    assert fields["units-0-name"] == "住建局" and fields["units-0-target"] == "ZJJ"
    assert "units-1-name" not in fields
    assert _count() == 0  # a preview writes nothing


def test_confirmed_preview_creates_the_issues(client, office):
    fields = form_fields(_preview(client, office, text=SMALL_PLAN).get_data(as_text=True))
    _set(fields, "rows-1-title", "加强建筑工地扬尘管控")

    response = client.post("/issues/import-plan/confirm", data=fields)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/issues/?round={office.id}"
    issues = db.session.scalars(select(Issue).order_by(Issue.code)).all()
    assert [(i.code, i.title, i.lead_unit.name, i.deadline.isoformat(), i.rectify_type) for i in issues] == [
        ("FA2020-001", "整治散乱污企业", "环保办", "2020-12-31", "deadline"),
        ("FA2020-002", "加强建筑工地扬尘管控", "安监站", "2020-12-31", "long_term"),
    ]
    assert [db.session.get(Unit, c.unit_id).name for c in issues[0].cooperating] == ["市住建局"]
    event = db.session.scalars(select(Event).where(Event.issue_id == issues[0].id)).one()
    assert event.comment == "由整改方案《某镇2020年环境整治方案》导入(方案第 一.1 项,时限依据“年底前”)"
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已按方案创建 2 个问题。" in followed


def test_unchecked_tasks_are_left_out(client, office):
    fields = form_fields(_preview(client, office, text=SMALL_PLAN).get_data(as_text=True))
    fields.poplist("rows-1-include")
    assert client.post("/issues/import-plan/confirm", data=fields).status_code == 302
    assert db.session.scalars(select(Issue.code)).all() == ["FA2020-001"]


def test_new_unit_is_created_when_chosen(client, office):
    fields = form_fields(_preview(client, office, text=SMALL_PLAN).get_data(as_text=True))
    _set(fields, "units-0-target", "+new")
    assert client.post("/issues/import-plan/confirm", data=fields).status_code == 302
    created = db.session.scalars(select(Unit).where(Unit.name == "住建局")).one()
    assert created.code == "P001"
    assert db.session.scalar(select(func.count()).select_from(IssueUnit).where(IssueUnit.unit_id == created.id)) == 1


def test_errors_come_back_on_their_rows_and_nothing_is_written(client, office):
    make_issue(code="FA2020-002", round=office)
    db.session.commit()
    before = (_count(), _count(Unit))
    fields = form_fields(_preview(client, office, text=SMALL_PLAN).get_data(as_text=True))
    _set(fields, "rows-0-deadline", "2020-13-01")
    _set(fields, "rows-1-lead_unit", "市城管局")  # a name the tracker does not know, not yet mapped

    response = client.post("/issues/import-plan/confirm", data=fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "未创建任何问题" in html
    assert re.findall(r'task-error">([^<]*)<', html) == [
        "整改时限格式应为 YYYY-MM-DD。", "问题编号「FA2020-002」已存在。"]
    assert "系统中没有单位「市城管局」:请选择对应的单位,或新建该单位。" in html
    again = form_fields(html)
    # The new name is now offered for mapping; what the user typed is kept.
    assert again["units-1-name"] == "市城管局" and again["units-1-target"] == "+new"
    assert again["rows-0-deadline"] == "2020-13-01" and again["rows-1-lead_unit"] == "市城管局"
    assert (_count(), _count(Unit)) == before


def test_uploaded_docx_is_read(client, office):
    import docx

    document = docx.Document()
    for line in SMALL_PLAN.splitlines():
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "3.清理河道垃圾,9月底前完成。(责任单位:环保办)"
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    response = _preview(client, office, file=(buffer, "方案.docx"))
    fields = form_fields(response.get_data(as_text=True))
    assert response.status_code == 200
    assert [fields[f"rows-{i}-number"] for i in range(3)] == ["一.1", "一.2", "一.3"]
    assert fields["rows-2-deadline"] == "2020-09-30"


def test_uploaded_gb18030_text_is_read(client, office):
    response = _preview(client, office, file=(io.BytesIO(SMALL_PLAN.encode("gb18030")), "方案.txt"))
    assert response.status_code == 200
    assert form_fields(response.get_data(as_text=True))["rows-0-lead_unit"] == "环保办"


@pytest.mark.parametrize("data, message", [
    ({"text": ""}, "请粘贴或上传整改方案的文本。"),
    ({"text": "这是一段没有任何任务的文字。"}, "没有识别出任务"),
    ({"file": (io.BytesIO(b"\xd0\xcf\x11\xe0\x00\x00binary"), "方案.doc")}, "旧版 .doc 文件请先在 Word 中另存为 .docx"),
    ({"file": (io.BytesIO(b"PK\x03\x04not really a zip"), "方案.docx")}, "请上传 .txt 文本或 .docx 文档"),
    ({"text": SMALL_PLAN, "year": "二〇二〇"}, "方案年份应为四位数字,如 2020。"),
    ({"text": SMALL_PLAN, "year": "20"}, "年份应在 1949 至 2100 之间。"),
    ({"text": SMALL_PLAN, "assigned_on": "2020/1/1"}, "交办日期格式应为 YYYY-MM-DD。"),
    ({"text": SMALL_PLAN, "code_prefix": "FA 2020"}, "编号前缀应为 1 至 40 个字母、数字、汉字或 - _ .。"),
])
def test_bad_input_is_refused_with_a_message(client, office, data, message):
    response = _preview(client, office, **data)
    assert response.status_code in (413, 422)
    assert message in response.get_data(as_text=True)
    assert _count() == 0


def test_a_round_must_be_chosen(client, office):
    response = client.post("/issues/import-plan", data={"text": SMALL_PLAN, "round_id": ""})
    assert response.status_code == 422
    assert "请选择问题所属的督察轮次。" in response.get_data(as_text=True)


def test_huolingguole_plan_becomes_66_issues_through_the_pages(client, office):
    for code, name in (("STHJ", "市生态环境分局"), ("DLHS", "达来胡硕苏木"), ("SEHR", "沙尔呼热街道")):
        make_unit(code=code, name=name)
    db.session.commit()
    html = _preview(client, office, text=HUOLINGGUOLE).get_data(as_text=True)
    fields = form_fields(html)
    names = {fields[k]: fields[k.replace("-name", "-target")] for k in fields if k.endswith("-name")}
    # Abbreviations of existing units are preset to them; names with no likely unit to 新建.
    assert names["市生态环境局"] == "STHJ" and names["达苏木"] == "DLHS" and names["沙街"] == "SEHR"
    assert names["市商务局"] == "+new"

    response = client.post("/issues/import-plan/confirm", data=fields)

    assert response.status_code == 302, re.findall(r'task-error">([^<]*)<|<li>([^<]*)</li>',
                                                   response.get_data(as_text=True))[:5]
    assert db.session.scalar(select(func.count(Issue.id)).where(Issue.round_id == office.id)) == 66
    dated = db.session.scalar(select(func.count(Issue.id)).where(Issue.rectify_type == "deadline"))
    assert dated == 27  # the plan's items with a deadline phrase; the other 39 are standing tasks


def test_damaged_items_are_kept_and_flagged_for_checking(client, office):
    damaged = SMALL_PLAN.replace("(责任单位:环保办、住建局)", "(责任单位:环保办、住建局")
    html = _preview(client, office, text=damaged).get_data(as_text=True)
    fields = form_fields(html)
    assert fields["rows-0-lead_unit"] == "环保办" and fields["rows-0-notes"] == "缺少右括号"
    assert re.findall(r'task-note"[^>]*>([^<]*)<', html) == ["原文残缺:缺少右括号"]


def test_preview_queries_do_not_grow_with_unknown_unit_names(client, office):
    from tests.support.queries import count_queries

    def queries(names: list[str]) -> int:
        text = "2020年方案\n" + "\n".join(f"{i}.整治问题{i}。(责任单位:环保办、{n})" for i, n in enumerate(names, 1))
        with count_queries() as statements:
            response = _preview(client, office, text=text)
        assert response.status_code == 200
        assert len(form_fields(response.get_data(as_text=True)).getlist(f"units-{len(names) - 1}-name")) == 1
        return len(statements)

    queries(["甲办"])  # the first request after the fixture's commit reloads what it expired
    assert queries(["甲办", "乙办"]) == queries(["甲办", "乙办", "丙办", "丁办", "戊办", "己办"])
