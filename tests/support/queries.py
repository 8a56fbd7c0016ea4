"""Helpers for query-count tests: count the SQL statements of a block or of one GET, and give
issues a history (events, reports, attachments) to count against."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import event

from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, ProgressReport


@contextmanager
def count_queries():
    """Count the SQL statements sent to the database inside the block (a list of their texts)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def statements_for(client, path: str) -> list[str]:
    """The statements one GET makes, starting from an empty session as a real request would."""
    db.session.remove()
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    return statements


def fill_issue(issue, people, units, n: int, at: datetime) -> None:
    """Give an issue n events, reports and attachments by different people."""
    for k in range(n):
        person = people[k % len(people)]
        db.session.add(Event(issue_id=issue.id, at=at + timedelta(minutes=k), actor_id=person.id,
                             action="progress", from_state="in_progress", to_state="in_progress",
                             comment=f"第{k}次"))
        db.session.add(ProgressReport(issue_id=issue.id, period=f"{2000 + k}-01", percent=k % 101, text="进展",
                                      author_id=person.id, unit_id=units[k % len(units)].id, created_at=at,
                                      replaced_at=at if k % 3 == 0 else None))
        db.session.add(Attachment(issue_id=issue.id, sha256=f"{k:064d}", filename=f"材料{k}.pdf",
                                  content_type="application/pdf", size=100, uploaded_by_id=person.id,
                                  created_at=at))
