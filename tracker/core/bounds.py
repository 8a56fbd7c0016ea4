"""What a request may carry into the database, checked where every request passes (ASVS 5.1.3, 13.2.2).

The database refuses what Python takes in its stride: an id past PostgreSQL's `integer` (SQLite:
past 64 bits), a NUL character in a string, a date before year 1. Left to reach it, such input
answered 500. Here, in one place for pages and API alike:

- Ids in paths: the app's `int` URL converter is `IdConverter`, bounded to the `integer` column
  range, so /issues/99999999999999999999 matches no route and answers 404 (and the API document
  says `maximum: 2147483647` for every id in a path).
- Numbers in query strings: `whole_number` (ASCII digits, bounded) and `page_number` (1 to
  `MAX_PAGE`); the API's query schemas bound their integers the same way.
- Query strings and paths: a control character (NUL included) in a query argument is refused with
  400 and a Chinese message before any view runs, and one in a path answers 404
  (`refuse_control_characters`), on SQLite and PostgreSQL alike; the API document says so with a
  pattern on every free-text query argument.
- JSON bodies: at most `MAX_JSON_DEPTH` levels of arrays and objects (`json_depth`).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

from tracker.core.errors import Refusal

# PostgreSQL's `integer`: every id and count column of the tracker is one.
DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1

# The highest page number a list accepts: far past any real list (100,000 pages of 100 issues),
# and small enough that (page - 1) * per_page stays an ordinary OFFSET.
MAX_PAGE = 100_000

# Levels of nested arrays and objects a JSON body may have: the API's bodies need three.
MAX_JSON_DEPTH = 32

PAGE_MESSAGE = f"页码应为 1 到 {MAX_PAGE} 的整数。"
CONTROL_MESSAGE = "网址中含有控制字符(如 NUL),请检查链接或查询条件后重试。"
TOO_DEEP_MESSAGE = f"请求体嵌套层数过多(不能超过 {MAX_JSON_DEPTH} 层)。"

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_SIGNED = re.compile(r"-?[0-9]+", re.ASCII)
# C0 controls and DEL: nothing a person types into a search box or a link; PostgreSQL refuses NUL.
CONTROL_CHARACTERS = "\\x00-\\x1f\\x7f"
_CONTROLS = re.compile(f"[{CONTROL_CHARACTERS}]")
# A JSON Schema pattern for text without them (the API's free-text query arguments).
NO_CONTROLS_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"


def digits_upto(limit: int) -> str:
    """A regular expression matching the decimal numbers 0 to `limit` (ASCII digits; leading zeros
    only below `limit`'s length), e.g. for 250: (?:[0-9]{1,2}|[1-1][0-9]{2}|2[0-4][0-9]{1}|250)."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, char in enumerate(text):
        low = 1 if i == 0 and len(text) > 1 else 0
        if int(char) > low:
            rest = len(text) - i - 1
            parts.append(text[:i] + f"[{low}-{int(char) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """werkzeug's `int` converter, bounded to the database's integer range: a larger id matches no
    route (404) instead of reaching the database.

    The bound is in the converter's regular expression, not only in `max`: werkzeug checks `max`
    after a rule's path has matched, and a path that matched a rule for another method then answers
    405 (PATCH /api/v1/issues/99999999999) where 404 is right.
    """

    regex = digits_upto(DB_INT_MAX)

    def __init__(self, map: Map, fixed_digits: int = 0, min: Optional[int] = None,
                 max: Optional[int] = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=DB_INT_MAX if max is None or max > DB_INT_MAX else max, signed=signed)


def whole_number(raw: Optional[str], *, minimum: int = 0, maximum: int = DB_INT_MAX) -> Optional[int]:
    """`raw` as an int if it is ASCII digits (after stripping) within [minimum, maximum], else None."""
    text = (raw or "").strip()
    if not _DIGITS.fullmatch(text) or len(text) > 20:
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def signed_number(raw: str) -> Optional[int]:
    """`raw` as an int if it is an optional minus and ASCII digits (no "+", "_", spaces or other
    scripts' digits, which Python's int() would take), else None."""
    if not _SIGNED.fullmatch(raw) or len(raw) > 4000:
        return None
    return int(raw)


def page_number(raw: Optional[str]) -> Optional[int]:
    """A list's page number from the query string: 1 to MAX_PAGE, else None."""
    return whole_number(raw, minimum=1, maximum=MAX_PAGE)


def json_depth(data: Any) -> int:
    """How deeply arrays and objects nest in parsed JSON (a scalar is 0); counted without recursion."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth  # deep enough to refuse: stop counting
        stack.extend((child, depth + 1) for child in children)
    return deepest


def refuse_control_characters() -> None:
    """The app's first `before_request`: a path with a control character names nothing (404); a
    query argument with one is refused (400). Nobody types one into a search box or a link, and
    PostgreSQL refuses NUL in a string."""
    if _CONTROLS.search(request.path):
        abort(404)
    if any(_CONTROLS.search(key) or _CONTROLS.search(value) for key, value in request.args.items(multi=True)):
        raise Refusal("bad_request", CONTROL_MESSAGE)


def init_app(app: Flask) -> None:
    """Bound the app's `int` URL converter and refuse control characters; before any route is added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_control_characters)
