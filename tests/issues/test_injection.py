"""Injection (ASVS 4.0.3 V5.3): what people type is shown as text on every page and never becomes HTML or
script (V5.3.1-5.3.3), Unicode and apostrophes come back as typed (V5.3.2), and a search or filter value
is data to the database, never SQL (V5.3.4, V5.3.5)."""
from __future__ import annotations

import re

import pytest

from tests.support.api import api_for
from tests.support.factories import make_issue
from tests.support.web import client_for

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"
SQL = ["' OR '1'='1", "' OR 1=1 --", "%' OR '1'='1' --", "1); DROP TABLE issues; --", "\\' OR 1=1 #"]


def test_typed_html_is_shown_as_text_on_the_list_and_the_issue_page(app, world, session):
    issue = world["issue"]
    issue.title = "标题" + XSS
    issue.description = "描述" + XSS
    issue.responsible_person = "O'Hara ねこ 👍"
    session.commit()
    client = client_for(app, world["supervisor"])
    for path in ("/issues/", f"/issues/{issue.id}", f"/issues/?q={issue.code}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(" in html, path
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    # V5.3.2: Unicode and the apostrophe come back as typed (the apostrophe escaped for HTML).
    assert "O&#39;Hara ねこ 👍" in page or "O'Hara ねこ 👍" in page
    # The API returns the text as data, unchanged (the client renders it as text).
    api = api_for(client, world["supervisor"])
    assert api.get(f"/issues/{issue.id}").get_json()["title"] == "标题" + XSS


def test_a_search_echoed_into_the_page_is_escaped(app, world):
    client = client_for(app, world["supervisor"])
    html = client.get("/issues/", query_string={"q": '"><script>alert(1)</script>'}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&#34;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("text", SQL)
def test_sql_in_a_search_is_only_text_on_the_pages_and_the_api(app, world, session, text):
    make_issue(lead_unit=world["other"], code="Z-OTHER")
    session.commit()
    # The unit user sees its own issue only, whatever the search says.
    client = client_for(app, world["staff"])
    response = client.get("/issues/", query_string={"q": text})
    assert response.status_code == 200
    assert "Z-OTHER" not in response.get_data(as_text=True)
    api = api_for(client, world["supervisor"])
    answer = api.get("/issues", query_string={"q": text})
    assert answer.status_code == 200 and answer.get_json()["items"] == []
    # Nothing was dropped or changed.
    assert len(api.get("/issues").get_json()["items"]) == 2


def test_like_wildcards_in_a_search_match_themselves(app, world, session):
    make_issue(lead_unit=world["lead"], code="PCT-1", title="完成率100%的问题")
    session.commit()
    api = api_for(app.test_client(), world["supervisor"])
    found = [item["code"] for item in api.get("/issues", query_string={"q": "100%"}).get_json()["items"]]
    assert found == ["PCT-1"]
    assert api.get("/issues", query_string={"q": "%"}).get_json()["items"][0]["code"] == "PCT-1"
    assert [i["code"] for i in api.get("/issues", query_string={"q": "_"}).get_json()["items"]] == []


def test_no_query_is_built_by_pasting_text_into_sql():
    # V5.3.4: the code builds SQL with SQLAlchemy's expressions and bound parameters; no f-string or
    # %-formatted text reaches text() or execute() anywhere in the application.
    from pathlib import Path

    import tracker

    root = Path(tracker.__file__).parent
    pasted = re.compile(r"""(text|execute|exec_driver_sql)\(\s*(f["']|["'][^"']*["']\s*(%|\.format|\+))""")
    offenders = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pasted.search(line)]
    assert offenders == []


@pytest.mark.parametrize(("content", "name"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "图.svg"),
    (b"<html><script>alert(1)</script></html>", "页面.html"),
    (b"<html><script>alert(1)</script></html>", "伪装.pdf"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "伪装.png"),
], ids=["svg", "html", "html-as-pdf", "svg-as-png"])
def test_scriptable_files_are_refused_as_evidence(app, world, content, name):
    # V5.2.7, V12.2.1: SVG and HTML are never accepted, whatever their name says.
    api = api_for(app.test_client(), world["staff"])
    response = api.upload(world["issue"].id, content, name)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "error" in response.get_json()


def test_repeated_parameters_neither_widen_the_scope_nor_lift_the_limits(app, world, session):
    # V5.1.1 (HTTP parameter pollution): a parameter given twice is read one way only (the first), and
    # neither order reaches another unit's issues or pages past the cap; the body is never read as a
    # query or the other way round.
    make_issue(lead_unit=world["other"], code="Z-OTHER")
    session.commit()
    client = app.test_client()
    staff = api_for(client, world["staff"])
    for query in ("unit=OTHER&unit=LEAD", "unit=LEAD&unit=OTHER"):
        codes = [item["code"] for item in staff.get(f"/issues?{query}").get_json()["items"]]
        assert "Z-OTHER" not in codes, query
    office = api_for(client, world["supervisor"])
    first = office.get("/issues?per_page=1&per_page=1000")
    assert first.status_code == 200 and first.get_json()["per_page"] == 1
    assert office.get("/issues?per_page=1000&per_page=1").status_code == 400
    # The web list reads the same way.
    page = client_for(app, world["staff"]).get("/issues/?unit=OTHER&unit=LEAD")
    assert page.status_code == 200 and "Z-OTHER" not in page.get_data(as_text=True)
