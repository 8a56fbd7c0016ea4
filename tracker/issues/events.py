"""What happens to an issue, as domain events: published by `tracker.issues.services` in the
transaction of the change, after its timeline entry is written.

Each event names the issue and, where there is one, the timeline entry (`entry_id`) that
records it: subscribers key what they write on it (one notice and one mail per entry and person).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from tracker.core.events import DomainEvent


@dataclass(frozen=True)
class IssueEvent(DomainEvent):
    """Something that happened to one issue."""

    issue_id: int
    entry_id: Optional[int] = None


@dataclass(frozen=True)
class IssueCreated(IssueEvent):
    """An issue was registered (by hand, from a ledger or from a plan)."""


@dataclass(frozen=True)
class IssueEdited(IssueEvent):
    """An issue's fields were changed: `changes` maps each field to (old, new)."""

    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineChanged(IssueEvent):
    """An issue's deadline moved (an edit, a ledger import, an extension), with why."""

    old: Optional[date] = None
    new: Optional[date] = None
    reason: Optional[str] = None
    source: str = "edit"


@dataclass(frozen=True)
class ProgressReported(IssueEvent):
    """A unit filed a progress report for a period."""

    report_id: int = 0
    period: str = ""
    # The time zone the report's lateness is judged in (config TIMEZONE).
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class EvidenceAdded(IssueEvent):
    """A unit uploaded an evidence file."""

    attachment_id: int = 0


@dataclass(frozen=True)
class IssueTransitioned(IssueEvent):
    """A workflow action was taken: `action` from `from_state` to `to_state`, with its comment."""

    action: str = ""
    from_state: Optional[str] = None
    to_state: Optional[str] = None
    comment: Optional[str] = None


@dataclass(frozen=True)
class PublicationChanged(IssueEvent):
    """The office marked an issue for the public page, or took it off."""

    public: bool = False


@dataclass(frozen=True)
class ExtensionRequested(IssueEvent):
    """The lead unit's head asked for a later deadline (延期申请): from `old` to `new`, with why."""

    request_id: int = 0
    old: Optional[date] = None
    new: Optional[date] = None
    reason: str = ""


@dataclass(frozen=True)
class ExtensionDecided(IssueEvent):
    """The office decided an extension request: approved (with the date `granted`) or rejected (with why)."""

    request_id: int = 0
    approved: bool = False
    asked: Optional[date] = None
    granted: Optional[date] = None
    old: Optional[date] = None
    reason: Optional[str] = None
