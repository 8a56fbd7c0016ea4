"""Issue pages: the list (filters, sorting, paging, scope), the issue page per role,
registering and editing, and evidence downloads."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.support.factories import (
    make_attachment,
    make_issue,
    make_report,
    make_round,
    make_unit,
    make_user,
    pdf_file,
)
from tests.support.web import client_for, form_ids, snapshot
from tracker.core.extensions import db
from tracker.core.files import path_for
from tracker.issues.models import Attachment, Event, Issue, IssueUnit

pytestmark = pytest.mark.usefixtures("fast_passwords", "fresh_login_per_request")  # tests/conftest.py

# --- helpers -------------------------------------------------------------------

def listed_ids(html: str) -> list[int]:
    """The issue ids of the list's rows, in order."""
    return [int(i) for i in re.findall(r'<tr class="issue-row" data-issue-id="(\d+)">', html)]


def count_shown(html: str) -> int:
    """The total count the list page states."""
    match = re.search(r"共 (\d+) 个问题", html)
    assert match, "no count on the page"
    return int(match.group(1))


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def world(session):
    """Three units, a person for every role, two rounds and a spread of issues.

    Today is 2020-07-15 (the clock fixture).
    """
    lead = make_unit("ENV", "市生态环境分局")
    coop = make_unit("HOUSING", "市住建局")
    other = make_unit("CITY", "市城管局")
    r1 = make_round("第一轮中央环保督察", feedback_date=date(2016, 11, 30))
    r2 = make_round("2019年省级督察", level="provincial", feedback_date=date(2019, 6, 1))
    people = dict(
        staff=make_user("unit_staff", lead, username="staff"),
        head=make_user("unit_head", lead, username="head"),
        coop_staff=make_user("unit_staff", coop, username="coop_staff"),
        coop_head=make_user("unit_head", coop, username="coop_head"),
        other_staff=make_user("unit_staff", other, username="other_staff"),
        supervisor=make_user("supervisor", username="supervisor"),
        approver=make_user("approver", username="approver"),
        leader=make_user("leader", username="leader"),
        admin=make_user("admin", username="admin"),
    )
    issues = dict(
        # overdue (red), lead ENV, cooperating HOUSING
        a=make_issue(lead, r1, (coop,), code="A-01", title="扬尘污染治理不到位", deadline=date(2020, 6, 30),
                     progress_percent=60, category="feedback", rectify_type="deadline", domain="大气"),
        # due soon (yellow), lead HOUSING
        b=make_issue(coop, r1, code="B-02", title="污水处理厂提标改造", deadline=date(2020, 7, 20),
                     progress_percent=90, category="key_concern", rectify_type="deadline"),
        # on track (green), lead CITY, cooperating ENV; long-term
        c=make_issue(other, r2, (lead,), code="C-03", title="草原生态保护长效机制", deadline=date(2021, 12, 31),
                     assigned_on=date(2020, 7, 1), progress_percent=10, category="petition",
                     rectify_type="long_term"),
        # closed (no light), lead CITY
        d=make_issue(other, r2, code="D-04", title="垃圾填埋场渗滤液处理", deadline=date(2020, 3, 31),
                     state="closed", progress_percent=100, category="self_found", rectify_type="immediate"),
        # submitted, lead ENV
        e=make_issue(lead, r2, code="E-05", title="餐饮油烟整治", deadline=date(2020, 9, 30),
                     state="submitted", progress_percent=100, category="feedback", rectify_type="immediate",
                     summary="已整改完毕"),
    )
    session.commit()
    return dict(lead=lead, coop=coop, other=other, r1=r1, r2=r2, **people, **issues)


# --- the list ------------------------------------------------------------------


def test_list_shows_all_for_the_office_with_columns(app, world):
    client = client_for(app, world["supervisor"])
    html = client.get("/issues/").get_data(as_text=True)
    assert count_shown(html) == 5
    assert sorted(listed_ids(html)) == sorted(world[k].id for k in "abcde")
    for text in ("问题编号", "标题", "督察轮次", "牵头单位", "配合单位", "整改时限", "进度", "状态", "灯", "逾期天数",
                 "A-01", "扬尘污染治理不到位", "第一轮中央环保督察", "市生态环境分局", "市住建局",
                 "2020-06-30", "60%", "整改中", "已销号", "待验收", "light-red", "红灯", "light-yellow",
                 "light-green", f'href="/issues/{world["a"].id}"'):
        assert text in html, text
    # 15 days overdue for A-01 (2020-06-30 -> 2020-07-15)
    row_a = re.search(rf'data-issue-id="{world["a"].id}">(.*?)</tr>', html, re.S).group(1)
    assert ">15<" in row_a


@pytest.mark.parametrize("query, expected", [
    ("round={r1}", "ab"),
    ("round={r2}", "cde"),
    ("state=in_progress", "abc"),
    ("state=submitted", "e"),
    ("state=closed", "d"),
    ("state=open", "abce"),
    ("unit=ENV", "ace"),        # lead on a and e, cooperating on c
    ("unit=HOUSING", "ab"),     # cooperating on a, lead on b
    ("unit=CITY", "cd"),
    ("light=red", "a"),
    ("light=yellow", "b"),
    ("light=green", "ce"),
    ("category=feedback", "ae"),
    ("category=key_concern", "b"),
    ("rectify_type=immediate", "de"),
    ("rectify_type=long_term", "c"),
    ("overdue=1", "a"),
    ("deadline_from=2020-07-01", "bce"),
    ("deadline_to=2020-06-30", "ad"),
    ("deadline_from=2020-06-30&deadline_to=2020-09-30", "abe"),
    ("q=污水", "b"),
    ("q=c-03", "c"),
    ("q=%25", ""),              # a literal percent sign matches nothing, not everything
    ("round={r2}&state=open", "ce"),
    ("unit=ENV&light=red", "a"),
])
def test_list_filters_narrow_and_count_agrees(app, world, query, expected):
    client = client_for(app, world["supervisor"])
    query = query.format(r1=world["r1"].id, r2=world["r2"].id)
    response = client.get("/issues/?" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert sorted(listed_ids(html)) == sorted(world[k].id for k in expected)
    assert count_shown(html) == len(expected)
    assert "filter-note" not in html


def test_list_takes_the_home_pages_id_arguments(app, world):
    """The home page links with round_id and unit_id (ids, not codes)."""
    client = client_for(app, world["supervisor"])
    html = client.get(f"/issues/?round_id={world['r1'].id}&light=red&unit_id={world['lead'].id}").get_data(as_text=True)
    assert listed_ids(html) == [world["a"].id] and count_shown(html) == 1
    assert f'<option value="{world["r1"].id}" selected>' in html and '<option value="ENV" selected>' in html
    html = client.get("/issues/?unit_id=abc").get_data(as_text=True)
    assert "责任单位「abc」无效" in html and count_shown(html) == 5


def test_list_merged_filter(app, world, session):
    world["b"].merged_into_id = world["a"].id
    session.commit()
    html = client_for(app, world["supervisor"]).get("/issues/?state=merged").get_data(as_text=True)
    assert listed_ids(html) == [world["b"].id]
    assert "合并整改·整改中" in html


@pytest.mark.parametrize("query, note", [
    ("state=bogus", "状态「bogus」无效"),
    ("round=abc", "督察轮次「abc」无效"),
    ("round=99999", "督察轮次「99999」无效"),
    ("unit=NOPE", "责任单位「NOPE」无效"),
    ("light=blue", "灯色「blue」无效"),
    ("category=x", "问题类别「x」无效"),
    ("rectify_type=x", "整改类型「x」无效"),
    ("deadline_from=2020-13-01", "整改时限起"),
    ("deadline_to=yesterday", "整改时限止"),
    ("sort=drop table", "排序方式「drop table」无效"),
    ("page=-1", "页码「-1」无效"),
    ("overdue=maybe", "是否逾期「maybe」无效"),
])
def test_bad_filter_values_are_ignored_with_a_note(app, world, query, note):
    client = client_for(app, world["supervisor"])
    response = client.get("/issues/?" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert note in html
    assert "已忽略" in html
    assert count_shown(html) == 5  # the bad filter is not applied


def test_reset_link_and_filter_values_echoed(app, world):
    html = client_for(app, world["supervisor"]).get("/issues/?state=closed&q=垃圾").get_data(as_text=True)
    assert 'id="reset-filters"' in html and 'href="/issues/"' in html
    assert '<option value="closed" selected>' in html
    assert 'value="垃圾"' in html


@pytest.mark.parametrize("sort, order", [
    ("code", "abcde"),
    ("-code", "edcba"),
    ("deadline", "dabec"),
    ("-deadline", "cebad"),
    ("-progress", "debac"),    # 100, 100 (ties by id), 90, 60, 10
    ("progress", "cabde"),
    ("-days_overdue", "adbec"),  # only a is overdue; the rest by deadline
    ("urgent", "abecd"),
])
def test_list_sorting(app, world, sort, order):
    html = client_for(app, world["supervisor"]).get(f"/issues/?sort={sort}").get_data(as_text=True)
    assert listed_ids(html) == [world[k].id for k in order]


def test_list_default_sort_puts_what_is_late_first(app, world):
    # Open before closed, the longest overdue first, then the nearest deadline.
    html = client_for(app, world["supervisor"]).get("/issues/").get_data(as_text=True)
    assert listed_ids(html) == [world[k].id for k in "abecd"]


def test_list_pagination(app, world, session):
    app.config["PER_PAGE"] = 2
    client = client_for(app, world["supervisor"])
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/issues/?sort=code&page={page}").get_data(as_text=True)
        assert count_shown(html) == 5
        assert f"第 {page} / 3 页" in html
        seen += listed_ids(html)
    assert seen == [world[k].id for k in "abcde"]
    html = client.get("/issues/?sort=code&page=1").get_data(as_text=True)
    assert 'href="/issues/?sort=code&amp;page=2"' in html and "下一页" in html
    html = client.get("/issues/?sort=code&page=9").get_data(as_text=True)
    assert listed_ids(html) == []
    assert "第 9 页超出范围" in html


def test_list_pagination_keeps_filters(app, world, session):
    app.config["PER_PAGE"] = 1
    html = client_for(app, world["supervisor"]).get("/issues/?state=open").get_data(as_text=True)
    assert "state=open&amp;page=2" in html


@pytest.mark.parametrize("who, visible", [
    ("staff", "ace"), ("head", "ace"), ("coop_staff", "ab"), ("coop_head", "ab"),
    ("other_staff", "cd"), ("approver", "abcde"), ("leader", "abcde"), ("admin", "abcde"),
])
def test_list_is_scoped_and_filters_stay_in_scope(app, world, who, visible):
    client = client_for(app, world[who])
    html = client.get("/issues/").get_data(as_text=True)
    assert sorted(listed_ids(html)) == sorted(world[k].id for k in visible)
    assert count_shown(html) == len(visible)
    # A filter on another unit never widens the scope.
    html = client.get("/issues/?unit=CITY").get_data(as_text=True)
    assert sorted(listed_ids(html)) == sorted(world[k].id for k in visible if k in "cd")


def test_list_requires_login(client, world):
    response = client.get("/issues/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the issue page -------------------------------------------------------------


def test_issue_page_shows_every_field(app, world, session):
    issue = world["a"]
    issue.responsible_leader = "张副市长"
    issue.responsible_person = "李科长"
    issue.summary = "已完成三项措施"
    make_report(issue, "2020-05", 40, "五月进展", author=world["staff"])
    make_report(issue, "2020-06", 60, "六月进展", author=world["staff"])
    session.commit()
    html = client_for(app, world["supervisor"]).get(f"/issues/{issue.id}").get_data(as_text=True)
    for text in ("第一轮中央环保督察", "A-01", "扬尘污染治理不到位", "反馈问题", "限期整改", "大气", "问题描述",
                 "整改目标", "整改措施", "市生态环境分局", "市住建局", "张副市长", "李科长", "2020-01-01",
                 "2020-06-30", "60%", "已完成三项措施", "红灯", "逾期 15 天", "五月进展", "六月进展",
                 'id="issue-state"', 'id="timeline"', "返回问题清单"):
        assert text in html, text
    assert re.search(r'id="issue-state">整改中<', html)


@pytest.mark.parametrize("who, key, forms, extra", [
    ("staff", "a", set(), ["progress-form", "evidence-form"]),
    # submit is blocked (no report, no evidence): the reason shows instead of the form
    ("head", "a", set(), ["progress-form", "evidence-form", "提交销号前需至少报送一次整改进展"]),
    ("coop_head", "a", set(), ["progress-form", "evidence-form"]),
    ("supervisor", "a", {"action-merge"}, ["修改问题"]),
    ("supervisor", "e", {"action-verify", "action-return"}, []),
    ("supervisor", "d", {"action-reopen"}, []),
    ("approver", "a", set(), []),
    ("leader", "a", set(), []),
    ("admin", "a", set(), []),
    ("head", "e", set(), ["问题当前状态为「待验收」,不能再报送或上传"]),
    ("other_staff", "c", set(), ["progress-form"]),
])
def test_issue_page_shows_exactly_the_users_actions(app, world, who, key, forms, extra):
    response = client_for(app, world[who]).get(f"/issues/{world[key].id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert form_ids(html) == forms
    for text in extra:
        assert text in html, text
    if "progress-form" not in extra:
        assert 'id="progress-form"' not in html and 'id="evidence-form"' not in html
    if who != "supervisor":
        assert "修改问题" not in html


def test_head_sees_submit_form_once_preconditions_are_met(app, world, session):
    issue = world["a"]
    make_report(issue)
    make_attachment(issue)
    issue.summary = "草稿总结"
    session.commit()
    html = client_for(app, world["head"]).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert form_ids(html) == {"action-submit"}
    form = re.search(r'<form[^>]*id="action-submit".*?</form>', html, re.S).group(0)
    assert 'name="summary"' in form and "草稿总结" in form
    assert 'name="comment"' in form and 'name="action" value="submit"' in form
    assert f'name="version" value="{issue.version}"' in form
    assert ">提交销号申请</button>" in form


def test_long_term_issue_offers_basically_done_to_its_lead_head(app, world, session):
    head = make_user("unit_head", world["other"], username="city_head")
    session.commit()
    html = client_for(app, head).get(f"/issues/{world['c'].id}").get_data(as_text=True)
    assert "action-mark_basically_done" in form_ids(html)


def test_issue_page_shows_timeline_reports_history_and_evidence(app, world, session, clock):
    client = client_for(app, world["staff"])
    issue = world["a"]
    client.post(f"/issues/{issue.id}/progress", data={"period": "2020-06", "percent": "30", "text": "初报"})
    clock.set("2020-07-15T03:00:00")
    client.post(f"/issues/{issue.id}/progress", data={"period": "2020-06", "percent": "40", "text": "更正"})
    data, name = pdf_file("验收报告.pdf")
    client.post(f"/issues/{issue.id}/attachments", data={"file": (data, name)}, content_type="multipart/form-data")
    html = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    timeline = re.search(r'<ol[^>]*id="timeline".*?</ol>', html, re.S).group(0)
    assert timeline.count("<li") == 3
    assert "报送进展" in timeline and "上传佐证材料" in timeline and "staff" in timeline
    assert "2020-06 进度 30%" in timeline and "验收报告.pdf" in timeline
    assert "更正" in html
    replaced = re.search(r'id="replaced-reports".*?</details>', html, re.S).group(0)
    assert "<del>" in replaced and "初报" in replaced
    att = session.scalar(select(Attachment).where(Attachment.issue_id == issue.id))
    assert f'href="/issues/{issue.id}/attachments/{att.id}"' in html


def test_merged_issue_page_links_both_ways(app, world, session):
    world["b"].merged_into_id = world["a"].id
    session.commit()
    client = client_for(app, world["supervisor"])
    html = client.get(f"/issues/{world['b'].id}").get_data(as_text=True)
    assert 'id="merged-into"' in html and f'href="/issues/{world["a"].id}"' in html
    assert "合并整改·整改中" in html
    html = client.get(f"/issues/{world['a'].id}").get_data(as_text=True)
    assert 'id="merged-in"' in html and f'href="/issues/{world["b"].id}"' in html
    # ENV's staff sees a but not b (HOUSING's): b is neither linked nor named (F7, ASVS 4.2.1).
    html = client_for(app, world["staff"]).get(f"/issues/{world['a'].id}").get_data(as_text=True)
    assert "其他单位牵头的问题" in html
    assert "B-02" not in html and f'href="/issues/{world["b"].id}"' not in html


@pytest.mark.parametrize("who, key", [("staff", "b"), ("staff", "d"), ("coop_head", "c"), ("other_staff", "a")])
def test_out_of_scope_issue_answers_404(app, world, who, key):
    client = client_for(app, world[who])
    issue_id = world[key].id
    before = snapshot(issue_id)
    response = client.get(f"/issues/{issue_id}")
    assert response.status_code == 404
    assert "不存在或您无权查看" in response.get_data(as_text=True)
    assert world[key].code not in response.get_data(as_text=True)
    for path, data in ((f"/issues/{issue_id}/progress", {"period": "2020-07", "percent": "5", "text": "x"}),
                       (f"/issues/{issue_id}/transition", {"action": "submit", "version": "1", "summary": "x"})):
        assert client.post(path, data=data).status_code == 404
    assert client.get(f"/issues/{issue_id}/edit").status_code == 404
    assert snapshot(issue_id) == before


def test_unknown_issue_answers_404(app, world):
    assert client_for(app, world["supervisor"]).get("/issues/999999").status_code == 404


# --- downloads --------------------------------------------------------------------


@pytest.fixture
def uploaded(app, world, session):
    """An evidence file uploaded by the lead unit's staff on issue a."""
    client = client_for(app, world["staff"])
    data, name = pdf_file("整改报告 第1期.pdf")
    response = client.post(f"/issues/{world['a'].id}/attachments", data={"file": (data, name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return session.scalar(select(Attachment).where(Attachment.issue_id == world["a"].id))


@pytest.mark.parametrize("who", ["staff", "coop_head", "supervisor", "approver", "leader"])
def test_download_is_an_attachment_for_those_who_see_the_issue(app, world, uploaded, who):
    from tests.support.factories import PDF_BYTES

    response = client_for(app, world[who]).get(f"/issues/{world['a'].id}/attachments/{uploaded.id}")
    assert response.status_code == 200
    assert response.data == PDF_BYTES
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and "%E6%95%B4%E6%94%B9" in disposition  # 整改
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_download_refused_out_of_scope_or_wrong_issue(app, world, uploaded):
    response = client_for(app, world["other_staff"]).get(f"/issues/{world['a'].id}/attachments/{uploaded.id}")
    assert response.status_code == 404
    # The attachment must belong to the issue in the path, even for someone who sees both.
    client = client_for(app, world["supervisor"])
    assert client.get(f"/issues/{world['b'].id}/attachments/{uploaded.id}").status_code == 404
    assert client.get(f"/issues/{world['a'].id}/attachments/99999").status_code == 404


def test_download_of_a_file_missing_on_disk_is_a_clear_404(app, world, uploaded):
    path_for(app.config["UPLOAD_DIR"], uploaded.sha256).unlink()
    response = client_for(app, world["supervisor"]).get(f"/issues/{world['a'].id}/attachments/{uploaded.id}")
    assert response.status_code == 404
    assert "在服务器上找不到" in response.get_data(as_text=True)


# --- registering and editing --------------------------------------------------------


def issue_form(world, **changes):
    data = {
        "round_id": str(world["r1"].id), "code": "NEW-01", "title": "黑臭水体整治", "description": "河道黑臭",
        "category": "feedback", "rectify_type": "deadline", "domain": "水", "deadline": "2020-12-31",
        "assigned_on": "2020-07-15", "lead_unit": "ENV", "cooperating_units": ["HOUSING", "CITY"],
        "target": "消除黑臭", "measures": "截污纳管", "responsible_leader": "王副市长", "responsible_person": "赵科长",
    }
    data.update(changes)
    return data


def test_supervisor_registers_an_issue(app, world, session):
    client = client_for(app, world["supervisor"])
    html = client.get("/issues/new").get_data(as_text=True)
    assert 'name="assigned_on" type="date" value="2020-07-15"' in html
    assert "第一轮中央环保督察" in html and "市住建局(HOUSING)" in html
    response = client.post("/issues/new", data=issue_form(world))
    assert response.status_code == 302
    issue = session.scalar(select(Issue).where(Issue.code == "NEW-01"))
    assert response.headers["Location"].endswith(f"/issues/{issue.id}")
    assert issue.lead_unit_id == world["lead"].id and issue.domain == "水"
    assert issue.responsible_leader == "王副市长" and issue.deadline == date(2020, 12, 31)
    coop = set(session.scalars(select(IssueUnit.unit_id).where(IssueUnit.issue_id == issue.id)))
    assert coop == {world["coop"].id, world["other"].id}
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "问题 NEW-01 已登记。" in html and "登记问题" in html


@pytest.mark.parametrize("who", ["staff", "head", "approver", "leader", "admin"])
def test_only_the_office_registers_issues(app, world, session, who):
    client = client_for(app, world[who])
    before = session.scalar(select(func.count()).select_from(Issue))
    assert client.get("/issues/new").status_code == 403
    response = client.post("/issues/new", data=issue_form(world))
    assert response.status_code == 403
    assert "只有督察整改办可以登记问题" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Issue)) == before


@pytest.mark.parametrize("changes, status, message", [
    ({"code": "A-01"}, 409, "问题编号「A-01」已存在。"),
    ({"deadline": "2020-02-30"}, 422, "整改时限格式应为 YYYY-MM-DD。"),
    ({"deadline": "2020-01-01"}, 422, "整改时限不能早于交办日期。"),
    ({"lead_unit": ""}, 422, "请选择牵头单位。"),
    ({"lead_unit": "NOPE"}, 422, "单位编码「NOPE」不存在。"),
    ({"round_id": ""}, 422, "请选择督察轮次。"),
    ({"round_id": "99999"}, 422, "请选择存在的督察轮次。"),
    ({"category": "x"}, 422, "问题类别应为"),
    ({"title": ""}, 422, "请填写问题标题。"),
])
def test_refused_registration_rerenders_the_form(app, world, session, changes, status, message):
    client = client_for(app, world["supervisor"])
    before = (session.scalar(select(func.count()).select_from(Issue)),
              session.scalar(select(func.count()).select_from(Event)))
    response = client.post("/issues/new", data=issue_form(world, **changes))
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="issue-form"' in html
    assert f'value="{changes.get("code", "NEW-01")}"' in html  # what was typed is kept
    assert (session.scalar(select(func.count()).select_from(Issue)),
            session.scalar(select(func.count()).select_from(Event))) == before


def test_supervisor_edits_an_issue(app, world, session):
    client = client_for(app, world["supervisor"])
    issue = world["a"]
    html = client.get(f"/issues/{issue.id}/edit").get_data(as_text=True)
    assert 'value="A-01"' in html and '<option selected value="HOUSING">' in html
    assert f'name="version" type="hidden" value="{issue.version}"' in html
    response = client.post(f"/issues/{issue.id}/edit", data=issue_form(
        world, code="A-01", title="扬尘污染治理(修订)", cooperating_units=[], version=str(issue.version)))
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Issue, issue.id)
    assert fresh.title == "扬尘污染治理(修订)" and fresh.cooperating == []
    assert "问题 A-01 已保存。" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_stale_edit_is_refused_and_changes_nothing(app, world, session):
    client = client_for(app, world["supervisor"])
    issue = world["a"]
    before = snapshot(issue.id)
    title = db.session.get(Issue, issue.id).title
    response = client.post(f"/issues/{issue.id}/edit", data=issue_form(
        world, code="A-01", title="改了", version=str(issue.version - 1)))
    assert response.status_code == 409
    assert "该问题刚被他人修改过,请刷新页面后重试。" in response.get_data(as_text=True)
    assert snapshot(issue.id) == before
    assert db.session.get(Issue, issue.id).title == title


def test_closed_issue_cannot_be_edited(app, world):
    client = client_for(app, world["supervisor"])
    issue = world["d"]
    before = snapshot(issue.id)
    response = client.post(f"/issues/{issue.id}/edit", data=issue_form(
        world, code="D-04", title="改了", version=str(issue.version)))
    assert response.status_code == 409
    assert "已销号的问题不能修改" in response.get_data(as_text=True)
    assert snapshot(issue.id) == before


def test_closed_issue_edit_page_goes_back_to_the_issue_saying_why(app, world):
    client = client_for(app, world["supervisor"])
    issue = world["d"]
    response = client.get(f"/issues/{issue.id}/edit")
    assert response.status_code == 302 and response.headers["Location"] == f"/issues/{issue.id}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已销号的问题不能修改;如需整改请先重新打开。" in html


def test_unit_user_cannot_edit(app, world):
    client = client_for(app, world["head"])
    before = snapshot(world["a"].id)
    assert client.get(f"/issues/{world['a'].id}/edit").status_code == 403
    response = client.post(f"/issues/{world['a'].id}/edit", data=issue_form(world, code="A-01", version="1"))
    assert response.status_code == 403
    assert snapshot(world["a"].id) == before


def test_a_refused_report_comes_back_with_what_was_typed(app, world):
    client = client_for(app, world["staff"])
    issue = world["a"]
    before = snapshot(issue.id)
    response = client.post(f"/issues/{issue.id}/progress",
                           data={"period": "2020-07", "percent": "150", "text": "已完成管网排查,正在整治"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "进度必须是 0 到 100 的整数。" in html
    assert '>已完成管网排查,正在整治</textarea>' in html and 'name="percent" min="0" max="100" value="150"' in html
    assert snapshot(issue.id) == before
