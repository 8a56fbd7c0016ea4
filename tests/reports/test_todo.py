"""The to-do list each role opens on (我的待办): every count equals the rows of the list its link opens,
role by role and office by office in a city → counties → towns tree; the list's new filters one by one
(bad values refused in Chinese, never a 500); GET /api/v1/todo; the home page shows the list first, and
its statements do not grow with the data.

The clock stands at 2020-07-15 (Beijing): this month's report period is 2020-07, due the 18th. The
world, issue by issue (T1-HB is town 1's department under county K1, T2-HB town 2's under county K2):

  a   T1-HB           in progress, reported 2020-06 only              -> unreported
  b   T1-HB           in progress, reported 2020-07                   -> (an old rejected extension)
  c   T2-HB, coop T1  in progress, no report                          -> unreported for both units
  d   T1-HB           in progress at 100%, reported 2020-07           -> progress_full, extension approved 07-13
  e   T1-HB           returned 07-12, no report                       -> returned, unreported
  e2  T2-HB, coop T1  returned, reported                              -> returned for T2 only (lead)
  f   T1-HB           submitted, waits 县级验收                        -> K1's office, the whole tree's
  f2  T2-HB           submitted, waits 县级验收                        -> K2's office, the whole tree's
  g   T2-HB           verified, waits 市级验收, step 1 signed by sup_all -> the city's office only
  h   T1-HB           verified, waits 自治区审核销号                   -> the region approver
  i   T1-HB           overdue 14 days, 挂牌督办, reported              -> leader, admin
  j   T2-HB           due 07-20, reported, extension approved 07-14    -> due soon
  k   T1-HB           closed;  m  T1-HB merged into a                  -> nowhere
Extension requests pending: on a (K1's) and on c (K2's).
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from flask import current_app
from sqlalchemy import func, select

from tests.support.api import api_for
from tests.support.factories import make_issue, make_report, make_round
from tests.support.queries import statements_for
from tests.support.tree import make_tree
from tests.support.web import client_for
from tracker.core.extensions import db
from tracker.escalation.settings import JobSettings
from tracker.issues.extensions import decidable_extensions
from tracker.issues.models import Escalation, Event, ExtensionRequest, Signature
from tracker.reports import todo
from tracker.rounds.models import Round
from tracker.units.models import Unit

pytestmark = pytest.mark.usefixtures("fast_passwords", "fresh_login_per_request")  # tests/conftest.py

TODAY = date(2020, 7, 15)


def _extension(issue, state, decided_at=None):
    granted = date(2021, 6, 30) if state == "approved" else None
    db.session.add(ExtensionRequest(issue_id=issue.id, state=state, old_deadline=issue.deadline,
                                    new_deadline=date(2021, 6, 30), reason="工程量大",
                                    requested_at=datetime(2020, 7, 1), decided_at=decided_at,
                                    granted_deadline=granted))


def _returned(issue, head, supervisor):
    db.session.add(Event(issue_id=issue.id, at=datetime(2020, 7, 10), actor_id=head.id, action="submit",
                         from_state="in_progress", to_state="submitted"))
    db.session.add(Event(issue_id=issue.id, at=datetime(2020, 7, 12), actor_id=supervisor.id, action="return",
                         from_state="submitted", to_state="in_progress", comment="整改照片不清晰"))


@pytest.fixture
def world(session):
    """The world of the module docstring, committed."""
    t = make_tree()
    r, d1, d2 = t["round"], t["dept1"], t["dept2"]
    i = {}
    i["a"] = make_issue(d1, r, progress_percent=30)
    make_report(i["a"], "2020-06")
    i["b"] = make_issue(d1, r)
    make_report(i["b"], "2020-07")
    i["c"] = make_issue(d2, r, (d1,))
    i["d"] = make_issue(d1, r, progress_percent=100)
    make_report(i["d"], "2020-07", percent=100)
    i["e"] = make_issue(d1, r, progress_percent=60)
    _returned(i["e"], t["head1"], t["sup_k1"])
    i["e2"] = make_issue(d2, r, (d1,))
    make_report(i["e2"], "2020-07")
    _returned(i["e2"], t["head2"], t["sup_k2"])
    i["f"] = make_issue(d1, r, state="submitted", chain_step=0, submitted_at=datetime(2020, 7, 10),
                        progress_percent=100)
    i["f2"] = make_issue(d2, r, state="submitted", chain_step=0, submitted_at=datetime(2020, 7, 11),
                         progress_percent=100)
    i["g"] = make_issue(d2, r, state="verified", chain_step=1, submitted_at=datetime(2020, 7, 9),
                        progress_percent=100)
    db.session.add(Signature(issue_id=i["g"].id, position=0, label="县级验收", user_id=t["sup_all"].id,
                             signed_at=datetime(2020, 7, 12)))
    i["h"] = make_issue(d1, r, state="verified", chain_step=2, submitted_at=datetime(2020, 7, 8),
                        progress_percent=100)
    i["i"] = make_issue(d1, r, deadline=date(2020, 7, 1))
    make_report(i["i"], "2020-07")
    db.session.add(Escalation(issue_id=i["i"].id, key="supervision_order+15", kind="supervision_order",
                              due_on=date(2020, 7, 1), fired_on=date(2020, 7, 15), created_at=datetime(2020, 7, 15)))
    i["j"] = make_issue(d2, make_round(), deadline=date(2020, 7, 20))
    make_report(i["j"], "2020-07")
    i["k"] = make_issue(d1, r, state="closed", progress_percent=100, closed_at=datetime(2020, 6, 1))
    i["m"] = make_issue(d1, r, merged_into_id=i["a"].id)
    _extension(i["a"], "pending")
    _extension(i["c"], "pending")
    _extension(i["d"], "approved", datetime(2020, 7, 13, 3))
    _extension(i["b"], "rejected", datetime(2020, 7, 1))
    _extension(i["j"], "approved", datetime(2020, 7, 14))
    session.commit()
    t["i"] = i
    return t


# Who sees what, by hand: kind -> the issues (or, for extension requests, how many).
EXPECTED = {
    "clerk1": {"unreported": {"a", "c", "e"}, "returned": {"e"}},
    "head1": {"progress_full": {"d"}, "returned": {"e"}, "unreported": {"a", "c", "e"}, "extension_decided": {"d"}},
    "clerk2": {"unreported": {"c"}, "returned": {"e2"}},
    "head2": {"progress_full": set(), "returned": {"e2"}, "unreported": {"c"}, "extension_decided": {"j"}},
    "sup_k1": {"awaiting": {"f"}, "extensions": 1, "due_soon": None},
    "sup_k2": {"awaiting": {"f2"}, "extensions": 1, "due_soon": None},
    "sup_city": {"awaiting": {"g"}, "extensions": 2, "due_soon": None},
    "sup_all": {"awaiting": {"f", "f2"}, "extensions": 2, "due_soon": None},  # g: it signed step 1 of g
    "approver": {"awaiting": {"h"}},
    "leader": {"overdue": {"i"}, "supervised": {"i"}},
    "admin": {"overdue": {"i"}, "supervised": {"i"}},
}


def listed(client, url):
    """The list a to-do link opens: its total and the ids of its rows."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert 'class="alert alert-warning py-2 filter-note"' not in html, url  # every argument understood
    total = int(re.search(r'id="issue-count">共 (\d+) 个问题', html).group(1))
    return total, {int(x) for x in re.findall(r'class="issue-row" data-issue-id="(\d+)"', html)}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_count_is_the_list_its_link_opens(app, world, who):
    user = world[who]
    items = todo.todo_items(db.session, user, TODAY, current_app.config)
    assert [item.kind for item in items] == list(EXPECTED[who])
    names = {issue.id: name for name, issue in world["i"].items()}
    client = client_for(app, user)
    for item in items:
        expected = EXPECTED[who][item.kind]
        if item.kind == "extensions":
            assert item.url == "/extensions/?state=pending"
            assert item.count == expected == db.session.scalar(
                select(func.count()).select_from(ExtensionRequest).where(decidable_extensions(user)))
            continue
        assert item.url.startswith("/issues/?")
        total, ids = listed(client, item.url)
        assert item.count == total == len(ids), (item, ids)
        if expected is not None:  # None: a figure of the user's scope, which jurisdiction narrows
            assert {names[i] for i in ids} == expected, item


def test_a_county_office_never_counts_another_countys_issue(world):
    """Whatever the scope rule, a county office's queue and extension requests hold its county's only."""
    i = world["i"]
    for office, mine, theirs in (("sup_k1", i["f"], i["f2"]), ("sup_k2", i["f2"], i["f"])):
        items = {item.kind: item for item in todo.todo_items(db.session, world[office], TODAY, current_app.config)}
        assert items["awaiting"].count == 1
        pending = db.session.scalars(select(ExtensionRequest.issue_id).where(decidable_extensions(world[office]))).all()
        assert pending == [(i["a"] if office == "sup_k1" else i["c"]).id]
        assert mine.id != theirs.id


def test_labels_say_the_month_and_the_days_to_the_configured_due_day(world):
    items = todo.todo_items(db.session, world["clerk1"], TODAY, current_app.config)
    assert items[0].label == "本月(2020-07)未报送进展的问题(距 18 日报送截止还有 3 天)"
    settings = JobSettings(report_due_day=20)
    assert todo.report_due_label(TODAY, settings) == "距 20 日报送截止还有 5 天"
    assert todo.report_due_label(date(2020, 7, 20), settings) == "今天(20 日)报送截止"
    assert todo.report_due_label(date(2020, 7, 21), settings) == "已过 20 日报送截止"


def test_the_configured_due_day_reaches_the_home_page(app, world, session):
    from tracker.escalation.settings import save_settings

    save_settings(session, None, {"report_due_day": 25, "report_reminder_day": 20})
    session.commit()
    html = client_for(app, world["clerk1"]).get("/").get_data(as_text=True)
    assert "距 25 日报送截止还有 10 天" in html


def test_the_home_page_opens_on_the_to_do_list(app, world):
    clerk = client_for(app, world["clerk1"]).get("/").get_data(as_text=True)
    head = client_for(app, world["head1"]).get("/").get_data(as_text=True)
    for html in (clerk, head):
        assert html.index('id="todo-list"') < html.index('id="returned"') < html.index('id="todo-title"')
        assert "整改照片不清晰" in html  # the reason of the return, on the home page
    assert re.findall(r'data-kind="(\w+)" data-count="(\d+)"', clerk) == [("unreported", "3"), ("returned", "1")]
    # The head's list is not the clerk's.
    assert re.findall(r'data-kind="(\w+)" data-count="(\d+)"', head) == [
        ("progress_full", "1"), ("returned", "1"), ("unreported", "3"), ("extension_decided", "1")]
    assert 'href="/issues/?progress_full=1&amp;lead_only=1"' in head
    office = client_for(app, world["sup_city"]).get("/").get_data(as_text=True)
    assert re.findall(r'data-kind="(\w+)" data-count="(\d+)"', office)[:2] == [("awaiting", "1"), ("extensions", "2")]
    # The queue below it: the issue waiting for the city's step, saying where it waits.
    queue = office.split('id="queue-items"')[1].split("</table>")[0]
    assert world["i"]["g"].code in queue and "待市级验收" in queue and world["i"]["f"].code not in queue


def test_the_api_gives_the_same_to_do_list(app, client, world):
    for who in ("clerk1", "head1", "sup_k1", "approver", "leader"):
        answer = api_for(client, world[who]).get("/todo")
        assert answer.status_code == 200
        expected = [item.as_json() for item in todo.todo_items(db.session, world[who], TODAY, current_app.config)]
        assert answer.get_json() == {"items": expected}
    assert client.get("/api/v1/todo").status_code == 401


# --- the list's filters, one by one --------------------------------------------------------

GOOD = [
    ("unreported=1", "clerk1", {"a", "c", "e"}),
    ("progress_full=1", "sup_all", {"d"}),
    ("lead_only=1", "clerk1", {"a", "b", "d", "e", "f", "h", "i", "k", "m"}),
    ("lead_only=1", "sup_all", set()),  # an office user without a unit leads nothing
    ("waiting=mine", "sup_city", {"g"}),
    ("waiting=mine", "clerk1", set()),
    ("returned=1", "clerk1", {"e", "e2"}),
    ("extension_decided=1", "sup_all", {"d", "j"}),
    ("min_days_overdue=14", "sup_all", {"i"}),
    ("min_days_overdue=15", "sup_all", set()),
    ("min_days_overdue=0", "sup_all", {"i"}),
    ("due_soon=1", "sup_all", {"j"}),
]


@pytest.mark.parametrize(("query", "who", "expected"), GOOD)
def test_each_filter_of_the_list(app, world, query, who, expected):
    names = {issue.id: name for name, issue in world["i"].items()}
    client = client_for(app, world[who])
    total, ids = listed(client, "/issues/?" + query)
    assert {names[i] for i in ids} == expected and total == len(expected)
    # The list names the filter in Chinese, with a link that drops it.
    html = client.get("/issues/?" + query).get_data(as_text=True)
    name = query.split("=")[0]
    assert f'data-filter="{name}"' in html and 'id="clear-filters"' in html
    # The API's list agrees.
    answer = api_for(app.test_client(), world[who]).get("/issues?" + query + "&per_page=100")
    assert answer.status_code == 200, answer.get_json()
    assert {names[item["id"]] for item in answer.get_json()["items"]} == expected


BAD = [("unreported", "2"), ("progress_full", "yes"), ("lead_only", "0"), ("waiting", "all"),
       ("min_days_overdue", "-1"), ("min_days_overdue", "abc"), ("min_days_overdue", "99999999"),
       ("extension_decided", "x"), ("due_soon", "2"), ("returned", "否")]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_filter_value_is_refused_in_chinese(app, world, name, value):
    client = client_for(app, world["sup_all"])
    response = client.get(f"/issues/?{name}={value}")
    assert response.status_code == 200  # the page ignores it and says so
    html = response.get_data(as_text=True)
    assert "无效,已忽略" in html and f'data-filter="{name}"' not in html
    answer = api_for(app.test_client(), world["sup_all"]).get(f"/issues?{name}={value}")
    assert answer.status_code == 400
    message = answer.get_json()["error"]
    assert name in message and re.search(r"[\u4e00-\u9fff]", message)


def test_a_filter_badge_drops_only_itself(app, world):
    client = client_for(app, world["clerk1"])
    html = client.get("/issues/?unreported=1&lead_only=1").get_data(as_text=True)
    badge = html.split('data-filter="unreported"')[1].split("</span>")[0]
    href = re.search(r'href="([^"]+)"', badge).group(1).replace("&amp;", "&")
    assert "unreported" not in href and "lead_only=1" in href
    assert "仅本月未报送进展" in html and "仅本单位牵头" in html


# --- the home page's statements ---------------------------------------------------------------

def _grow(ids, n):
    """n more issues of each kind the to-do lists count (`ids`: the round's and the departments')."""
    r, d1, d2 = db.session.get(Round, ids[0]), db.session.get(Unit, ids[1]), db.session.get(Unit, ids[2])
    for k in range(n):
        make_issue(d1, r, (d2,), progress_percent=100)
        make_issue(d2, r, (d1,), deadline=date(2020, 7, 18 + k % 5))
        make_issue(d1, r, state="submitted", chain_step=0, submitted_at=datetime(2020, 7, 1 + k % 10))
        make_issue(d2, r, state="verified", chain_step=1, submitted_at=datetime(2020, 7, 1 + k % 10))
        make_issue(d1, r, state="verified", chain_step=2, submitted_at=datetime(2020, 7, 1 + k % 10))
        _extension(make_issue(d1, make_round()), "pending")
    db.session.commit()


# Measured; a change that adds a statement to the home page must say why here.
# (An office user with a unit loads it once: their queue and extension requests are of its subtree.)
HOME_STATEMENTS = {"clerk1": 14, "head1": 14, "sup_k1": 15, "sup_all": 14, "approver": 11, "leader": 13, "admin": 9}


@pytest.mark.parametrize("who", sorted(HOME_STATEMENTS))
def test_home_page_statements_do_not_grow(app, world, who):
    ids = (world["round"].id, world["dept1"].id, world["dept2"].id)
    client = client_for(app, world[who])
    client.get("/")
    small = len(statements_for(client, "/"))
    _grow(ids, 12)
    large = len(statements_for(client, "/"))
    assert small == large, (small, large)
    assert small <= HOME_STATEMENTS[who], small


def test_the_apis_yes_no_filters_are_the_lists_figures():
    from tracker.issues.figures import FLAGS
    from tracker.issues.schemas import FLAG_ARGS

    assert set(FLAG_ARGS) <= set(FLAGS)
