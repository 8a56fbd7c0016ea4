"""In a real headless Chromium: the supervisor returns a closure request with a reason; the unit
head, signing in, finds the returned issue at the top of the home page with that reason, and one
mail — only one, only to the head — reached a real SMTP server through the scheduler's mail step.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.browser import click_and_wait, expect, log_in, log_out
from tests.support.factories import make_attachment, make_issue, make_report, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.escalation.scheduler import minute_job
from tracker.issues.models import Issue
from tracker.notify.models import Outbox

pytestmark = pytest.mark.browser

REASON = "请补充扬尘在线监测数据和整改前后对比照片。"


def test_a_returned_issue_reaches_the_unit_head_on_the_home_page_and_by_one_mail(
        jobs_app, live_server, page, smtp_server):
    jobs_app.config["SMTP_URL"] = smtp_server.url
    base = live_server
    unit = make_unit(name="市住建局")
    head = make_user("unit_head", unit=unit, email="head@zjj.example.org")
    supervisor = make_user("supervisor", email="office@dcb.example.org")
    issue = make_issue(lead_unit=unit, round=make_round(), title="城区建筑工地扬尘管控不到位", state="submitted",
                       summary="扬尘防治措施全部落实。", progress_percent=100)
    make_report(issue, percent=100, author=head)
    make_attachment(issue)
    db.session.commit()  # the server thread reads what is committed
    issue_id, code = issue.id, issue.code
    check = expect()

    # The supervisor returns the closure request with a reason, on the issue page.
    log_in(page, base, supervisor.username)
    page.goto(f"{base}/issues/{issue_id}")
    check(page.locator("#issue-state")).to_contain_text("待验收")
    page.locator('#action-return textarea[name="comment"]').fill(REASON)
    click_and_wait(page, "#action-return", "退回")
    check(page.locator("#issue-state")).to_contain_text("整改中")
    log_out(page)
    assert db.session.scalar(select(Issue.state).where(Issue.id == issue_id)) == "in_progress"

    # The scheduler's minute step sends the outbox to the SMTP server.
    minute_job(jobs_app)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["head@zjj.example.org"]
    assert "退回" in mail.subject and code in mail.subject
    assert REASON in mail.text() and f"/issues/{issue_id}" in mail.text()
    assert db.session.scalar(select(Outbox.status).where(Outbox.to_addr == "head@zjj.example.org")) == "sent"
    # Once: the next minute sends nothing more.
    minute_job(jobs_app)
    assert len(smtp_server.messages) == 1

    # The unit head signs in: the returned issue is the first thing on the home page, with the reason.
    log_in(page, base, head.username)
    page.goto(f"{base}/")
    returned = page.locator("#returned")
    check(returned).to_be_visible()
    check(returned).to_contain_text("被退回的问题")
    check(returned.locator(f'.returned-issue[data-issue-id="{issue_id}"]')).to_contain_text(code)
    check(returned.locator(".returned-reason")).to_contain_text(REASON)
    # The page opens on the to-do list, whose 被退回 item counts it; the returned issues with their
    # reasons come next, above everything else in the page's content.
    check(page.locator('#todo-list a.todo-item[data-kind="returned"] .todo-count')).to_have_text("1")
    assert page.evaluate("""() => {
        const returned = document.querySelector('#returned');
        const sections = [...returned.parentElement.querySelectorAll(':scope > section')];
        return sections[0].id === 'todo-list' && sections[1] === returned
            && !!(returned.compareDocumentPosition(document.querySelector('#todo-title'))
                  & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    # Its count leads to exactly the returned issues, and the issue page says what to do.
    page.locator("#returned-count").click()
    check(page.locator("body")).to_contain_text(code)
    page.goto(f"{base}/issues/{issue_id}")
    check(page.locator("#timeline")).to_contain_text(REASON)
