"""One journey in a real headless Chromium: from a progress report to 已销号.

A unit clerk reports progress and uploads evidence; the unit head submits the
closure; the supervisor returns it once, the head resubmits, the supervisor
verifies, and an approver closes it. Every step must show on the timeline.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.browser import click_and_wait, expect, log_in, log_out
from tests.support.factories import PDF_BYTES, make_issue, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues.models import Event, Issue

pytestmark = pytest.mark.browser


def take_action(page, base: str, issue_id: int, action: str, button: str, *, summary: str = "",
                comment: str = "") -> None:
    """Open the issue page and take a workflow action through its form."""
    page.goto(f"{base}/issues/{issue_id}")
    form = f"#action-{action}"
    if summary:
        page.locator(f'{form} textarea[name="summary"]').fill(summary)
    if comment:
        page.locator(f'{form} textarea[name="comment"]').fill(comment)
    click_and_wait(page, form, button)


def test_issue_goes_from_report_to_closed_in_the_browser(app, live_server, page, tmp_path):
    base = live_server
    unit = make_unit(name="市住建局")
    staff = make_user("unit_staff", unit=unit)
    head = make_user("unit_head", unit=unit)
    supervisor = make_user("supervisor")
    approver = make_user("approver")
    issue = make_issue(lead_unit=unit, round=make_round(), title="城区建筑工地扬尘管控不到位")
    db.session.commit()  # the server thread reads what is committed
    issue_id = issue.id
    check = expect()

    # The unit clerk files a progress report and uploads evidence.
    log_in(page, base, staff.username)
    page.goto(f"{base}/issues/{issue_id}")
    check(page.locator("#issue-state")).to_contain_text("整改中")
    page.locator('#progress-form [name="period"]').fill("2020-07")
    page.locator('#progress-form [name="percent"]').fill("100")
    page.locator('#progress-form textarea[name="text"]').fill("工地已全部安装喷淋和视频监控。")
    click_and_wait(page, "#progress-form", "报送进展")
    check(page.locator("#timeline")).to_contain_text("报送进展")
    page.locator('#evidence-form input[name="file"]').set_input_files(
        files=[{"name": "整改证明.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}])
    click_and_wait(page, "#evidence-form", "上传")
    check(page.locator("body")).to_contain_text("整改证明.pdf")
    log_out(page)

    # The unit head submits the closure with a summary.
    log_in(page, base, head.username)
    take_action(page, base, issue_id, "submit", "提交销号申请", summary="扬尘防治措施全部落实。")
    check(page.locator("#issue-state")).to_contain_text("待验收")
    log_out(page)

    # The supervisor returns it once, with a reason.
    log_in(page, base, supervisor.username)
    take_action(page, base, issue_id, "return", "退回", comment="请补充监测数据。")
    check(page.locator("#issue-state")).to_contain_text("整改中")
    log_out(page)

    # The unit head resubmits.
    log_in(page, base, head.username)
    take_action(page, base, issue_id, "submit", "提交销号申请", summary="扬尘防治措施全部落实,监测数据已补充。")
    check(page.locator("#issue-state")).to_contain_text("待验收")
    log_out(page)

    # The supervisor verifies.
    log_in(page, base, supervisor.username)
    take_action(page, base, issue_id, "verify", "验收通过")
    check(page.locator("#issue-state")).to_contain_text("待销号")
    log_out(page)

    # The approver closes it.
    log_in(page, base, approver.username)
    take_action(page, base, issue_id, "approve", "批准销号")
    check(page.locator("#issue-state")).to_contain_text("已销号")
    page.screenshot(path=str(tmp_path / "closed.png"), full_page=True)  # kept for a look on failure

    # Every step is on the timeline, one entry per event.
    timeline = page.locator("#timeline")
    for label in ("报送进展", "上传佐证材料", "提交销号申请", "退回", "请补充监测数据", "验收通过", "批准销号"):
        check(timeline).to_contain_text(label)
    db.session.rollback()  # read what the server committed, not this session's cache
    events = db.session.scalar(select(func.count()).select_from(Event).where(Event.issue_id == issue_id))
    check(timeline.locator("li")).to_have_count(events)
    actions = db.session.scalars(select(Event.action).where(Event.issue_id == issue_id).order_by(Event.id)).all()
    assert [a for a in actions if a != "create"] == [
        "progress", "evidence", "submit", "return", "submit", "verify", "approve"]
    closed = db.session.get(Issue, issue_id)
    assert closed.state == "closed"
    assert closed.closed_at is not None
