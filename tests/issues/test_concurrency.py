"""Two actions on one issue at once: exactly one wins, the other is told (PostgreSQL only).

Each racer runs in its own thread with its own app context, hence its own session
and connection. Both load the issue at the same version, meet at a barrier, then act
and commit; the issue's version column makes the second UPDATE find no row.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_attachment, make_issue, make_report, make_unit, make_user
from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.issues.models import Event, Issue

TEST_DATABASE_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                       reason="needs PostgreSQL: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://…"),
]
TIMEOUT = 60  # seconds a racer waits for the other at the barrier


def race(workers: list[Callable[[threading.Barrier], object]]) -> list[object]:
    """Run the workers in threads that share one barrier; return what each returned or raised."""
    barrier = threading.Barrier(len(workers), timeout=TIMEOUT)
    results: list[object] = [None] * len(workers)

    def run(i: int) -> None:
        try:
            results[i] = workers[i](barrier)
        except BaseException as exc:
            barrier.abort()
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
        assert not thread.is_alive(), "a racer hung"
    return results


def submitted_issue() -> Issue:
    """An issue awaiting verification, with report, evidence and summary, committed."""
    unit = make_unit()
    issue = make_issue(lead_unit=unit, state="submitted", summary="已按要求完成整改")
    make_report(issue)
    make_attachment(issue)
    db.session.commit()
    return issue


def event_count(issue_id: int, actions: tuple[str, ...]) -> int:
    """How many timeline entries of these actions the issue has, read afresh."""
    return db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.issue_id == issue_id, Event.action.in_(actions)))


def fresh(issue_id: int) -> Issue:
    """The issue as committed now."""
    db.session.expire_all()
    return db.session.get(Issue, issue_id)


@pytest.mark.parametrize("second", ["verify", "return"])
def test_two_supervisors_at_once_exactly_one_wins(app, clock, second):
    first_user = make_user("supervisor")
    second_user = make_user("supervisor")
    issue = submitted_issue()
    issue_id, version = issue.id, issue.version
    moves = [(first_user.id, "verify"), (second_user.id, second)]

    def racer(user_id: int, action: str):
        def act(barrier: threading.Barrier):
            with app.app_context():
                try:
                    actor = db.session.get(User, user_id)
                    mine = db.session.get(Issue, issue_id)
                    assert mine.version == version
                    barrier.wait()  # both have loaded version N
                    try:
                        issue_service.transition(db.session, actor, clock(), mine, action,
                                                 comment="材料不全,退回补充")
                        db.session.commit()
                        return "won"
                    except Refusal as refusal:
                        db.session.rollback()
                        return refusal
                finally:
                    db.session.remove()
        return act

    results = race([racer(user_id, action) for user_id, action in moves])

    errors = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Refusal)]
    assert not errors, errors
    assert sorted(r == "won" for r in results) == [False, True], results
    winner = results.index("won")
    loser = results[1 - winner]
    assert isinstance(loser, Refusal)
    assert loser.kind == "conflict"
    assert loser.message == issue_service.STALE_MESSAGE

    after = fresh(issue_id)
    won_action = moves[winner][1]
    assert after.state == {"verify": "verified", "return": "in_progress"}[won_action]
    assert after.version == version + 1
    if won_action == "verify":
        assert after.verified_by_id == moves[winner][0]
    assert event_count(issue_id, ("verify", "return")) == 1


def test_two_api_calls_at_once_exactly_one_wins(app, clock):
    """The same race over HTTP: two clients post the same version; one 200, one 409."""
    supervisors = [make_user("supervisor"), make_user("supervisor")]
    issue = submitted_issue()
    issue_id, version = issue.id, issue.version
    tokens = [accounts.issue_token(db.session, user, clock())[0] for user in supervisors]
    db.session.commit()
    bodies = [{"action": "verify", "version": version},
              {"action": "return", "comment": "材料不全,退回补充", "version": version}]

    def racer(token: str, body: dict):
        def post(barrier: threading.Barrier):
            client = app.test_client()
            barrier.wait()
            response = client.post(f"/api/v1/issues/{issue_id}/transitions", json=body,
                                   headers={"Authorization": f"Bearer {token}"})
            return response.status_code, response.get_json()
        return post

    results = race([racer(t, b) for t, b in zip(tokens, bodies, strict=True)])

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    winner = next(i for i, (status, _) in enumerate(results) if status == 200)
    loser_body = results[1 - winner][1]
    assert loser_body["error"]

    after = fresh(issue_id)
    assert after.state == {0: "verified", 1: "in_progress"}[winner]
    assert after.version == version + 1
    assert results[winner][1]["version"] == version + 1
    assert event_count(issue_id, ("verify", "return")) == 1
