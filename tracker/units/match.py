"""Suggest which of the tracker's units an unknown unit name means.

Plans and ledgers abbreviate: "住建局" for 市住建局, "达苏木" for 达来胡硕苏木, "沙街" for
沙尔呼热街道, "市生态环境局" for 市生态环境分局. A suggestion is only a suggestion: the user
confirms it (ledger import shows it in the error, plan import preselects it).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Optional


def _in_order(short: str, full: str) -> bool:
    """Whether every character of `short` appears in `full`, in order."""
    position = 0
    for char in short:
        position = full.find(char, position)
        if position < 0:
            return False
        position += 1
    return True


def suggest_unit(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The existing unit name `name` most likely abbreviates or misspells, or None.

    In order: an abbreviation (same first character, every character in order, as Chinese
    names are shortened), the one name containing it, then the closest by difflib.
    """
    name = (name or "").strip()
    names = [c for c in candidates if c]
    if not name or not names:
        return None
    if name in names:
        return name

    def ratio(candidate: str) -> float:
        return difflib.SequenceMatcher(None, name, candidate).ratio()

    # "市" alone is no evidence: compare what follows it too.
    abbreviated = [c for c in names if len(c) > len(name) and c[0] == name[0] and _in_order(name, c)
                   and (name[0] != "市" or len(name) == 1 or c.find(name[1], 1) > 0)]
    if abbreviated:
        return max(abbreviated, key=lambda c: (ratio(c), -len(c)))
    containing = [c for c in names if name in c]
    if len(containing) == 1:
        return containing[0]
    # 0.6: two names sharing only 市…局 (市城管局, 市住建局) are no match.
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return close[0] if close else None
