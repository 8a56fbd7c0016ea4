"""Refusals: why an action was not taken, with the HTTP status it answers with."""
from __future__ import annotations

from typing import Optional

# Said when someone else changed the record between reading and writing it (a lost race).
STALE_MESSAGE = "该问题刚被他人修改过,请刷新页面后重试。"


class Refusal(Exception):
    """An action refused; `kind` says how (forbidden, conflict, invalid ... -> 403, 409, 422 ...)."""

    STATUS = {
        "bad_request": 400,
        "forbidden": 403,
        "not_found": 404,
        "conflict": 409,
        "too_large": 413,
        "unsupported_media_type": 415,
        "invalid": 422,
        "over_quota": 429,
        # A service the action needs is down (the upload scanner): nothing was kept, try again later.
        "unavailable": 503,
    }

    def __init__(self, kind: str, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field

    @property
    def status(self) -> int:
        """The HTTP status this refusal answers with."""
        return self.STATUS[self.kind]


class Precondition(Refusal):
    """A refusal only for something the user can still supply (a report, evidence): the page shows
    the action with this reason, so the user knows what to do next."""

    def __init__(self, message: str):
        super().__init__("conflict", message)
