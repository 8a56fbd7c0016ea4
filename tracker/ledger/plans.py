"""Find the tasks of a plan written as plain text.

Pure: no Flask, no database. `parse_plan(text, year=None)` returns a `Plan` whose
`tasks` are the paragraphs that name responsible units, each with its lead and
cooperating units and its deadline.

Rules (chosen from the two real plans in tests/fixtures/plans):

* **What is a task.** Every paragraph that ends with a responsibility bracket is a
  task, numbered or not: "(责任单位:A、B)", "(A牵头,B参与)" / "配合", "(A、B按职责分工负责)",
  or a bare "(A、B)" whose every name looks like a unit. Numbered paragraphs
  (一、 (一) 1. (1) ①, full- or half-width) without units are headings; those with
  body text and no task under them are returned in `Plan.unassigned`, so that
  nothing is dropped silently.
* **Numbering.** A task's number is the path of its enclosing headings joined with
  ".", markers normalised to half-width: "二.(一).1.(1)". A numbered paragraph that
  is itself a task gets that path; unnumbered tasks under a heading get the path
  plus "-k", where k counts the tasks under that heading, the heading's own task (if
  any) being the first: "(1)" then "(1)-2", "(1)-3"; under a heading that is no
  task the first is "-1". Tasks before any heading are numbered "1", "2", ...
  Heading levels follow the order in which each marker style first appears.
* **Units.** The one marked 牵头 leads (several may); otherwise the first named.
  The rest cooperate. Lists abbreviate: a "市" (or 区/县/旗/盟) prefix of the first
  unit carries to later names that lack one, except names of townships, streets
  and villages (苏木, 街道, 镇, 乡, 村, 社区 ...) and collective names (各…, 相关…).
  "市场…", "市容…", "市政…" do not start with the prefix 市.
* **Deadlines.** Phrases "2020年6月底前", "6月底前", "年底前", "到2020年底",
  "2020年6月30日前", "到2025年" and a year opening a clause ("2017年,…") are read with
  the plan's year; a month means its last day, a year December 31. An item may set
  several dates (a stage, then the end); the task's deadline is the LATEST of
  them, and `deadline_text` the phrase that set it. A phrase needing the plan's
  year when none is known keeps its text with `deadline=None`.
* **Damage.** Scraped text loses brackets and characters. A missing opening or
  closing bracket, a "责任单位:" label without brackets, a label without its colon,
  or a bare unit list after the last sentence without brackets still give the
  units; such tasks have `damaged=True` and a note saying what was repaired.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

# One-to-one character map, so indices in the normalised text are indices in the original.
_FULL_TO_HALF = str.maketrans({
    "（": "(", "）": ")", "：": ":", "，": ",", "；": ";", "．": ".", "\u3000": " ",
    "\xa0": " ", "﹝": "(", "﹞": ")", "〔": "(", "〕": ")",
})

_CN_DIGITS = "一二三四五六七八九十"
_HEADING_PATTERNS = (
    ("cn", re.compile(rf"^([{_CN_DIGITS}]{{1,3}})\s*[、.]\s*")),
    ("paren_cn", re.compile(rf"^\(\s*([{_CN_DIGITS}]{{1,3}})\s*\)\s*")),
    ("paren_arabic", re.compile(r"^\(\s*(\d{1,2})\s*\)\s*")),
    ("arabic_paren", re.compile(r"^(\d{1,2})\)\s*")),
    ("arabic", re.compile(r"^(\d{1,2})\s*[.、](?!\d)\s*")),
    ("circled", re.compile(r"^([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])\s*")),
)

_LABEL_WORDS = ("责任", "单位", "部门", "牵头", "负责")
_LEAD_MARKS = ("牵头",)
_COOP_MARKS = ("参与", "配合", "协助", "协同", "参加")
_TRAILING_DUTY = ("按职责分工负责", "按照职责分工负责", "按职责负责", "分工负责", "负责落实", "负责")
_UNIT_SUFFIXES = (
    "办", "局", "委", "站", "村", "中心", "队", "所", "会", "场", "室", "检", "部", "厅", "院",
    "处", "科", "街", "道", "木", "镇", "乡", "政府", "公司", "组", "社区", "嘎查", "署", "团",
    "区", "县", "旗", "盟", "校", "馆", "台", "协", "联", "司", "行", "社",
)
_COLLECTIVE_PREFIXES = ("各", "相关", "有关", "全")
_LOCAL_SUFFIXES = ("苏木", "街道", "街", "镇", "乡", "村", "嘎查", "社区", "农场")
_ADMIN_PREFIXES = ("市", "区", "县", "旗", "盟")
_NOT_PREFIXED = ("市场", "市容", "市政")  # words that merely start with 市
_BAD_UNIT_CHARS = set("。;:()《》“”\"%!?")

_END_MARK = r"(?:底之前|底以前|底前|末前|底|末|之前|以前|前)"
_DEADLINE_RE = re.compile(
    rf"(?:到|至)?(?P<y1>\d{{4}})年(?P<m1>\d{{1,2}})月(?:(?P<d1>\d{{1,2}})日)?{_END_MARK}"
    rf"|(?:到|至)?(?P<y2>\d{{4}})年{_END_MARK}"
    rf"|(?:到|至)?(?<![\d年])(?P<m3>\d{{1,2}})月(?:(?P<d3>\d{{1,2}})日)?{_END_MARK}"
    rf"|(?<![\d今明])(?P<ye>年)(?:底之前|底前|末前|底|末)"
    r"|(?:到|至)(?P<y5>\d{4})年(?![\d月底末度])"
    r"|(?<![^。;,!\s])(?P<y6>\d{4})年(?![\d月底末度以来内前])"
)


@dataclass
class Task:
    """One task of a plan: its text, units and deadline."""

    number: str
    text: str
    lead_units: list[str] = field(default_factory=list)
    cooperating_units: list[str] = field(default_factory=list)
    deadline: Optional[date] = None
    deadline_text: Optional[str] = None
    damaged: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        """All units, lead first."""
        return self.lead_units + self.cooperating_units


@dataclass
class Plan:
    """A parsed plan: its year, its tasks, and numbered items that named no units."""

    year: Optional[int]
    title: Optional[str] = None
    dated: Optional[date] = None  # the date the plan was issued, when a line gives it
    tasks: list[Task] = field(default_factory=list)
    unassigned: list[Task] = field(default_factory=list)


# ---------------------------------------------------------------- units

def _looks_like_unit(name: str) -> bool:
    """A short name without sentence punctuation that ends like an organisation."""
    if not 1 <= len(name) <= 20 or any(ch in _BAD_UNIT_CHARS for ch in name):
        return False
    if any(ch.isdigit() for ch in name):
        return False
    return name.startswith(_COLLECTIVE_PREFIXES) or name.endswith(_UNIT_SUFFIXES)


def _admin_prefix(name: str) -> Optional[str]:
    """The administrative prefix a unit name starts with (市生态环境分局 -> 市), if any."""
    if name.startswith("市市") or name.startswith(("市政府", "市政协")):
        return "市"
    if name.startswith(_NOT_PREFIXED):
        return None
    for prefix in _ADMIN_PREFIXES:
        if name.startswith(prefix) and len(name) > 2:
            return prefix
    return None


def _takes_prefix(name: str) -> bool:
    """Whether an abbreviated name in a list inherits the list's prefix."""
    if name.startswith(_COLLECTIVE_PREFIXES) or name.endswith(_LOCAL_SUFFIXES):
        return False
    return _admin_prefix(name) is None and not name.startswith(("自治区", "省", "镇"))


def _split_names(text: str) -> list[str]:
    text = re.sub(r"…+|\.{3,}", "、", text)
    names = []
    for piece in re.split(r"[、,;/\s]+", text):
        piece = piece.strip(" .、")
        if piece.endswith("等") and len(piece) > 2:
            piece = piece[:-1]
        if piece:
            names.append(piece)
    return names


def parse_units(content: str) -> tuple[list[str], list[str]]:
    """Lead and cooperating units from a bracket's content (without brackets or label).

    "A牵头,B、C参与" -> ([A], [B, C]); "A、B按职责分工负责" -> ([A], [B]); the prefix of
    the first unit carries to later abbreviated names.
    """
    content = content.translate(_FULL_TO_HALF).strip()
    for tail in _TRAILING_DUTY:
        if content.endswith(tail) and len(content) > len(tail):
            content = content[: -len(tail)]
            break
    named: list[tuple[str, str]] = []  # (name, role) with role in lead/coop/plain
    for segment in re.split(r"[,;]", content):
        segment = segment.strip()
        role = "plain"
        for mark in _LEAD_MARKS:
            if segment.endswith(mark):
                role, segment = "lead", segment[: -len(mark)]
        for mark in _COOP_MARKS:
            if segment.endswith(mark):
                role, segment = "coop", segment[: -len(mark)]
        for name in _split_names(segment):
            named.append((name, role))
    if not named:
        return [], []
    prefix = _admin_prefix(named[0][0])
    if prefix:
        named = [(prefix + n if _takes_prefix(n) else n, r) for n, r in named]
    names = []
    for name, role in named:  # a unit named twice counts once, at its first place
        if name not in [n for n, _ in names]:
            names.append((name, role))
    if any(role == "lead" for _, role in names):
        lead = [n for n, r in names if r == "lead"]
        return lead, [n for n, r in names if r != "lead"]
    return [names[0][0]], [n for n, _ in names[1:]]


def _matching_open(norm: str, close: int) -> int:
    """Index of the "(" matching the ")" at `close`, or -1."""
    depth = 0
    for i in range(close, -1, -1):
        if norm[i] == ")":
            depth += 1
        elif norm[i] == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1


_LABEL_RE = re.compile(r"^\s*([^:()]{1,8}?)\s*:\s*(.*)$", re.S)
_LABEL_NO_COLON_RE = re.compile(r"^(责任单位|责任部门|牵头单位|责任单|任单位|责任)(?!:)(.+)$", re.S)


def _classify(content: str) -> Optional[tuple[list[str], list[str], list[str]]]:
    """Units in a bracket's content, with damage notes; None when it names no units."""
    notes: list[str] = []
    match = _LABEL_RE.match(content)
    if (match and any(word in match.group(1) for word in _LABEL_WORDS)) or (
        match and any(ch in match.group(1) for ch in "责任位")
    ):
        body = match.group(2)
        if match.group(1).strip() not in ("责任单位", "责任部门", "牵头单位", "责任主体", "负责单位"):
            notes.append(f"标签“{match.group(1).strip()}”不完整")
    else:
        nocolon = _LABEL_NO_COLON_RE.match(content)
        if nocolon:
            body = nocolon.group(2)
            notes.append("责任单位后缺少冒号")
        else:
            body = content
            names = _split_names(re.sub(r"(牵头|参与|配合|协助|协同|参加|按职责分工负责|分工负责|负责)", "、", content))
            if not names or not all(_looks_like_unit(n) for n in names) or len(content) > 120:
                return None
    lead, coop = parse_units(body)
    if not lead:
        return None
    return lead, coop, notes


def _units_at_end(norm: str) -> Optional[tuple[int, list[str], list[str], list[str]]]:
    """Find the units a paragraph ends with: (start index, lead, coop, damage notes) or None."""
    stripped = norm.rstrip(" 。.;")
    end = len(stripped)
    if end == 0:
        return None
    if stripped.endswith(")"):
        start = _matching_open(stripped, end - 1)
        if start >= 0:
            found = _classify(stripped[start + 1: end - 1])
            if found:
                return (start, *found)
        else:  # opening bracket lost: "…。责任单位:A、B)" or "…。A、B)"
            found = _bare_tail(stripped[:-1])
            if found:
                start, lead, coop, notes = found
                return start, lead, coop, [*notes, "缺少左括号"]
    # Closing bracket lost: "…(责任单位:A、B"
    open_at = stripped.rfind("(")
    if open_at >= 0 and ")" not in stripped[open_at:]:
        found = _classify(stripped[open_at + 1:])
        if found:
            lead, coop, notes = found
            return open_at, lead, coop, [*notes, "缺少右括号"]
    found = _bare_tail(stripped)
    if found:
        start, lead, coop, notes = found
        return start, lead, coop, [*notes, "缺少括号"]
    return None


_LABELLED_TAIL_RE = re.compile(r"(?<![^。;,)\s])(责任单位|责任部门|牵头单位|责任单|任单位)\s*:?\s*([^()。;:]*)$")


def _bare_tail(text: str) -> Optional[tuple[int, list[str], list[str], list[str]]]:
    """Units written after the last sentence without brackets: "…。责任单位:A、B" or "…。A、B"."""
    labelled = _LABELLED_TAIL_RE.search(text)
    if labelled and labelled.group(2).strip():
        lead, coop = parse_units(labelled.group(2))
        # Without brackets the label alone proves little ("由各责任单位逐项梳理…"): names must look like units.
        if lead and all(_looks_like_unit(n) for n in _split_names(labelled.group(2))):
            return labelled.start(), lead, coop, []
    cut = max(text.rfind("。"), text.rfind(";"), text.rfind(")"))
    if cut < 0:
        return None
    tail = text[cut + 1:]
    if not tail.strip():
        return None
    found = _classify(tail.strip())
    if found and not _LABEL_RE.match(tail):
        lead, coop, notes = found
        return cut + 1, lead, coop, notes
    return None


# ---------------------------------------------------------------- deadlines

def _month_end(year: int, month: int) -> Optional[date]:
    if not 1 <= month <= 12:
        return None
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_deadline(text: str, year: Optional[int] = None) -> tuple[Optional[date], Optional[str]]:
    """The latest deadline a text sets, and the phrase that set it.

    Returns (None, None) when the text has no deadline phrase, and (None, phrase)
    when the phrase needs the plan's year and none is known.
    """
    norm = text.translate(_FULL_TO_HALF)
    best: Optional[tuple[date, str]] = None
    undated: Optional[str] = None
    for match in _DEADLINE_RE.finditer(norm):
        phrase = text[match.start(): match.end()]
        g = match.groupdict()
        found: Optional[date] = None
        try:
            if g["y1"]:
                if g["d1"]:
                    found = date(int(g["y1"]), int(g["m1"]), int(g["d1"]))
                else:
                    found = _month_end(int(g["y1"]), int(g["m1"]))
            elif g["y2"] or g["y5"] or g["y6"]:
                found = date(int(g["y2"] or g["y5"] or g["y6"]), 12, 31)
            elif g["m3"]:
                if year is None:
                    undated = undated or phrase
                    continue
                if g["d3"]:
                    found = date(year, int(g["m3"]), int(g["d3"]))
                else:
                    found = _month_end(year, int(g["m3"]))
            elif g["ye"]:
                if year is None:
                    undated = undated or phrase
                    continue
                found = date(year, 12, 31)
        except ValueError:  # "2月30日": not a date; keep looking
            found = None
        if found and (best is None or found >= best[0]):
            best = (found, phrase)
    if best:
        return best
    return None, undated


# ---------------------------------------------------------------- the plan

_TITLE_WORDS = ("计划", "方案", "意见", "措施", "清单")


def find_year(text: str) -> Optional[int]:
    """The plan's year: the last year in its title, else the year of a dated line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines[:15]:
        if len(line) <= 60 and any(w in line for w in _TITLE_WORDS) and not line.startswith("摘要"):
            years = re.findall(r"(\d{4})\s*年", line.translate(_FULL_TO_HALF))
            if years:
                return int(years[-1])
    for line in lines[:30]:
        dated = re.fullmatch(r"(\d{4})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日", line)
        if dated:
            return int(dated.group(1))
    return None


def find_date(text: str) -> Optional[date]:
    """The date the plan was issued: a line near its top reading "2017年8月23日"."""
    for line in [ln.strip() for ln in text.splitlines() if ln.strip()][:30]:
        dated = re.fullmatch(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", line.translate(_FULL_TO_HALF))
        if dated:
            try:
                return date(int(dated.group(1)), int(dated.group(2)), int(dated.group(3)))
            except ValueError:
                return None
    return None


def _find_title(text: str) -> Optional[str]:
    """The first short line that reads like a plan's title."""
    for line in text.splitlines()[:15]:
        line = line.strip()
        if (4 <= len(line) <= 60 and any(w in line for w in _TITLE_WORDS)
                and not line.startswith(("摘要", "关于")) and "《" not in line and not line.endswith("。")):
            return line
    return None


def _heading(norm: str) -> Optional[tuple[str, str, int]]:
    """(kind, normalised marker, marker length) of a numbered paragraph, or None."""
    for kind, pattern in _HEADING_PATTERNS:
        match = pattern.match(norm)
        if match:
            value = match.group(1)
            marker = {"paren_cn": f"({value})", "paren_arabic": f"({value})",
                      "arabic_paren": f"({value})"}.get(kind, value)
            return kind, marker, match.end()
    return None


_SPLIT_AFTER_RE = re.compile(r"[(（]\s*责任单位\s*[:：][^()（）]*[)）]\s*[。.]?")


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines; a line holding several "(责任单位:…)" items is split after each."""
    out = []
    for line in text.splitlines():
        line = line.strip(" \t\u3000\xa0")
        if not line:
            continue
        cuts = [m.end() for m in _SPLIT_AFTER_RE.finditer(line) if line[m.end():].strip()]
        start = 0
        for cut in cuts:
            out.append(line[start:cut].strip())
            start = cut
        out.append(line[start:].strip())
    return [p for p in out if p]


@dataclass
class _Heading:
    level: int
    marker: str
    path: str
    text: str
    is_task: bool = False
    count: int = 0  # tasks numbered under this heading so far (own task included)
    subtree_tasks: int = 0


def parse_plan(text: str, year: Optional[int] = None) -> Plan:
    """Parse a plan's text into its tasks (see the module docstring for the rules)."""
    plan = Plan(year=year if year is not None else find_year(text), title=_find_title(text),
                dated=find_date(text))
    levels: dict[str, int] = {}
    stack: list[_Heading] = []
    headings: list[_Heading] = []
    top_count = 0
    for para in _paragraphs(text):
        norm = para.translate(_FULL_TO_HALF)
        head = _heading(norm)
        body_start = 0
        if head:
            kind, marker, body_start = head
            level = levels.setdefault(kind, len(levels))
            while stack and stack[-1].level >= level:
                stack.pop()
            path = ".".join([h.marker for h in stack] + [marker])
            node = _Heading(level, marker, path, para[body_start:].strip())
            stack.append(node)
            headings.append(node)
        units = _units_at_end(norm)
        if not units:
            continue
        start, lead, coop, notes = units
        body = para[body_start:start].strip()
        if head:
            node = stack[-1]
            node.is_task = True
            node.count += 1
            number = node.path
        elif stack:
            node = stack[-1]
            node.count += 1
            number = f"{node.path}-{node.count}"
        else:
            top_count += 1
            number = str(top_count)
        for h in stack:
            h.subtree_tasks += 1
        deadline, deadline_text = parse_deadline(body, plan.year)
        plan.tasks.append(Task(number=number, text=body, lead_units=lead, cooperating_units=coop,
                               deadline=deadline, deadline_text=deadline_text,
                               damaged=bool(notes), notes=notes))
    for node in headings:
        # A numbered item with body text (more than a title) but no task under it.
        if node.subtree_tasks == 0 and ("。" in node.text.rstrip("。") or len(node.text) > 40):
            deadline, deadline_text = parse_deadline(node.text, plan.year)
            plan.unassigned.append(Task(number=node.path, text=node.text, deadline=deadline,
                                        deadline_text=deadline_text, notes=["未找到责任单位"]))
    return plan
