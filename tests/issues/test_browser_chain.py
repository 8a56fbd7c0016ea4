"""Journey (a) in a real headless Chromium: a central round's issue led by a town's department goes
county → city → region and closes, each signer finding it in the to-do list their home page opens on.

The unit head submits; the county office sees it waiting (等待我审核), opens it from the home page and
signs 县级验收; the city office does the same for 市级验收; the region approver, who serves the whole
tree, approves (自治区审核销号). Each signer's count drops after signing; the issue page shows 已销号 and
the three signatures on the timeline and in the chain.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.browser import click_and_wait, expect, log_in, log_out
from tests.support.factories import make_attachment, make_issue, make_report
from tests.support.tree import make_tree
from tracker.core.extensions import db
from tracker.issues.models import Issue, Signature

pytestmark = pytest.mark.browser


def awaiting(page):
    """The home page's to-do item of the issues waiting for the user's step."""
    return page.locator('#todo-list .todo-item[data-kind="awaiting"]')


def sign_from_home(page, base: str, username: str, code: str, action: str, button: str, waits: str) -> None:
    """Sign in, find the issue in the to-do list and its queue on the home page, open it and sign; the
    home page's count then drops to zero."""
    check = expect()
    log_in(page, base, username)
    page.goto(f"{base}/")
    check(awaiting(page)).to_have_attribute("data-count", "1")
    check(awaiting(page)).to_contain_text("等待我")
    # The to-do item opens the list holding exactly this issue, saying where it waits.
    with page.expect_navigation():
        awaiting(page).click()
    check(page.locator("#issue-count")).to_have_text("共 1 个问题")
    check(page.locator("#issue-table")).to_contain_text(waits)
    page.goto(f"{base}/")
    with page.expect_navigation():
        page.locator("#queue-items").get_by_role("link", name=code).click()
    check(page.locator("#issue-state")).to_contain_text(waits)
    click_and_wait(page, f"#action-{action}", button)
    page.goto(f"{base}/")
    check(awaiting(page)).to_have_attribute("data-count", "0")
    check(page.locator("#queue-empty")).to_be_visible()
    log_out(page)


def test_central_round_issue_closes_through_three_signers_in_the_browser(app, live_server, page, tmp_path):
    base = live_server
    t = make_tree()
    issue = make_issue(lead_unit=t["dept1"], round=t["round"], title="镇区污水管网未覆盖", progress_percent=100)
    make_report(issue, "2020-07", percent=100)
    make_attachment(issue)
    db.session.commit()  # the server thread reads what is committed
    issue_id, code = issue.id, issue.code
    check = expect()

    # The town department's head submits the closure.
    log_in(page, base, t["head1"].username)
    page.goto(f"{base}/issues/{issue_id}")
    page.locator('#action-submit textarea[name="summary"]').fill("管网已铺设完成并通水。")
    click_and_wait(page, "#action-submit", "提交销号申请")
    check(page.locator("#issue-state")).to_contain_text("待县级验收")
    log_out(page)

    # The other county's office has nothing waiting.
    log_in(page, base, t["sup_k2"].username)
    page.goto(f"{base}/")
    check(awaiting(page)).to_have_attribute("data-count", "0")
    log_out(page)

    sign_from_home(page, base, t["sup_k1"].username, code, "verify", "验收通过", "待县级验收")
    sign_from_home(page, base, t["sup_city"].username, code, "verify", "验收通过", "待市级验收")
    sign_from_home(page, base, t["approver"].username, code, "approve", "批准销号", "待自治区审核销号")

    # Closed, with the three signatures on the timeline and in the chain.
    log_in(page, base, t["head1"].username)
    page.goto(f"{base}/issues/{issue_id}")
    check(page.locator("#issue-state")).to_contain_text("已销号")
    timeline = page.locator("#timeline")
    for label in ("县级验收", "市级验收", "自治区审核销号"):
        check(timeline).to_contain_text(label)
        check(page.locator("#issue-chain")).to_contain_text(label)
    page.screenshot(path=str(tmp_path / "closed.png"), full_page=True)  # kept for a look on failure
    db.session.rollback()  # read what the server committed, not this session's cache
    signed = db.session.execute(select(Signature.label, Signature.user_id).where(Signature.issue_id == issue_id)
                                .order_by(Signature.position)).all()
    assert signed == [("县级验收", t["sup_k1"].id), ("市级验收", t["sup_city"].id),
                      ("自治区审核销号", t["approver"].id)]
    assert db.session.get(Issue, issue_id).state == "closed"
