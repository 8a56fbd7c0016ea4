"""The tracker's closed vocabularies as `StrEnum`s: stored as their string values (with CHECK
constraints on the columns that hold them), compared and serialised as plain strings.

Labels (what users see) are in `tracker.core.labels`, never here.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a user is (see DOMAIN.md)."""

    UNIT_STAFF = "unit_staff"
    UNIT_HEAD = "unit_head"
    SUPERVISOR = "supervisor"
    APPROVER = "approver"
    LEADER = "leader"
    ADMIN = "admin"


# Roles that act for a responsible unit; the others act for an office or the system.
UNIT_ROLES = (Role.UNIT_STAFF, Role.UNIT_HEAD)
ROLES = tuple(Role)


class UnitLevel(StrEnum):
    """The level of government a unit belongs to: a government node, or a department taking its
    government's level (市生态环境局 is `city`). Offices sit at a level and serve its subtree."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWN = "town"


UNIT_LEVELS = tuple(UnitLevel)
# Lowest first: a level's rank says how high it sits (an approval step below the lead unit's
# level does not apply to it: a city department's issue skips 县级验收).
LEVEL_RANK: dict[str, int] = {UnitLevel.TOWN: 0, UnitLevel.COUNTY: 1, UnitLevel.CITY: 2, UnitLevel.PROVINCE: 3}
# Roles that may take a step of an approval chain (they serve an office, or the whole tree). Leaders read
# and are told; they sign nothing (DOMAIN.md).
CHAIN_ROLES = (Role.SUPERVISOR, Role.APPROVER)
# Office roles that serve an area of the unit tree (a user's unit is then the area node, whose subtree is
# their jurisdiction, 辖区) or, without one, the whole tree.
AREA_ROLES = (Role.SUPERVISOR, Role.APPROVER, Role.LEADER)


class ExtensionState(StrEnum):
    """Where a deadline extension request (延期申请) stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class State(StrEnum):
    """Where an issue stands in the verify-and-close (销号) workflow."""

    IN_PROGRESS = "in_progress"
    BASICALLY_DONE = "basically_done"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    CLOSED = "closed"


STATES = tuple(State)
# Being rectified: the states a unit reports in and an issue can be overdue in.
OPEN_STATES = (State.IN_PROGRESS, State.BASICALLY_DONE)


class Action(StrEnum):
    """A workflow action taken on an issue."""

    SUBMIT = "submit"
    VERIFY = "verify"
    APPROVE = "approve"
    RETURN = "return"
    REOPEN = "reopen"
    MARK_BASICALLY_DONE = "mark_basically_done"
    MERGE = "merge"


ACTIONS = tuple(Action)


class EscalationKind(StrEnum):
    """A reminder or escalation: the ladder's rungs (mildest first), the monthly report cycle, and the
    supervision order to a unit for too many yellow lights."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUPERVISION_ORDER = "supervision_order"
    INTERVIEW = "interview"
    REPORT_REMINDER = "report_reminder"
    REPORT_LATE = "report_late"
    UNIT_SUPERVISION = "unit_supervision"


# The kinds a ladder rung may have, in rising severity: a later rung may not be milder.
LADDER_KINDS = (EscalationKind.DUE_SOON, EscalationKind.OVERDUE, EscalationKind.SUPERVISION_ORDER,
                EscalationKind.INTERVIEW)
# Rungs that put an issue under supervision (挂牌督办): the order itself, and the interview / public
# notice beyond it (which may have superseded the order).
SUPERVISION_KINDS = (EscalationKind.SUPERVISION_ORDER, EscalationKind.INTERVIEW)


class EventKind(StrEnum):
    """What a timeline entry (流转记录) records: a workflow action, or something else that happened."""

    SUBMIT = "submit"
    VERIFY = "verify"
    APPROVE = "approve"
    RETURN = "return"
    REOPEN = "reopen"
    MARK_BASICALLY_DONE = "mark_basically_done"
    MERGE = "merge"
    CREATE = "create"
    EDIT = "edit"
    DEADLINE = "deadline"
    PROGRESS = "progress"
    EVIDENCE = "evidence"
    FOLLOW = "follow"
    MERGED_IN = "merged_in"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    # Deadline extensions (延期申请): asked for, and decided.
    EXTENSION_REQUEST = "extension_request"
    EXTENSION_APPROVE = "extension_approve"
    EXTENSION_REJECT = "extension_reject"
    # Written by the daily run, with no actor.
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUPERVISION_ORDER = "supervision_order"
    INTERVIEW = "interview"
    REPORT_REMINDER = "report_reminder"
    REPORT_LATE = "report_late"


class Category(StrEnum):
    """What kind of problem an issue is."""

    FEEDBACK = "feedback"
    KEY_CONCERN = "key_concern"
    PETITION = "petition"
    SELF_FOUND = "self_found"


class RectifyType(StrEnum):
    """How an issue is rectified."""

    IMMEDIATE = "immediate"
    DEADLINE = "deadline"
    LONG_TERM = "long_term"


class RoundLevel(StrEnum):
    """Who inspected: the central government, a province, a city."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"


class RoundKind(StrEnum):
    """What kind of inspection a round was."""

    REGULAR = "regular"
    LOOK_BACK = "look_back"
    SPECIAL = "special"


class Light(StrEnum):
    """An issue's traffic light (红黄绿灯)."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class DayMode(StrEnum):
    """How days are counted for deadlines and the ladder."""

    CALENDAR = "calendar"
    WORKING = "working"


class DigestFrequency(StrEnum):
    """How often a user gets the digest mail."""

    DAILY = "daily"
    WEEKLY = "weekly"
    NONE = "none"


class DeadlineSource(StrEnum):
    """What moved an issue's deadline."""

    EDIT = "edit"
    IMPORT = "import"
    EXTENSION = "extension"


class ActionMail(StrEnum):
    """How a user gets the mail of a notice of a workflow action: at once, or as a line of the next digest."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"


class NoticeKind(StrEnum):
    """What a notice (and its mail) is about: the escalations, the digests, and workflow actions."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUPERVISION_ORDER = "supervision_order"
    INTERVIEW = "interview"
    REPORT_REMINDER = "report_reminder"
    REPORT_LATE = "report_late"
    UNIT_SUPERVISION = "unit_supervision"
    DIGEST = "digest"
    # Workflow actions, told to whoever must act next.
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"
    APPROVED = "approved"
    REOPENED = "reopened"
    DEADLINE_CHANGED = "deadline_changed"
    # Deadline extensions: a request told to the deciding office, the decision to the unit.
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_DECIDED = "extension_decided"
    # The lines of action notices a user takes in the daily digest, in one mail.
    ACTION_DIGEST = "action_digest"
    # Account security (ASVS 2.2.3, 2.5.5): always mailed at once, whatever the user's preferences.
    PASSWORD_CHANGED = "password_changed"
    TOKENS_REVOKED = "tokens_revoked"
    # A right code of the second factor given again within its time (ASVS 2.8.5): someone may have it.
    MFA_CODE_REUSED = "mfa_code_reused"


class MailStatus(StrEnum):
    """Where a mail of the outbox stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class TaskState(StrEnum):
    """Where a background task stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# The problem domains (领域) an issue may belong to: stored as the Chinese words themselves.
DOMAINS = ("大气", "水", "土壤", "生态", "固废", "噪声", "辐射", "其他")
