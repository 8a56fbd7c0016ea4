"""What the escalation domain does when something happens to an issue, in the same transaction.

- A progress report filed after its period's due day is marked late as it arrives
  (`monthly.mark_if_late`); the daily run does the same for any report it missed.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tracker.core import events
from tracker.escalation.monthly import mark_if_late
from tracker.escalation.settings import get_settings
from tracker.issues.events import ProgressReported
from tracker.issues.models import ProgressReport


@events.subscribe(ProgressReported)
def mark_a_late_report(session: Session, event: ProgressReported) -> None:
    """Mark the report's period late for the issue when it came after the due day."""
    report = session.get(ProgressReport, event.report_id)
    if report is None:
        return
    mark_if_late(session, report, get_settings(session), ZoneInfo(event.timezone))
    session.flush()
