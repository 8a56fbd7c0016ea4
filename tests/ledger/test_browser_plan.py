"""In a real headless Chromium: the Huolingguole plan, uploaded as a file, becomes 66 issues.

The supervisor of the demo uploads the plan, checks the preview (66 tasks; the plan's
abbreviated unit names preset to the demo's units), confirms, and lands on the round's
issue list. The database then holds the 66 issues with the plan's units and deadlines.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.browser import DEMO_PASSWORD, expect, load_demo_data, log_in
from tracker.core.extensions import db
from tracker.issues.models import Issue
from tracker.ledger.plans import parse_plan
from tracker.rounds.models import Round
from tracker.units.models import Unit

pytestmark = pytest.mark.browser

PLAN = Path(__file__).parent / "fixtures" / "plans" / "huolingguole-2020-action-plan.txt"
ROUND = "2019年自治区生态环境保护督察"
# The plan's names for units the demo calls otherwise, and what the preview presets them to.
PRESET = {"市生态环境局": "市生态环境分局", "达苏木": "达来胡硕苏木", "沙街": "沙尔呼热街道",
          "苏木": "达来胡硕苏木", "各街道": "各街道办事处"}


def test_huolingguole_plan_imports_as_66_issues_in_the_browser(app, live_server, page):
    base = live_server
    load_demo_data()
    round_id = db.session.scalar(select(Round.id).where(Round.name == ROUND))
    before = db.session.scalar(select(func.count(Issue.id)))
    check = expect()

    log_in(page, base, "duban", DEMO_PASSWORD)
    page.goto(f"{base}/issues/")
    with page.expect_navigation():
        page.locator("#import-plan").click()
    page.set_input_files('input[name="file"]', str(PLAN))
    page.select_option('select[name="round_id"]', label=ROUND)
    with page.expect_navigation():
        page.get_by_role("button", name="识别并预览").click()

    check(page.locator("#plan-summary")).to_contain_text("共识别出 66 条任务")
    check(page.locator("#plan-tasks tbody tr")).to_have_count(66)
    mapping = page.locator("#unit-map tbody tr")
    check(mapping).to_have_count(len(PRESET))
    for row in range(len(PRESET)):
        name = mapping.nth(row).locator("td").first.inner_text().splitlines()[0].strip()
        chosen = mapping.nth(row).locator("select option:checked").inner_text()
        assert chosen.startswith(PRESET[name]), (name, chosen)

    with page.expect_navigation():
        page.get_by_role("button", name="确认创建问题").click()
    check(page.locator(".alert-success")).to_contain_text("已按方案创建 66 个问题。")
    assert f"round={round_id}" in page.url

    db.session.expire_all()
    assert db.session.scalar(select(func.count(Issue.id))) == before + 66
    created = db.session.execute(
        select(Issue.code, Issue.deadline, Unit.name).join(Unit, Unit.id == Issue.lead_unit_id)
        .where(Issue.code.like("FA2020-%")).order_by(Issue.code)).all()
    tasks = parse_plan(PLAN.read_text(encoding="utf-8")).tasks
    assert len(created) == len(tasks) == 66
    for (code, deadline, lead), task in zip(created, tasks, strict=True):
        assert lead == PRESET.get(task.lead_units[0], task.lead_units[0]), code
        assert deadline == (task.deadline or date(2020, 12, 31)), code
    # No unit was created: every name the plan uses is a demo unit or maps to one.
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.code.like("P%"))) == 0
