"""Signing in, shared by the page (POST /login) and the API (POST /api/v1/auth/token): throttling of
failed attempts (F1 of issue 9) and the security log's sign-in events (F13).

Failed sign-ins are counted per account (the username tried, stripped and lower-cased, whether or
not it exists) against LOGIN_LIMITS, layered windows (by default 5 a minute, 10 a quarter hour,
20 an hour) so that the wait grows with repeated failures, and per client address against
LOGIN_ADDRESS_LIMITS (300 an hour), high enough that an office of 200 people behind one NAT
address signing in at 9:00 is never stopped by one attacked account. Successful sign-ins count
for nothing and reset nothing. While any of its limits is reached an attempt is refused (429) before
the password is looked at, the right password too, until the window ends.

The counters are kept by tracker.core.throttle (Redis or the database, shared by all processes).
The client address is `request.remote_addr`, which ProxyFix sets from the proxy's header.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Optional

from flask import current_app
from limits import RateLimitItem

from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.core import throttle
from tracker.core.extensions import DbSession
from tracker.core.security_log import security_event


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: the user, or none; `wait` > 0 seconds when it was throttled."""

    user: Optional[User]
    wait: int = 0

    @property
    def message(self) -> str:
        """What to tell the person (in Chinese)."""
        if self.wait:
            return throttled_message(self.wait)
        return "用户名或密码不正确。"


def throttled_message(wait: int) -> str:
    """The throttled answer: how many whole minutes to wait (at least one)."""
    return f"尝试次数过多,请 {max(1, math.ceil(wait / 60))} 分钟后再试。"


def account_key(username: Any) -> str:
    """The account a username names for counting: stripped, lower-cased, at most 100 characters."""
    return str(username or "").strip().lower()[:100]


def _limits() -> tuple[list[RateLimitItem], list[RateLimitItem]]:
    config = current_app.config
    return throttle.limits_of(config["LOGIN_LIMITS"]), throttle.limits_of(config["LOGIN_ADDRESS_LIMITS"])


def login_wait(username: Any, ip: Optional[str]) -> int:
    """Seconds before this account may be tried again from this address (0: now)."""
    per_account, per_address = _limits()
    return max(throttle.wait_seconds(per_account, "login", "account", account_key(username)),
               throttle.wait_seconds(per_address, "login", "address", str(ip or "-")))


def count_failure(username: Any, ip: Optional[str]) -> None:
    """Count one failed sign-in against the account and the address."""
    per_account, per_address = _limits()
    throttle.count(per_account, "login", "account", account_key(username))
    throttle.count(per_address, "login", "address", str(ip or "-"))


def sign_in(session: DbSession, username: Any, password: Any, ip: Optional[str], via: str) -> SignIn:
    """Check a sign-in attempt (`via` "page" or "api"): throttled, refused or accepted, and logged.

    Writes nothing to the session; the caller signs the user in (or issues a token) and commits.
    """
    name = str(username or "").strip()
    wait = login_wait(name, ip)
    if wait:
        security_event("login_throttled", level=logging.WARNING, username=name, ip=ip, via=via, wait=wait)
        return SignIn(None, wait)
    found = accounts.check_credentials(session, name, password)
    if found.user is None:
        count_failure(name, ip)
        security_event("login_failed", level=logging.WARNING, username=name, ip=ip, via=via, reason=found.reason)
        return SignIn(None)
    security_event("login", user=found.user.username, ip=ip, via=via)
    return SignIn(found.user)
