"""`tracker demo`: a realistic demo built from two real plans, and synthetic issues for measuring.

The demo (units, rounds, about sixty issues with their histories, one login per role)
comes from tracker/demo_data, curated from 《霍林郭勒市打赢污染防治攻坚战2020年行动计划》 and
《中北镇贯彻落实中央第一环境保护督察组督察反馈意见整改方案》. The units form a three-level
tree (a city, two counties, towns) with an office at each level; each round has its approval
chain, and every closure request is signed step by step by an office user whom the chain allows
(tracker.issues.chain.may_sign). Every state change goes through the services, with past
datetimes, so the timelines are genuine. Closed issues keep
the plans' historical dates; open ones get deadlines relative to the load day, so that the
lights are red, yellow and green whenever the demo is loaded.

Loading is idempotent: units, users, rounds and issues are looked up by code, username or
name first, and an issue that exists is left as it is.

`scale=N` makes sure N synthetic issues (codes SYN-…) exist, bulk-inserted with SQLAlchemy
Core in batches, for measuring pages and queries at volume.
"""
from __future__ import annotations

import io
import json
import random
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from tracker.accounts.models import PASSWORD_HASH_METHOD, User
from tracker.core import clock, enums, labels, workflow
from tracker.core.errors import Refusal
from tracker.core.extensions import DbSession, db
from tracker.core.labels import ROLE_LABELS, UNIT_LEVEL_LABELS
from tracker.escalation.monthly import backfill_late_reports
from tracker.escalation.settings import get_settings
from tracker.issues import chain
from tracker.issues import extensions as extension_service
from tracker.issues import services as issue_service
from tracker.issues.figures import figures
from tracker.issues.models import Attachment, Event, Issue, IssueUnit, ProgressReport, ReportLateness
from tracker.rounds import services as rounds_service
from tracker.rounds.models import Round
from tracker.units import services as units_service
from tracker.units.models import PATH_SEPARATOR, Unit, path_segment

DATA_DIR = Path(__file__).with_name("demo_data")
BEIJING = timedelta(hours=8)

SYN_ISSUE_PREFIX = "SYN-"
SYN_ISSUE_DIGITS = 7
SYN_PARENTS = 5
SYN_UNITS_PER_PARENT = 60
SYN_BATCH = 5000

# A returned closure request: each step a few days after the one before; the returned first request
# of an issue now waiting is made this many days before its second.
RETURN_STEP_DAYS = 4
RETURN_LEAD_DAYS = 25

Echo = Callable[[str], None]

_hash_cache: dict[str, str] = {}


def load_demo(scale: int = 0, echo: Echo = print, upgrade: bool = True) -> dict:
    """Upgrade the database, load the demo (idempotent) and, with `scale`, synthetic issues.

    Runs inside an app context (the `tracker demo` command has one). `upgrade=False`
    skips the migrations, for a schema made some other way (the tests' create_all).
    Returns the counts it printed.
    """
    if upgrade:
        import flask_migrate

        echo("升级数据库结构 …")
        flask_migrate.upgrade()
    session = db.session
    now, today = clock.now(), clock.today()
    started = time.perf_counter()
    demo = _Demo(session, echo, now, today)
    demo.load()
    echo(f"演示数据就绪({time.perf_counter() - started:.1f} 秒)。")
    if scale and scale > 0:
        load_synthetic(session, scale, echo, now, today)
    marked = mark_history(session, today)
    if marked:
        echo(f"按月度报送规则标记未按时报送的进展 {marked} 项。")
    counts = _counts(session, today)
    _print_summary(echo, demo, counts)
    return counts


# --- helpers -------------------------------------------------------------------

def _read(name: str):
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """Naive UTC of a Beijing wall-clock time on `day` (the form stored in the database)."""
    return datetime(day.year, day.month, day.day, hour, minute) - BEIJING


def _password_hash(password: str) -> str:
    """Hash the demo password once per process: scrypt is slow on purpose, and every
    demo login shares the one printed password anyway."""
    if password not in _hash_cache:
        _hash_cache[password] = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    return _hash_cache[password]


def _period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_days(start: date, end: date, day_of_month: int = 14) -> list[date]:
    """One date a month (the `day_of_month`, before the 18th due day) strictly after
    `start` and strictly before `end`."""
    out = []
    y, m = start.year, start.month
    while True:
        d = date(y, m, day_of_month)
        if d >= end:
            break
        if d > start:
            out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def make_pdf(lines: Iterable[str]) -> bytes:
    """A small, valid one-page PDF showing `lines` (ASCII) in Helvetica."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 12 Tf 16 TL 72 770 Td " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    stream = content.encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- the demo ------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedExtension:
    """One deadline extension of a demo issue, dated: asked by the lead unit's head, decided (or still
    pending: `decision` None) by the office nearest the lead unit."""

    asked_on: date
    asked_deadline: date
    reason: str
    decision: Optional[str]  # "approve", "redate" (approved with another date), "reject", or None
    decided_on: Optional[date]
    granted_deadline: Optional[date]
    decision_reason: Optional[str]


def extension_plan(spec: dict, deadline: date) -> tuple[date, list[PlannedExtension]]:
    """The issue's original deadline and its extensions (spec["extensions"]), dated from `deadline`, the
    deadline it has after them: each asked `asked_before_deadline` days before the deadline of its day,
    for `asked_days` more, decided `decided_after` days later; an approved one grants `granted_days`."""
    wanted = spec.get("extensions", [])
    granting = ("approve", "redate")
    original = deadline - timedelta(days=sum(e["granted_days"] for e in wanted if e["decision"] in granting))
    current, planned = original, []
    for ext in wanted:
        asked = current - timedelta(days=ext["asked_before_deadline"])
        decided = asked + timedelta(days=ext["decided_after"]) if ext["decision"] else None
        granted = current + timedelta(days=ext["granted_days"]) if ext["decision"] in granting else None
        planned.append(PlannedExtension(asked, current + timedelta(days=ext["asked_days"]), ext["reason"],
                                        ext["decision"], decided, granted, ext.get("decision_reason")))
        current = granted or current
    return original, planned


@dataclass
class _Login:
    username: str
    role: str
    level: str
    unit: str


@dataclass
class _Tally:
    units: int = 0
    users: int = 0
    rounds: int = 0
    issues: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


class _Demo:
    """Loads units, users, rounds and the curated issues, each only when missing."""

    def __init__(self, session: DbSession, echo: Echo, now: datetime, today: date):
        self.s = session
        self.echo = echo
        self.now = now
        self.today = today
        self.texts = _read("texts.json")
        self.users_data = _read("users.json")
        self.password = self.users_data["password"]
        self.tally = _Tally()
        self.logins: list[_Login] = []
        self.units: dict[str, Unit] = {}
        self.rounds: dict[str, Round] = {}
        self.users: dict[str, User] = {}
        self.clerks: dict[str, User] = {}
        self.heads: dict[str, User] = {}
        self.upload_dir = current_app.config["UPLOAD_DIR"]
        self.max_bytes = current_app.config["MAX_UPLOAD_BYTES"]

    def load(self) -> None:
        """Load everything that is missing and commit."""
        issues = _read("issues.json")
        self._units(_read("units.json"))
        self._users(issues)
        self._rounds(_read("rounds.json"))
        self.s.commit()
        self._issues(issues)
        t = self.tally
        self.echo(f"新增:单位 {t.units} 个,用户 {t.users} 个,轮次 {t.rounds} 个,问题 {t.issues} 个"
                  f"(已存在而跳过的问题 {t.skipped} 个)。")
        for warning in t.warnings:
            self.echo("注意:" + warning)

    # units, users, rounds

    def _units(self, rows: list[dict]) -> None:
        existing = {u.code: u for u in self.s.scalars(select(Unit).where(Unit.code.in_([r["code"] for r in rows])))}
        for row in rows:  # parents come before their children in the file
            unit = existing.get(row["code"])
            if unit is None:
                unit = units_service.create_unit(self.s, None, row["code"], row["name"], row["parent"], row["email"])
                self.tally.units += 1
            # The tree as the file has it: a new unit's level, and an older demo's units (a flat tree, every
            # unit a city) moved into place; the flush hook keeps the paths.
            parent = self.units[row["parent"]] if row["parent"] else None
            if unit.level != row["level"]:
                unit.level = row["level"]
            if unit.parent_id != (parent.id if parent else None):
                unit.parent = parent
            self.units[row["code"]] = unit
        self.s.flush()
        self.unit_logins = {r["code"]: r["login"] for r in rows if r.get("login")}

    def _user(self, username: str, role: str, unit_code: Optional[str], display_name: str,
              email: Optional[str] = None) -> User:
        user = self.s.scalar(select(User).where(User.username == username))
        if user is None:
            unit = self.units[unit_code] if unit_code else None
            user = User(username=username, role=role, unit_id=unit.id if unit else None,
                        display_name=display_name, email=email, password_hash=_password_hash(self.password),
                        created_at=self.now)
            self.s.add(user)
            self.s.flush()
            self.tally.users += 1
        self.users[username] = user
        # Shown as it is in the database: a user made before the demo keeps its own role and unit.
        unit_name = user.unit.name if user.unit else "—"
        if user.unit is not None:
            level = UNIT_LEVEL_LABELS[user.unit.level]
        else:
            level = "全辖区" if user.role in (*enums.CHAIN_ROLES, enums.Role.LEADER) else "—"
        self.logins.append(_Login(username, ROLE_LABELS.get(user.role, user.role), level, unit_name))
        code = user.unit.code if user.unit else None
        if user.role == "unit_head" and code:
            self.heads.setdefault(code, user)
        if user.role == "unit_staff" and code:
            self.clerks.setdefault(code, user)
        return user

    def _users(self, issues: list[dict]) -> None:
        for row in self.users_data["users"]:
            self._user(row["username"], row["role"], row["unit"], row["display_name"], row.get("email"))
        # Every unit that leads an issue gets a head, who files its reports and signs its closures.
        names = iter(self.users_data["head_names"])
        for code in dict.fromkeys(i["lead"] for i in issues):
            if code not in self.heads:
                login = self.unit_logins.get(code, code.lower())
                self._user(f"{login}.fz", "unit_head", code, next(names, f"{self.units[code].name}负责人"))
        for code, head in self.heads.items():
            self.clerks.setdefault(code, head)
        # The offices that sign approval-chain steps: the nearest office first (a town's before its
        # county's before the city's), those serving the whole tree last.
        self.offices = sorted((u for u in self.users.values() if u.role in enums.CHAIN_ROLES),
                              key=lambda u: (-u.unit.path.count(PATH_SEPARATOR) if u.unit else 1, u.username))

    def _rounds(self, rows: list[dict]) -> None:
        for row in rows:
            round_ = self.s.scalar(select(Round).where(Round.name == row["name"]))
            if round_ is None:
                round_ = rounds_service.create_round(self.s, None, row["name"], row["level"], row["kind"],
                                                     row["feedback_date"], row["document_no"], chain=row.get("chain"))
                self.tally.rounds += 1
            self.rounds[row["key"]] = round_

    # issues

    def _issues(self, specs: list[dict]) -> None:
        codes = [s["code"] for s in specs]
        existing = set(self.s.scalars(select(Issue.code).where(Issue.code.in_(codes))))
        followers: dict[str, list[dict]] = {}
        for spec in specs:
            if spec["scenario"]["kind"] == "merged":
                followers.setdefault(spec["scenario"]["into"], []).append(spec)
        for spec in specs:
            if spec["scenario"]["kind"] == "merged":
                continue
            group = [spec, *followers.get(spec["code"], [])]
            todo = [s for s in group if s["code"] not in existing]
            self.tally.skipped += len(group) - len(todo)
            if not todo:
                continue
            try:
                self._play(spec, todo)
            except Refusal as refusal:
                self.s.rollback()
                self.tally.warnings.append(f"问题 {spec['code']} 未能按剧本载入:{refusal.message}")
                continue
            self.s.commit()
            self.tally.issues += len(todo)
            self.echo(f"  {spec['code']} {spec['title']}")

    def _office(self, spec: dict) -> User:
        """The supervisor nearest the issue's lead unit (its town's office, else its county's, else the
        city's): it registers the issue, merges and reopens it, and decides its extensions."""
        lead = self.units[spec["lead"]]
        for user in self.offices:
            if user.role == enums.Role.SUPERVISOR and (user.unit is None or user.unit.contains(lead)):
                return user
        raise Refusal("conflict", f"演示数据中没有管辖「{lead.name}」的督察整改办用户。")

    def _signer(self, issue: Issue) -> User:
        """The nearest office user who may take the step the issue waits for (role, level, jurisdiction,
        and no earlier signature of this pass)."""
        fits = chain.may_sign(self.s, issue, self.offices)
        if not fits:
            step = chain.step_at(issue.round, issue.chain_step)
            raise Refusal("conflict", f"演示数据中没有可以办理「{step.label if step else issue.state}」的用户。")
        return fits[0]

    def _sign(self, issue: Issue, day: date, hour: int = 11) -> User:
        """Sign the step the issue waits for: `verify`, or `approve` at the chain's last step."""
        signer = self._signer(issue)
        assert issue.chain_step is not None  # in the chain: the signer was found for its step
        if chain.is_last(issue.round, issue.chain_step):
            self._act(issue, signer, day, workflow.APPROVE, hour=hour, comment="同意销号。")
        else:
            self._act(issue, signer, day, workflow.VERIFY, hour=hour, comment="现场核查,整改到位,验收通过。")
        return signer

    def _pass_steps(self, spec: dict) -> list[str]:
        """The labels of the steps a closure of this issue passes, in order (a step below the lead
        unit's level is skipped)."""
        round_, lead = self.rounds[spec["round"]], self.units[spec["lead"]]
        steps = chain.steps_of(round_)
        position = chain.first_step(round_, lead)
        passed = [steps[position].label]
        while not chain.is_last(round_, position):
            position = chain.next_step(round_, lead, position)
            passed.append(steps[position].label)
        return passed

    def _return_step(self, spec: dict) -> Optional[int]:
        """At which step of its first pass the scenario returns the issue ("return_at": a step's label;
        "return": true, the first step); None when it is not returned."""
        sc = spec["scenario"]
        if "return_at" in sc:
            steps = self._pass_steps(spec)
            if sc["return_at"] not in steps:
                raise Refusal("invalid", f"审核链中没有「{sc['return_at']}」这一环节。")
            return steps.index(sc["return_at"])
        return 0 if sc.get("return") else None

    def _returned_pass(self, spec: dict, issue: Issue, first_submit: date, at: int) -> date:
        """A first closure request returned at step `at` (every earlier step signed, a few days apart),
        then the unit's answer: a report and the missing evidence. Returns the day it was returned."""
        sc = spec["scenario"]
        self._act(issue, self.heads[spec["lead"]], first_submit, workflow.SUBMIT, summary=self._summary(spec))
        day = first_submit
        for _ in range(at):
            day += timedelta(days=RETURN_STEP_DAYS)
            self._sign(issue, day)
        day += timedelta(days=RETURN_STEP_DAYS)
        self._act(issue, self._signer(issue), day, workflow.RETURN,
                  comment=sc.get("return_reason") or self.texts["return_reason"])
        self._report(spec, issue, day + timedelta(days=2), 100, self.texts["resubmit_report"])
        self._evidence(spec, issue, day + timedelta(days=3), self.texts["resubmit_evidence"])
        return day

    def _extensions(self, spec: dict, issue: Issue) -> None:
        """The issue's deadline extensions (延期申请), as spec["extensions"] tells them: each asked by the
        lead unit's head, then approved (maybe with another date), rejected, or left pending, by the
        office nearest the lead unit. The issue was created with its original deadline; the approved
        ones move it to the scenario's. Called where a request fits the issue's history."""
        wanted = spec.get("extensions", [])
        if not wanted:
            return
        granted = sum(e["granted_days"] for e in wanted if e["decision"] in ("approve", "redate"))
        _original, planned = extension_plan(spec, issue.deadline + timedelta(days=granted))
        head, office = self.heads[spec["lead"]], self._office(spec)
        for ext in planned:
            request = extension_service.request_extension(self.s, head, _at(ext.asked_on, 15), issue,
                                                          ext.asked_deadline, ext.reason)
            if ext.decision is None or ext.decided_on is None:
                continue
            when = _at(ext.decided_on, 10)
            if ext.decision == "reject":
                extension_service.decide_extension(self.s, office, when, request, "reject",
                                                   reason=ext.decision_reason)
            else:
                extension_service.decide_extension(
                    self.s, office, when, request, "approve",
                    deadline=ext.granted_deadline if ext.decision == "redate" else None,
                    reason=ext.decision_reason)

    def _play(self, spec: dict, todo: list[dict]) -> None:
        """Play one issue's scenario, and its merged followers' (before it leaves 整改中)."""
        kind = spec["scenario"]["kind"]
        rng = random.Random(spec["code"])
        play_self = spec in todo
        followers = [s for s in todo if s is not spec]
        if kind in ("closed", "reopened"):
            if play_self:
                self._touch(self._closed(spec, rng))
            return
        issue = self._open(spec, rng, create=play_self)
        merged = [self._merged(follower, issue, random.Random(follower["code"])) for follower in followers]
        if play_self:
            self._finish_open(spec, issue, rng)
        # Last, as followers move with their target.
        for played in [issue, *merged]:
            self._touch(played)

    def _create(self, spec: dict, assigned: date, deadline: date) -> Issue:
        head = self.heads[spec["lead"]]
        data = {
            "round_id": self.rounds[spec["round"]].id,
            "code": spec["code"],
            "title": spec["title"],
            "description": spec["description"],
            "category": spec["category"],
            "rectify_type": spec["rectify_type"],
            "deadline": deadline,
            "assigned_on": assigned,
            "lead_unit": spec["lead"],
            "cooperating_units": spec["cooperating"],
            "target": spec["target"],
            "measures": spec["measures"],
            "domain": spec["domain"],
            "responsible_leader": spec["responsible_leader"],
            "responsible_person": head.display_name,
        }
        return issue_service.create_issue(self.s, self._office(spec), _at(assigned, 9), data, self.today)

    def _report(self, spec: dict, issue: Issue, day: date, percent: int, note: str, hour: int = 16) -> None:
        issue_service.report_progress(self.s, self.clerks[spec["lead"]], _at(day, hour), issue, _period(day),
                                      percent, note)

    def _progress_text(self, percent: int) -> str:
        lines = self.texts["progress"]
        if percent >= 100:
            return lines[-1]
        return lines[min(len(lines) - 2, percent * (len(lines) - 1) // 100)]

    def _reports(self, spec: dict, issue: Issue, start: date, end: date, final: int,
                 most: int = 3, note: Optional[str] = None) -> date:
        """Monthly reports after `start` and before `end`, ramping up to `final` percent.

        Returns the day of the last report.
        """
        days = _month_days(start, end)[-most:]
        if not days:
            days = [start + timedelta(days=(end - start).days // 2)]
        n = len(days)
        for k, day in enumerate(days):
            pct = final if k == n - 1 else max(0, min(final, round(final * (k + 1) / n) - 5))
            text = self._progress_text(pct)
            if k == n - 1 and note:
                text = f"{text}{note}"
            self._report(spec, issue, day, pct, text)
        return days[-1]

    def _evidence(self, spec: dict, issue: Issue, day: date, filename: str, hour: int = 17) -> None:
        pdf = make_pdf([
            "Rectification evidence (demo)",
            f"Issue: {spec['code']}",
            f"Unit: {spec['lead']}",
            f"Date: {day.isoformat()}",
            f"Document: {len(filename)}-{sum(map(ord, filename)) % 9973}",
            "Generated by `tracker demo`. Not a real document.",
        ])
        issue_service.add_evidence(self.s, self.clerks[spec["lead"]], _at(day, hour), issue,
                                   f"{spec['code']}-{filename}", io.BytesIO(pdf), self.upload_dir, self.max_bytes)

    def _act(self, issue: Issue, actor: User, day: date, action: str, hour: int = 11, **kw) -> None:
        issue_service.transition(self.s, actor, _at(day, hour), issue, action, **kw)

    def _summary(self, spec: dict) -> str:
        return self.texts["summary"] + spec["target"]

    def _touch(self, issue: Issue) -> None:
        # The ORM's onupdate stamped the real time; the demo's last change is its last event.
        last_event = self.s.scalar(select(func.max(Event.at)).where(Event.issue_id == issue.id))
        assert last_event is not None  # every change the demo makes writes an event
        issue.updated_at = last_event
        self.s.flush()

    def _closed(self, spec: dict, rng: random.Random) -> Issue:
        """Closed with the plan's own dates, every step of its round's chain signed by the office that
        takes it (optionally returned once at a step); maybe reopened later."""
        sc = spec["scenario"]
        assigned = date.fromisoformat(spec["assigned_on"])
        deadline = date.fromisoformat(spec["deadline"])
        steps = len(self._pass_steps(spec))
        at = self._return_step(spec)
        # Each step a few days after the one before; submitted so that most close by their deadline.
        gaps = [timedelta(days=rng.randint(3, 7) if k == 0 else rng.randint(2, 6)) for k in range(steps)]
        submit = max(deadline - sum(gaps, timedelta(0)) - timedelta(days=rng.randint(0, 8)),
                     assigned + timedelta(days=6))
        first_submit = None
        if at is not None:
            first_submit = max(submit - timedelta(days=20 + RETURN_STEP_DAYS * at), assigned + timedelta(days=4))
            returned = first_submit + timedelta(days=RETURN_STEP_DAYS * (at + 1))
            submit = max(submit, returned + timedelta(days=5))
        signs, day = [], submit
        for gap in gaps:
            day += gap
            signs.append(day)
        approve = signs[-1]
        # On a clock earlier than the plans' dates (a test), move the whole history into the past;
        # "closed_ago" moves it so that the closure falls that many days ago (recent months' figures).
        shift = max(timedelta(0), approve - (self.today - timedelta(days=2)))
        if "closed_ago" in sc:
            shift = approve - (self.today - timedelta(days=sc["closed_ago"]))
        assigned, deadline, submit, approve = (d - shift for d in (assigned, deadline, submit, approve))
        signs = [d - shift for d in signs]
        issue = self._create(spec, assigned, extension_plan(spec, deadline)[0])
        head = self.heads[spec["lead"]]
        evidence_day = (first_submit - shift if first_submit else submit) - timedelta(days=1)
        self._reports(spec, issue, assigned, evidence_day, 100)
        for name in self.texts["evidence"]:
            self._evidence(spec, issue, evidence_day, name)
        self._extensions(spec, issue)
        if first_submit is not None and at is not None:
            self._returned_pass(spec, issue, first_submit - shift, at)
        self._act(issue, head, submit, workflow.SUBMIT, summary=self._summary(spec))
        for day in signs:
            self._sign(issue, day)
        if sc["kind"] == "reopened":
            office = self._office(spec)
            reopened = date.fromisoformat(sc["reopen_on"])
            if reopened <= approve:
                reopened = approve + timedelta(days=30)
            self._act(issue, office, reopened, workflow.REOPEN, comment=sc["reason"])
            restart = max(self.today - timedelta(days=sc["assigned_ago"]), reopened + timedelta(days=1))
            issue_service.update_issue(self.s, office, _at(restart, 9), issue,
                                       {"deadline": self.today + timedelta(days=sc["due_in"])}, self.today)
            self._reports(spec, issue, restart, self.today,
                          self._pace(sc, rng, restart, self.today + timedelta(days=sc["due_in"])),
                          note=self.texts["late"])
        return issue

    def _pace(self, sc: dict, rng: random.Random, assigned: date, deadline: date) -> int:
        """The progress that puts the issue where the scenario wants its light."""
        span = max(1, (deadline - assigned).days)
        elapsed = min(100, max(0, (self.today - assigned).days * 100 // span))
        pace = sc.get("pace", "on_track")
        if pace == "lagging":
            return max(5, elapsed - 40)
        if pace == "late":
            return rng.randint(55, 85)
        return min(95, elapsed + rng.randint(5, 12))

    def _dates(self, sc: dict) -> tuple[date, date]:
        deadline = self.today + timedelta(days=sc["due_in"])
        assigned = self.today - timedelta(days=sc["assigned_ago"])
        return assigned, max(deadline, assigned + timedelta(days=1))

    def _open(self, spec: dict, rng: random.Random, create: bool) -> Issue:
        """Create an open issue with a few months of reports up to where its scenario acts next."""
        if not create:
            issue = self.s.scalar(select(Issue).where(Issue.code == spec["code"]))
            assert issue is not None  # not to be played: an earlier load made it
            return issue
        sc = spec["scenario"]
        assigned, deadline = self._dates(sc)
        issue = self._create(spec, assigned, extension_plan(spec, deadline)[0])
        kind = sc["kind"]
        if kind in ("submitted", "verified"):
            # The day before the first closure request (a returned one comes RETURN_LEAD_DAYS earlier).
            first_ago = sc["submitted_ago"] + (RETURN_LEAD_DAYS if self._return_step(spec) is not None else 0)
            end = self.today - timedelta(days=first_ago + 1)
            final = 100
        elif kind == "basically_done":
            end = self.today - timedelta(days=sc["marked_ago"])
            final = 90
        else:
            end = self.today
            final = self._pace(sc, rng, assigned, deadline)
        note = None
        if kind == "open" and sc.get("pace") in ("lagging", "late"):
            note = self.texts[sc["pace"]]
        corrected = bool(sc.get("replace_report"))
        last = self._reports(spec, issue, assigned, end, final - 10 if corrected else final, note=note)
        if corrected:
            # A corrected report for the same period replaces the first, which stays in the history.
            self._report(spec, issue, last, final, self.texts["replaced"] + self._progress_text(final), hour=18)
        if kind in ("submitted", "verified"):
            for name in self.texts["evidence"]:
                self._evidence(spec, issue, end, name)
        elif kind == "open" and rng.random() < 0.4:
            self._evidence(spec, issue, last, self.texts["open_evidence"])
        return issue

    def _merged(self, spec: dict, target: Issue, rng: random.Random) -> Issue:
        """A follower: registered, reported once or twice, then merged into `target` (合并整改)."""
        sc = spec["scenario"]
        assigned, deadline = self._dates(sc)
        merged_on = self.today - timedelta(days=sc["merged_ago"])
        issue = self._create(spec, assigned, deadline)
        self._reports(spec, issue, assigned, merged_on, rng.randint(20, 40), most=2)
        self._act(issue, self._office(spec), merged_on, workflow.MERGE, target_issue_id=target.id,
                  comment=self.texts["merge_comment"])
        return issue

    def _finish_open(self, spec: dict, issue: Issue, rng: random.Random) -> None:
        sc = spec["scenario"]
        kind = sc["kind"]
        head = self.heads[spec["lead"]]
        self._extensions(spec, issue)
        if kind in ("submitted", "verified"):
            submitted = self.today - timedelta(days=sc["submitted_ago"])
            at = self._return_step(spec)
            if at is not None:
                self._returned_pass(spec, issue, submitted - timedelta(days=RETURN_LEAD_DAYS), at)
            self._act(issue, head, submitted, workflow.SUBMIT, summary=self._summary(spec))
            if kind == "verified":
                # "signed" steps signed (one by default), the last `verified_ago` days ago.
                signed = sc.get("signed", 1)
                last = self.today - timedelta(days=sc["verified_ago"])
                for k in range(1, signed + 1):
                    self._sign(issue, submitted + (last - submitted) * k // signed)
        elif kind == "basically_done":
            marked = self.today - timedelta(days=sc["marked_ago"])
            self._act(issue, head, marked, workflow.MARK_BASICALLY_DONE, comment=self.texts["mark_basically_done"])


# --- synthetic issues ----------------------------------------------------------

PROBLEMS = {
    "大气": ["施工扬尘管控不到位", "燃煤锅炉超标排放", "餐饮油烟扰民", "露天焚烧秸秆", "VOCs 无组织排放"],
    "水": ["生活污水直排", "入河排污口未规范设置", "黑臭水体反弹", "饮用水水源地保护区违建", "污水处理厂超标排放"],
    "土壤": ["污染地块未管控", "农用地土壤污染风险", "加油站地下油罐渗漏隐患"],
    "生态": ["违规占用草原", "矿山生态修复滞后", "自然保护区违规建设"],
    "固废": ["垃圾非法堆放", "危险废物贮存不规范", "工业固废堆场扬尘"],
    "噪声": ["夜间施工噪声扰民", "高音喇叭扰民"],
    "辐射": ["放射源管理不规范"],
    "其他": ["环境监管执法不到位", "整改责任落实不到位"],
}
CATEGORY_WEIGHTS = (("feedback", 50), ("key_concern", 20), ("petition", 20), ("self_found", 10))
TYPE_WEIGHTS = (("immediate", 20), ("deadline", 60), ("long_term", 20))


def _syn_units(session: DbSession, now: datetime) -> list[tuple[int, str, int]]:
    """Make sure the synthetic units and their heads exist; return (unit id, name, head id)."""
    table, users = Unit.__table__, User.__table__
    parents = [(f"SYN-P{p:02d}", f"模拟旗县{p:02d}") for p in range(1, SYN_PARENTS + 1)]
    have = set(session.scalars(select(Unit.code).where(Unit.code.like("SYN-%"))))
    # The simulated banners sit under the demo's city (whose offices see them), or at the root without
    # it; their units are the banners' departments (county level). Core inserts set the paths themselves.
    root = session.execute(select(Unit.id, Unit.path).where(Unit.code == _read("units.json")[0]["code"])).first()
    root_id, root_path = (root.id, root.path) if root is not None else (None, PATH_SEPARATOR)
    missing = [{"code": c, "name": n, "parent_id": root_id, "level": enums.UnitLevel.COUNTY,
                "path": root_path + path_segment(c) + PATH_SEPARATOR, "email": None, "created_at": now}
               for c, n in parents if c not in have]
    if missing:
        session.execute(insert(table), missing)
    parent_rows = {code: (uid, path) for code, uid, path in
                   session.execute(select(Unit.code, Unit.id, Unit.path).where(Unit.code.like("SYN-P%")))}
    children = []
    for p, (pcode, pname) in enumerate(parents):
        parent_id, parent_path = parent_rows[pcode]
        for k in range(1, SYN_UNITS_PER_PARENT + 1):
            n = p * SYN_UNITS_PER_PARENT + k
            code = f"SYN-U{n:03d}"
            if code not in have:
                children.append({"code": code, "name": f"{pname}·责任单位{n:03d}", "parent_id": parent_id,
                                 "level": enums.UnitLevel.COUNTY,
                                 "path": parent_path + path_segment(code) + PATH_SEPARATOR,
                                 "email": None, "created_at": now})
    if children:
        session.execute(insert(table), children)
    units = session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.code.like("SYN-U%"))
                            .order_by(Unit.code)).all()
    heads = dict(session.execute(select(User.unit_id, User.id).where(User.username.like("syn-u%"))).all())
    password_hash = _password_hash(_read("users.json")["password"])
    new_users = [{"username": code.lower(), "role": "unit_head", "unit_id": uid, "display_name": f"{name}负责人",
                  "password_hash": password_hash, "active": True,
                  "session_version": 1, "created_at": now}
                 for uid, code, name in units if uid not in heads]
    if new_users:
        session.execute(insert(users), new_users)
        heads = dict(session.execute(select(User.unit_id, User.id).where(User.username.like("syn-u%"))).all())
    session.commit()
    return [(uid, name, heads[uid]) for uid, code, name in units]


def _weighted(rng: random.Random, pairs) -> str:
    r = rng.randrange(sum(w for _, w in pairs))
    for value, weight in pairs:
        if r < weight:
            return value
        r -= weight
    return pairs[-1][0]


def _syn_issue(i: int, ctx: dict) -> tuple[dict, list[int], list[dict], list[dict]]:
    """One synthetic issue: its row, cooperating unit ids, reports and events (ids filled in later)."""
    rng = random.Random(i)
    today: date = ctx["today"]
    unit_id, unit_name, head_id = ctx["units"][rng.randrange(len(ctx["units"]))]
    round_id, feedback = ctx["rounds"][rng.randrange(len(ctx["rounds"]))]
    r = rng.random()
    first = max(feedback + timedelta(days=10), date(2016, 12, 1))
    latest = today - timedelta(days=20)
    if r >= 0.5 and rng.random() < 0.6:
        # Most open issues were assigned in the last year or two, so their lights are mixed.
        first = max(first, today - timedelta(days=600))
    assigned = first + timedelta(days=rng.randint(0, max(0, (latest - first).days)))
    deadline = assigned + timedelta(days=rng.randint(30, 720))
    rectify_type = _weighted(rng, TYPE_WEIGHTS)
    domain = rng.choice(enums.DOMAINS)
    problem = rng.choice(PROBLEMS[domain])
    code = f"{SYN_ISSUE_PREFIX}{i:0{SYN_ISSUE_DIGITS}d}"
    sup, approver = ctx["supervisor"], ctx["approver"]

    room = (today - assigned).days
    transitions: list[tuple[date, Optional[int], str, str, str]] = []
    submitted_at = verified_by = closed_at = chain_step = None
    if r < 0.40 and room > 40:
        state = workflow.CLOSED
        latest_submit = min(deadline + timedelta(days=30), today - timedelta(days=12))
        submit = assigned + timedelta(days=rng.randint(15, max(15, (latest_submit - assigned).days)))
        verify = submit + timedelta(days=rng.randint(1, 5))
        approve = verify + timedelta(days=rng.randint(1, 5))
        transitions = [(submit, head_id, "submit", "in_progress", "submitted"),
                       (verify, sup, "verify", "submitted", "verified"),
                       (approve, approver, "approve", "verified", "closed")]
        submitted_at, verified_by, closed_at = _at(submit, 11), sup, _at(approve, 11)
        report_end, progress, n_reports = submit, 100, 1
    elif r < 0.50 and room > 20:
        submit = today - timedelta(days=rng.randint(2, min(30, room - 5)))
        transitions = [(submit, head_id, "submit", "in_progress", "submitted")]
        # Waiting for the first step of the round's chain (the synthetic units are county level: every
        # step applies), or, once verified, for the second (the last of a two-step chain: 销号).
        state, submitted_at, chain_step = workflow.SUBMITTED, _at(submit, 11), 0
        if r >= 0.46 and (today - submit).days > 1:
            verify = submit + timedelta(days=rng.randint(1, (today - submit).days - 1))
            transitions.append((verify, sup, "verify", "submitted", "verified"))
            state, verified_by, chain_step = workflow.VERIFIED, sup, 1
        # Two to five events an issue: create, the reports, the transitions.
        report_end, progress, n_reports = submit, 100, rng.randint(1, 4 - len(transitions))
    else:
        state = workflow.IN_PROGRESS
        report_end, progress, n_reports = today, rng.randint(0, 95), rng.randint(1, 3)
        if rectify_type == "long_term" and r < 0.60:
            mark = today - timedelta(days=rng.randint(1, min(60, max(1, room - 5))))
            transitions = [(mark, head_id, "mark_basically_done", "in_progress", "basically_done")]
            state, progress, report_end = workflow.BASICALLY_DONE, max(progress, 80), mark

    reports, events = [], [{"at": _at(assigned, 9), "actor_id": sup, "action": "create", "from_state": None,
                            "to_state": "in_progress", "comment": None}]
    gap = max(2, (report_end - assigned).days)
    seen = set()
    for k in range(n_reports):
        day = assigned + timedelta(days=max(1, gap * (k + 1) // (n_reports + 1)))
        period = _period(day)
        if period in seen:
            continue
        seen.add(period)
        pct = progress if k == n_reports - 1 else progress * (k + 1) // n_reports
        at = _at(day, 16)
        reports.append({"period": period, "percent": pct, "text": f"按整改方案推进,完成进度 {pct}%。",
                        "author_id": head_id, "unit_id": unit_id, "created_at": at, "replaced_at": None})
        events.append({"at": at, "actor_id": head_id, "action": "progress", "from_state": "in_progress",
                       "to_state": "in_progress", "comment": f"{period} 进度 {pct}%"})
    for day, actor, action, before, after in transitions:
        events.append({"at": _at(day, 11), "actor_id": actor, "action": action, "from_state": before,
                       "to_state": after, "comment": None})
    cooperating = []
    if rng.random() < 0.25:
        for _ in range(rng.randint(1, 2)):
            other = ctx["units"][rng.randrange(len(ctx["units"]))][0]
            if other != unit_id and other not in cooperating:
                cooperating.append(other)
    last_at = max(e["at"] for e in events)
    row = {
        "round_id": round_id, "code": code, "title": f"{problem}({unit_name})",
        "description": f"合成数据:{unit_name}{problem},用于容量与性能测量。",
        "category": _weighted(rng, CATEGORY_WEIGHTS), "rectify_type": rectify_type, "deadline": deadline,
        "assigned_on": assigned, "lead_unit_id": unit_id, "target": "按期完成整改,建立长效机制。",
        "measures": "制定整改方案,明确责任人和时限,按月报送进展。", "domain": domain,
        "responsible_leader": None, "responsible_person": None, "progress_percent": progress, "state": state,
        "summary": "整改任务已完成。" if submitted_at else None, "merged_into_id": None,
        "verified_by_id": verified_by, "submitted_at": submitted_at, "closed_at": closed_at,
        "chain_step": chain_step, "created_at": _at(assigned, 9), "updated_at": last_at, "version": 1,
    }
    return row, cooperating, reports, events


def load_synthetic(session: DbSession, n: int, echo: Echo, now: datetime, today: date,
                   batch: int = SYN_BATCH) -> int:
    """Make sure `n` synthetic issues exist; add only the missing ones. Returns how many were added.

    Bulk inserts with SQLAlchemy Core, one batch at a time (generated, inserted, committed),
    so memory stays flat; each issue is drawn from its own seeded generator, so the data is
    the same however the batches fall.
    """
    issues_t = Issue.__table__
    like = SYN_ISSUE_PREFIX + "%"
    have = session.scalar(select(func.count()).select_from(issues_t).where(issues_t.c.code.like(like))) or 0
    missing = n - have
    if missing <= 0:
        echo(f"合成问题已有 {have} 个,不再新增。")
        return 0
    top = session.scalar(select(func.max(issues_t.c.code)).where(issues_t.c.code.like(like)))
    start = int(top[len(SYN_ISSUE_PREFIX):]) + 1 if top else 1
    started = time.perf_counter()
    units = _syn_units(session, now)
    ctx: dict[str, Any] = {
        "today": today,
        "units": units,
        "rounds": session.execute(select(Round.id, Round.feedback_date).order_by(Round.id)).all(),
        "supervisor": session.scalar(select(User.id).where(User.role == "supervisor").order_by(User.id)),
        "approver": session.scalar(select(User.id).where(User.role == "approver").order_by(User.id)),
    }
    ctx["rounds"] = [(rid, fb or date(2016, 11, 30)) for rid, fb in ctx["rounds"]]
    echo(f"新增合成问题 {missing} 个(已有 {have} 个),分布在 {len(units)} 个模拟单位 …")
    done = 0
    for first in range(start, start + missing, batch):
        last = min(first + batch, start + missing)
        generated = [_syn_issue(i, ctx) for i in range(first, last)]
        session.execute(insert(issues_t), [g[0] for g in generated])
        # The new ids, read back by code in one query: portable, and much faster on SQLite
        # than INSERT … RETURNING, which SQLAlchemy runs there one row at a time.
        ids = dict(session.execute(
            select(issues_t.c.code, issues_t.c.id)
            .where(issues_t.c.code.between(generated[0][0]["code"], generated[-1][0]["code"]))
        ).all())
        coop: list[dict[str, Any]] = []
        reports: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for (row, units_, reps, evs) in generated:
            issue_id = ids[row["code"]]
            coop.extend({"issue_id": issue_id, "unit_id": u} for u in units_)
            for rep in reps:
                rep["issue_id"] = issue_id
            for ev in evs:
                ev["issue_id"] = issue_id
            reports.extend(reps)
            events.extend(evs)
        if coop:
            session.execute(insert(IssueUnit.__table__), coop)
        session.execute(insert(ProgressReport.__table__), reports)
        session.execute(insert(Event.__table__), events)
        session.commit()
        done += last - first
        echo(f"  {done}/{missing}({time.perf_counter() - started:.1f} 秒)")
    # Fresh statistics, so the query planner knows the tables' new sizes.
    session.execute(text("ANALYZE"))
    session.commit()
    echo(f"合成问题新增 {done} 个,用时 {time.perf_counter() - started:.1f} 秒。")
    return done


# --- the closing report ----------------------------------------------------------

# How far back the demo marks late reports, as the monthly cycle would have had it run all along.
HISTORY_MONTHS = 24


def mark_history(session: DbSession, today: date) -> int:
    """Mark the late reports (未按时报送) of the demo's past months, as the daily runs would have; commit.

    From the earliest assignment, at most HISTORY_MONTHS back; idempotent (marks exist only once)."""
    first = session.scalar(select(func.min(Issue.assigned_on)))
    if first is None:
        return 0
    since = max(first, today - timedelta(days=31 * HISTORY_MONTHS))
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    marked = backfill_late_reports(session, get_settings(session), today, since, tz)
    session.commit()
    return marked


def _counts(session: DbSession, today: date) -> dict:
    """Row counts of every demo table, issues by state and light."""
    count = lambda model: session.scalar(select(func.count()).select_from(model)) or 0  # noqa: E731
    by_state = dict(session.execute(select(Issue.state, func.count()).group_by(Issue.state)).all())
    fig = figures(today, current_app.config.get("LAGGING_MARGIN", 20), current_app.config.get("DUE_SOON_DAYS", 7))
    # Grouped through a subquery: PostgreSQL will not match a GROUP BY expression carrying bound parameters.
    sub = select(fig.light.label("light")).subquery()
    lights: dict[str, int] = dict(session.execute(select(sub.c.light, func.count()).group_by(sub.c.light)).all())
    return {
        "units": count(Unit),
        "users": count(User),
        "rounds": count(Round),
        "issues": count(Issue),
        "synthetic": session.scalar(select(func.count()).select_from(Issue)
                                    .where(Issue.code.like(SYN_ISSUE_PREFIX + "%"))) or 0,
        "merged": session.scalar(select(func.count()).select_from(Issue)
                                 .where(Issue.merged_into_id.is_not(None))) or 0,
        "reports": count(ProgressReport),
        "attachments": count(Attachment),
        "events": count(Event),
        "issue_units": count(IssueUnit),
        "late_reports": count(ReportLateness),
        "by_state": {state: by_state.get(state, 0) for state in enums.STATES},
        "lights": {light: lights.get(light, 0) for light in ("red", "yellow", "green")},
    }


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * max(0, width - _width(s))


def _print_summary(echo: Echo, demo: _Demo, counts: dict) -> None:
    states = "、".join(f"{labels.STATE_LABELS[s]} {n}" for s, n in counts["by_state"].items())
    lights = counts["lights"]
    echo("")
    echo(f"单位 {counts['units']} 个,用户 {counts['users']} 个,督察轮次 {counts['rounds']} 个;")
    echo(f"问题 {counts['issues']} 个(其中合成 {counts['synthetic']} 个):{states};合并整改 {counts['merged']} 个;")
    echo(f"红灯 {lights['red']}、黄灯 {lights['yellow']}、绿灯 {lights['green']};"
         f"进展报送 {counts['reports']} 条(未按时报送 {counts['late_reports']} 项),佐证材料 {counts['attachments']} 份,"
         f"流转记录 {counts['events']} 条。")
    echo("")
    echo("演示账号:")
    rows = [("用户名", "角色", "层级", "单位", "密码")] + [(x.username, x.role, x.level, x.unit, demo.password)
                                                       for x in demo.logins]
    widths = [max(_width(r[i]) for r in rows) + 2 for i in range(5)]
    for row in rows:
        echo("  " + "".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
    # Admins must have a second factor (tracker.accounts.mfa): the demo's admin enrols at first sign-in.
    echo("  系统管理员首次登录后须先启用双因素认证:用手机验证器应用扫描页面上的二维码并输入动态验证码。")
    if counts["synthetic"]:
        echo(f"  (另有模拟单位负责人账号 syn-u001 … syn-u{SYN_PARENTS * SYN_UNITS_PER_PARENT:03d},"
             f"密码同为 {demo.password})")
