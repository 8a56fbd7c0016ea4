"""Template filters and globals: Chinese labels, local times, and `can(...)`, which asks the
permissions module what the signed-in user may do (templates never name a role)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Optional, Protocol
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from tracker.core import labels, permissions
from tracker.core.labels import LIGHT_LABELS, ROLE_LABELS


def local_time(value: Optional[datetime], fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a naive-UTC datetime in the app's time zone."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def ymd(value: Optional[date]) -> str:
    """Format a date as YYYY-MM-DD, or nothing."""
    return value.isoformat() if value else ""


class HasState(Protocol):
    """An issue, or a row of one, as state_label reads it."""

    @property
    def state(self) -> str: ...


def state_label(issue: HasState) -> str:
    """The state shown for an issue: where it waits in its approval chain ("待市级验收") when it is in
    one; a merged one says so."""
    label = getattr(issue, "waiting_label", None) or labels.STATE_LABELS.get(issue.state, issue.state)
    if getattr(issue, "merged_into_id", None):
        return f"{labels.MERGED_LABEL}·{label}"
    return label


def change_value(value: Any, field: str) -> str:
    """An edited field's old or new value as the timeline shows it (labels for codes, short text)."""
    if value is None or value == "" or value == []:
        return "(空)"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    kind = {"category": "category", "rectify_type": "rectify_type"}.get(field)
    text = labels.label(value, kind) if kind else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def can(what: str, subject: Any = None) -> bool:
    """Whether the signed-in user may do `what` (to `subject`): `{% if can("manage_issues") %}`."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    return permissions.can(current_user, what, subject)


def url_with(**changes: Any) -> str:
    """The current page's URL with some query arguments changed (for sorting and paging)."""
    endpoint = request.endpoint
    assert endpoint is not None, "url_with() needs a request matched to a view"
    args: dict[str, Any] = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["ymd"] = ymd
    app.jinja_env.filters["label"] = labels.label
    app.jinja_env.filters["change_value"] = change_value
    app.jinja_env.globals.update(
        state_label=state_label,
        can=can,
        url_with=url_with,
        STATE_LABELS=labels.STATE_LABELS,
        ACTION_LABELS=labels.ACTION_LABELS,
        EVENT_LABELS=labels.EVENT_LABELS,
        CATEGORIES=labels.CATEGORY_LABELS,
        RECTIFY_TYPES=labels.RECTIFY_TYPE_LABELS,
        LEVELS=labels.LEVEL_LABELS,
        ROUND_KINDS=labels.ROUND_KIND_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        LIGHT_LABELS=LIGHT_LABELS,
        ISSUE_FIELD_LABELS=labels.ISSUE_FIELD_LABELS,
        FIGURE_LABELS=labels.FIGURE_LABELS,
        HIDDEN_ISSUE_LABEL=labels.HIDDEN_ISSUE_LABEL,
    )
