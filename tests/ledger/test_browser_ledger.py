"""The ledger round trip in a real headless Chromium: a ledger exported from the demo imports back unchanged.

The supervisor (督察整改办) downloads the issue list's Excel ledger, uploads the same file
on the import page, sees a preview with no errors where every row is 无变化, and confirms;
the database is then exactly as before.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.browser import DEMO_PASSWORD, click_and_wait, expect, load_demo_data, log_in
from tracker.accounts.models import User
from tracker.core import clock as app_clock
from tracker.core.extensions import db
from tracker.issues.models import Event, Issue, IssueUnit, ProgressReport
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger

pytestmark = pytest.mark.browser

SUPERVISOR = "duban"


def snapshot(app) -> dict:
    """What the import could change: every issue's ledger fields, versions and the row counts."""
    db.session.rollback()  # read what the server committed, not this session's cache
    supervisor = db.session.scalar(select(User).where(User.username == SUPERVISOR))
    rows = ledger.ledger_rows(db.session, supervisor, app_clock.today(), app.config, IssueFilters(), sort="code")
    return {
        # Without 序号, which only numbers the rows.
        "ledger": [row[1:] for row in rows],
        "versions": db.session.execute(
            select(Issue.code, Issue.version, Issue.updated_at).order_by(Issue.code)).all(),
        "counts": [db.session.scalar(select(func.count()).select_from(model))
                   for model in (Issue, IssueUnit, Event, ProgressReport)],
    }


def test_a_ledger_exported_from_the_demo_imports_back_unchanged_in_the_browser(app, live_server, page, tmp_path):
    base = live_server
    load_demo_data()
    before = snapshot(app)
    issues = before["counts"][0]
    assert issues == len(before["ledger"]) > 0
    check = expect()

    # The supervisor downloads the whole list as an Excel ledger.
    log_in(page, base, SUPERVISOR, DEMO_PASSWORD)
    page.goto(f"{base}/issues/")
    with page.expect_download() as download_info:
        page.locator("#export-xlsx").click()
    download = download_info.value
    assert download.suggested_filename == f"整改台账-{app_clock.today().isoformat()}.xlsx"
    workbook = tmp_path / download.suggested_filename
    download.save_as(workbook)

    # ... and uploads the same file on the import page.
    with page.expect_navigation():
        page.locator("#import-ledger").click()
    check(page.locator("h1")).to_have_text("导入整改台账")
    page.locator('#import-form input[name="file"]').set_input_files(str(workbook))
    click_and_wait(page, "#import-form", "上传并预览")

    # The preview: no errors, no warnings, every row unchanged.
    check(page.locator("#import-summary")).to_have_text(
        f"共 {issues} 行:新登记 0 个,更新 0 个,无变化 {issues} 个。")
    check(page.locator("#import-errors")).to_have_count(0)
    check(page.locator("#import-warnings")).to_have_count(0)
    check(page.locator(".alert-danger")).to_have_count(0)
    actions = page.locator("#import-rows tbody tr td:nth-child(2)")
    check(actions).to_have_count(issues)
    assert set(actions.all_inner_texts()) == {"无变化"}
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)  # kept for a look on failure

    # Confirming writes nothing and leads back to the list.
    click_and_wait(page, "#import-confirm", "确认导入")
    check(page.locator("body")).to_contain_text("台账导入完成:新登记 0 个问题,更新 0 个问题。")
    assert page.url.rstrip("/") == f"{base}/issues"

    assert snapshot(app) == before
