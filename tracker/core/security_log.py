"""The security log (ASVS 7.1-7.2): one line per security-relevant event, never a secret in it.

Every sign-in, failed sign-in, sign-out, password change or reset, role change, token grant or
revocation, throttled attempt and refused access goes through `security_event`, under the logger
"tracker.security", so that a host can route these lines to their own file or collector. Each line
is `event=<name>` followed by `key=value` pairs in a fixed order; values are quoted with repr() so
that a username with spaces or control characters cannot forge a second line or a second field.
Passwords, tokens, session cookies and password hashes are never passed in: the keys below that
could carry one are refused outright, so a careless caller fails in tests instead of leaking.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("tracker.security")

# Keys that must never reach the log (a programming error if they do).
_SECRET_KEYS = frozenset({"password", "new_password", "current", "token", "secret", "cookie", "password_hash",
                          "totp", "totp_secret"})


def security_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Write one security event: `event=name key=value ...`; refuses secret-bearing keys."""
    leaked = _SECRET_KEYS.intersection(fields)
    if leaked:
        raise ValueError(f"security_event() must not be given secrets: {sorted(leaked)}")
    parts = [f"event={event}"]
    parts.extend(f"{key}={_quoted(value)}" for key, value in fields.items())
    log.log(level, " ".join(parts))


def _quoted(value: Any) -> str:
    # Numbers and None print bare; everything else through repr(), which escapes newlines and
    # control characters, so one event is always one line.
    if value is None or isinstance(value, (int, float)):
        return str(value)
    return repr(str(value))
