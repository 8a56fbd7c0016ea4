"""What happens to a user's credentials, as domain events: published by `tracker.accounts.services`
in the transaction of the change, so that the notice and mail that tell the user of it (ASVS 2.2.3,
2.5.5; `tracker.notify.security`) are written with it, or not at all."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tracker.core.events import DomainEvent

# Who made the change: the user themself, an admin (on a page or through the API), or the command line.
SELF, ADMIN, CLI = "self", "admin", "cli"


@dataclass(frozen=True)
class CredentialsChanged(DomainEvent):
    """A user's password was changed (`what` "password"), every API token of theirs was revoked
    by someone else (`what` "tokens"), or a code of their second factor was given again after it had
    been used (`what` "mfa_reused": someone else may be reading their codes, ASVS 2.8.5).

    `how` is SELF, ADMIN or CLI; `ip` the address the change came from, when known (None from the
    command line); `ref` names this change uniquely for the user (the notice's and mail's key);
    `tokens` how many live tokens were revoked with it.
    """

    user_id: int
    what: str
    how: str
    ref: str
    ip: Optional[str] = None
    tokens: int = 0
