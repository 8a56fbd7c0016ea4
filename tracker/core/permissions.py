"""Units, users, rounds, sign-in and API tokens."""
from __future__ import annotations

from typing import Optional
from tracker.accounts.models import User
from tracker.core.errors import Refusal


def _require(actor: Optional[User], roles: tuple[str, ...], what: str) -> None:
    if actor is not None and actor.role not in roles:
        raise Refusal("forbidden", f"您的角色无权{what}。")
