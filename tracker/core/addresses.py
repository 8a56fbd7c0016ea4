"""E-mail addresses: the one rule for what the tracker stores and mails to (strict enough for a header)."""
from __future__ import annotations

import re
from typing import Any, Optional

from tracker.core.errors import Refusal


def checked_email(value: Any, field: str = "email") -> Optional[str]:
    """The address typed, trimmed; None when blank; refused (on `field`) unless mail can be sent to it."""
    value = str(value or "").strip()
    if not value:
        return None
    # The mail code's own rule: an address stored here must be one mail can be sent to.
    if len(value) > 200 or not valid_address(value):
        raise Refusal("invalid", f"邮箱地址「{value}」格式不正确。", field)
    return value


# Strict enough for a header: dot-atom local part and a dotted domain of letters, digits, hyphens.
_ADDR = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def valid_address(addr: Optional[str]) -> bool:
    """Whether `addr` is a plain address that is safe to put in a header."""
    return bool(addr) and len(addr) <= 254 and _ADDR.match(addr) is not None


def normalize_address(addr: Optional[str]) -> Optional[str]:
    """The address trimmed with its domain lower-cased, or None when it is not a safe address."""
    addr = (addr or "").strip()
    if not valid_address(addr):
        return None
    local, _, domain = addr.rpartition("@")
    return f"{local}@{domain.lower()}"
