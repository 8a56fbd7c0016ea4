"""Text as it enters the tracker: invisible characters that break exports and displays removed.

One function, `clean_text`, is applied wherever text comes in: every WTForms form
(`tracker.core.forms`), the API's JSON and multipart fields (`tracker.core.schemas`), and the
ledger and plan imports. A single control character typed or pasted into a progress report
(U+000B, the vertical tab Word puts in copied text) used to make every .xlsx export fail, since
XML 1.0 (and so Excel) cannot hold it; a lone surrogate from a JSON "\\ud800" cannot even be
stored as UTF-8.

What is removed is what a reader cannot see anyway, so stored text keeps what the user saw:

- C0 control characters except tab and line feed (CR LF and a lone CR become LF), DEL,
  and C1 control characters (U+0080-U+009F);
- lone surrogates (U+D800-U+DFFF), which are no characters at all;
- noncharacters (U+FDD0-U+FDEF and U+xxFFFE/U+xxFFFF of every plane), which XML refuses;
- the byte order mark / zero-width no-break space U+FEFF, pasted along from files;
- the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069),
  which make text display in another order than it is stored ("Trojan Source") and have no
  use in the tracker's Chinese texts.

A one-line field (`multiline=False`) also turns tabs and line breaks into spaces.
"""
from __future__ import annotations

import re
from typing import Any, overload

# Everything `clean_text` removes from any text (tab, LF and CR are handled on their own).
_INVISIBLE = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 except \t \n \r, DEL, C1
    "\ud800-\udfff"  # lone surrogates
    "\ufdd0-\ufdef\ufffe\uffff"  # noncharacters of the basic plane
    "\ufeff"  # BOM / zero-width no-break space
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides, isolates
)
# Noncharacters of the supplementary planes: U+1FFFE, U+1FFFF ... U+10FFFE, U+10FFFF.
_PLANE_NONCHARACTERS = "".join(chr((plane << 16) | low) for plane in range(1, 17) for low in (0xFFFE, 0xFFFF))
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}{_PLANE_NONCHARACTERS}]")
_LINE_BREAKS_RE = re.compile(r"\r\n?")
_ONE_LINE_RE = re.compile(r"[\t\n]")


@overload
def clean_text(value: str, multiline: bool = ...) -> str: ...


@overload
def clean_text(value: Any, multiline: bool = ...) -> Any: ...


def clean_text(value: Any, multiline: bool = True) -> Any:
    """`value` without invisible troublemakers (see the module docstring); anything not a str as is.

    With `multiline` (text areas, descriptions, reports) tabs and line feeds stay, CR LF and CR
    become LF; without it (names, codes, titles) tabs and line breaks become spaces.
    """
    if not isinstance(value, str):
        return value
    text = _LINE_BREAKS_RE.sub("\n", value)
    text = _INVISIBLE_RE.sub("", text)
    if not multiline:
        text = _ONE_LINE_RE.sub(" ", text)
    return text


def clean_line(value: Any) -> Any:
    """`clean_text` for a one-line value (a WTForms filter, a marshmallow field's load)."""
    return clean_text(value, multiline=False)
