"""The outcomes of an issue closed or due: 按期完成, 延期后完成, 逾期 — one definition each (figures), counted
on the statistics page and in GET /stats per round and lead unit, and each count opens exactly its list."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.support.api import api_for
from tests.support.factories import make_issue, make_round, make_unit, make_user
from tests.support.web import client_for
from tracker.core.extensions import db
from tracker.issues import figures
from tracker.issues.models import DeadlineChange, ExtensionRequest, Issue
from tracker.issues.queries import day_figures
from tracker.reports import stats

TODAY = date(2020, 7, 15)

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _approved(issue: Issue, old: date, new: date) -> None:
    db.session.add(ExtensionRequest(issue_id=issue.id, state="approved", old_deadline=old, new_deadline=new,
                                    granted_deadline=new, reason="延期", requested_at=datetime(2020, 5, 1),
                                    decided_at=datetime(2020, 5, 2)))


@pytest.fixture
def world(session):
    a, b = make_unit("A", "甲局"), make_unit("B", "乙局")
    r1, r2 = make_round("第一轮"), make_round("第二轮")

    def issue(code, unit=a, round_=r1, **kw):
        return make_issue(lead_unit=unit, round=round_, code=code, **kw)

    closed = dict(state="closed")
    on_time = issue("OT-1", deadline=date(2020, 6, 30), original_deadline=date(2020, 6, 30),
                    closed_at=datetime(2020, 6, 20, 2), **closed)
    # Closed on the deadline's local day (16:30 UTC is 00:30 the next day in Beijing: late).
    on_day = issue("OT-2", deadline=date(2020, 6, 30), original_deadline=date(2020, 6, 30),
                   closed_at=datetime(2020, 6, 30, 15, 0), **closed)
    after = issue("AE-1", deadline=date(2020, 6, 30), original_deadline=date(2020, 5, 31),
                  closed_at=datetime(2020, 6, 20, 2), **closed)
    _approved(after, date(2020, 5, 31), date(2020, 6, 30))
    # Extended, but closed by the original deadline anyway: the extension was not needed.
    unneeded = issue("OT-3", deadline=date(2020, 6, 30), original_deadline=date(2020, 5, 31),
                     closed_at=datetime(2020, 5, 20, 2), **closed)
    _approved(unneeded, date(2020, 5, 31), date(2020, 6, 30))
    # Moved by an edit, not an extension: closed by the deadline in force is on time.
    edited = issue("OT-4", deadline=date(2020, 6, 30), original_deadline=date(2020, 5, 31),
                   closed_at=datetime(2020, 6, 20, 2), **closed)
    db.session.add(DeadlineChange(issue_id=edited.id, old_deadline=date(2020, 5, 31), new_deadline=date(2020, 6, 30),
                                  changed_at=datetime(2020, 5, 1), source="edit"))
    closed_late = issue("LT-1", deadline=date(2020, 6, 30), original_deadline=date(2020, 6, 30),
                        closed_at=datetime(2020, 6, 30, 16, 30), **closed)
    extended_late = issue("LT-2", unit=b, deadline=date(2020, 6, 30), original_deadline=date(2020, 5, 31),
                          closed_at=datetime(2020, 7, 5, 2), **closed)
    _approved(extended_late, date(2020, 5, 31), date(2020, 6, 30))
    open_overdue = issue("LT-3", round_=r2, deadline=date(2020, 7, 1), original_deadline=date(2020, 7, 1))
    not_due = issue("ND-1", deadline=date(2020, 12, 31), original_deadline=date(2020, 12, 31))
    submitted_due = issue("ND-2", deadline=date(2020, 7, 1), original_deadline=date(2020, 7, 1), state="submitted",
                          submitted_at=datetime(2020, 6, 25))
    sup = make_user("supervisor", username="sup")
    session.commit()
    return dict(a=a, b=b, r1=r1, r2=r2, sup=sup, on_time=on_time, on_day=on_day, after=after, unneeded=unneeded,
                edited=edited, closed_late=closed_late, extended_late=extended_late, open_overdue=open_overdue,
                not_due=not_due, submitted_due=submitted_due)


EXPECTED = {
    "done_on_time": {"OT-1", "OT-2", "OT-3", "OT-4"},
    "done_after_extension": {"AE-1"},
    "late": {"LT-1", "LT-2", "LT-3"},
}


@pytest.mark.parametrize("name", figures.OUTCOMES)
def test_each_outcome_holds_exactly_its_issues(world, name):
    fig = day_figures(TODAY, {})
    codes = set(db.session.scalars(select(Issue.code).where(figures.FLAGS[name](fig, 8))))
    assert codes == EXPECTED[name]


def test_the_outcomes_do_not_overlap(world):
    fig = day_figures(TODAY, {})
    seen: dict[str, str] = {}
    for name in figures.OUTCOMES:
        for code in db.session.scalars(select(Issue.code).where(figures.FLAGS[name](fig, 8))):
            assert code not in seen, (code, seen.get(code), name)
            seen[code] = name


def test_per_round_and_unit(world):
    rounds = {r.round.name: r for r in stats.round_stats(db.session, world["sup"], TODAY, {})}
    assert (rounds["第一轮"].done_on_time, rounds["第一轮"].done_after_extension, rounds["第一轮"].late) == (4, 1, 2)
    assert (rounds["第二轮"].done_on_time, rounds["第二轮"].done_after_extension, rounds["第二轮"].late) == (0, 0, 1)
    units = {u.code: u for u in stats.unit_stats(db.session, world["sup"], TODAY, {})}
    assert (units["A"].done_on_time, units["A"].done_after_extension, units["A"].late) == (4, 1, 2)
    assert (units["B"].done_on_time, units["B"].done_after_extension, units["B"].late) == (0, 0, 1)


def test_the_api_tells_the_outcomes(client, world):
    body = api_for(client, world["sup"]).get("/stats").get_json()
    first = next(r for r in body["rounds"] if r["round"]["name"] == "第一轮")
    assert (first["done_on_time"], first["done_after_extension"], first["late"]) == (4, 1, 2)
    unit_b = next(u for u in body["units"] if u["unit"]["code"] == "B")
    assert (unit_b["done_on_time"], unit_b["done_after_extension"], unit_b["late"]) == (0, 0, 1)


def _codes(html: str) -> set[str]:
    return set(re.findall(r"\b(?:OT|AE|LT|ND)-\d\b", html))


def test_each_count_on_the_statistics_page_opens_exactly_its_rows(app, world):
    office = client_for(app, world["sup"])
    html = office.get("/stats/").get_data(as_text=True)
    links = re.findall(r'href="(/issues/\?[^"]*(?:done_on_time|done_after_extension|late)=1[^"]*)">(\d+)</a>', html)
    assert len(links) >= 6, links
    for href, shown in links:
        href = href.replace("&amp;", "&")
        listed = _codes(office.get(href).get_data(as_text=True))
        assert len(listed) == int(shown), (href, listed)
        name = next(n for n in figures.OUTCOMES if f"{n}=1" in href)
        assert listed <= EXPECTED[name], (href, listed)
