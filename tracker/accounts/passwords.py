"""The password policy (ASVS 4.0 V2.1): long enough, not too long, not common, not the username.

- At least MIN_LENGTH (12) characters (2.1.1) and at most MAX_LENGTH (128; 2.1.2 asks for 64 at least).
  Length is counted in characters (Unicode code points), whatever the script: a Chinese password
  needs 12 characters too. A Chinese character carries more guesses than a Latin letter, but people
  pick phrases, and a 9-character slogan ("整改销号要按时完成") is as guessable as a short English
  one; one rule for everyone is also the one users can be told plainly.
- No composition rules (2.1.9): any printable character of any script, spaces included (2.1.4);
  only control characters (newlines, tabs, NUL) are refused, as they come from pasting by mistake.
  Nothing is trimmed or truncated: the password is hashed as typed.
- Not in the list of common passwords shipped beside this module (2.1.7), compared case-insensitively:
  common-passwords.txt.gz is Django's list (BSD licence), the 20,000 most common passwords of Royce
  Williams' compilation (lower-cased, deduplicated), from django/contrib/auth of Django 5.2.
- Not the username (case-insensitively).

The policy applies to what people type: creating a user (page, API, command line), changing one's
password and an admin's reset. The demo writes its accounts' hashes directly (tracker/demo.py), so its
printed password "demo1234" keeps working there.
"""
from __future__ import annotations

import functools
import gzip
import unicodedata
from pathlib import Path
from typing import Any, Optional

from tracker.core.errors import Refusal

MIN_LENGTH = 12
MAX_LENGTH = 128

COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")

TOO_SHORT = f"密码至少 {MIN_LENGTH} 个字符(汉字、字母、数字、空格和符号各算一个字符);可以用一句好记的话。"
TOO_LONG = f"密码不能超过 {MAX_LENGTH} 个字符。"
CONTROL = "密码不能包含换行、制表符等控制字符。"
COMMON = "这是常见密码,很容易被猜中,请换一个。"
USERNAME = "密码不能与用户名相同。"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (read once per process)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_password(password: Any, username: Optional[str] = None, field: str = "password") -> None:
    """Refuse (422, on `field`) a password that breaks the policy, naming the rule it breaks."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise Refusal("invalid", TOO_SHORT, field)
    if len(password) > MAX_LENGTH:
        raise Refusal("invalid", TOO_LONG, field)
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise Refusal("invalid", CONTROL, field)
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise Refusal("invalid", COMMON, field)
    if username and folded == str(username).strip().casefold():
        raise Refusal("invalid", USERNAME, field)
