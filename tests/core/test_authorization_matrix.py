"""The authorization matrix: every route of the app × every role (and anonymous), against ONE table of
what the domain says each may do (README, DOMAIN.md "Who uses it"), written by hand, not derived from
tracker.core.permissions (the thing under test).

- A route added without a row fails `test_every_route_has_a_row` with the exact line to add.
- Each (rule, method) is one test: every role and anonymous calls it; path parameters come from one
  small seeded world: issues (and their attachments) led by the unit roles' unit, cooperated on by it,
  and outside its scope, plus another issue's attachment under an in-scope issue's address; for
  owner-only objects (jobs, notices) the caller's own and someone else's.
- Outcomes: `ok` (anything but a refusal: 2xx, 3xx not to the sign-in page, 400/409/422 for a body the
  service turns down), `403`, `404` (out of scope / not yours), `login` (a page redirecting to the
  sign-in page), `401` (the API without a token).
- A refused state-changing call (POST/PUT/PATCH/DELETE) must leave every table unchanged: a hash of
  every table's rows (one query per table) is taken before and after.
- CSRF is switched off in the matrix's app so that the permission, not the missing token, is what a
  refused form meets; `test_every_page_form_needs_a_csrf_token` then sends every state-changing page
  route, signed in, without a token to an app with CSRF on (400, nothing changed). CSRF is also tested
  in tests/accounts/test_auth.py and by the live-server browser tests, which keep it on.

Bodies are plausible (they pass the form or schema) so that a refused role meets the permission check,
not a validation error; they are chosen so that allowed calls do not move the shared world along
(e.g. each workflow role asks for its own action on an issue in the wrong state).
"""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import pytest
from flask import g
from sqlalchemy import select

from tests.support.factories import PASSWORD, PDF_BYTES, make_issue, make_round, make_unit, make_user, totp_code
from tests.support.web import answer_second_step, csrf_token, forget_cached_user, login
from tracker import create_app
from tracker.accounts import services as accounts
from tracker.accounts.models import User, UserSession
from tracker.core import files
from tracker.core.enums import Role
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.core.tasks import RESULTS_FOLDER
from tracker.issues.models import Attachment, ExtensionRequest
from tracker.ledger import imports as ledger_import
from tracker.notify.models import Notice, Outbox
from tracker.public import services as public_page

NOW = datetime(2020, 7, 15, 2, 0, 0)
ANON = "anonymous"
ALL_ROLES = frozenset(Role)
UNIT = frozenset({Role.UNIT_STAFF, Role.UNIT_HEAD})
OFFICE = frozenset({Role.SUPERVISOR, Role.APPROVER, Role.LEADER, Role.ADMIN})
WHO = (*Role, ANON)
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

OK, FORBIDDEN, NOT_FOUND, LOGIN, UNAUTHORIZED = "ok", "403", "404", "login", "401"


@dataclass(frozen=True)
class Expect:
    """Who may call a route: `roles` (None: everyone, signed in or not), and how its path object is
    scoped: "" none, "issue" (unit roles see only their unit's issues: out of scope is 404),
    "own" (only the caller's own job or notice: anyone else's is 404)."""

    roles: Optional[frozenset[str]]
    scope: str = ""
    # Unit roles allowed only when their unit leads the issue (not when it only cooperates).
    lead_only: frozenset[str] = frozenset()

    def outcome(self, who: str, api: bool, variant: str) -> str:
        """The expected outcome for `who` calling with the path object `variant`: for issues "in" (the
        unit roles' unit leads it), "coop" (it cooperates), "out" (neither), "cross" (an attachment of
        the "out" issue asked for under the "in" issue's address); "own"/"other" for jobs and notices."""
        if self.roles is None:
            return OK
        if who == ANON:
            return UNAUTHORIZED if api else LOGIN
        if self.scope == "issue" and variant == "out" and who in UNIT:
            return NOT_FOUND
        if variant == "cross" or (self.scope == "own" and variant == "other"):
            return NOT_FOUND
        if variant == "coop" and who in self.lead_only:
            return FORBIDDEN
        return OK if who in self.roles else FORBIDDEN

    def __str__(self) -> str:
        who = "public" if self.roles is None else "any signed-in" if self.roles == ALL_ROLES else \
            "{" + ", ".join(sorted(self.roles)) + "}"
        return who + (f", {self.scope}-scoped" if self.scope else "")


PUBLIC = Expect(None)
SIGNED_IN = Expect(ALL_ROLES)
OWNER = Expect(ALL_ROLES, "own")
SEEN = Expect(ALL_ROLES, "issue")  # any signed-in who can see the issue


def only(*roles: str) -> Expect:
    """Allowed for these roles only (signed in); no path object to scope."""
    return Expect(frozenset(roles))


def scoped(*roles: str, lead_only: tuple[str, ...] = ()) -> Expect:
    """Allowed for these roles, on an issue they can see (unit roles: out of scope is 404 first);
    `lead_only`: unit roles allowed only for the lead unit (a cooperating unit's is 403)."""
    return Expect(frozenset(roles), "issue", frozenset(lead_only))


A, S, AP, L, UH, US = Role.ADMIN, Role.SUPERVISOR, Role.APPROVER, Role.LEADER, Role.UNIT_HEAD, Role.UNIT_STAFF

# THE TABLE: what the domain wants, one line per (rule, method). Roles (DOMAIN.md): admin = units, users,
# rounds, settings, mail log, public page switch; supervisor = rounds, issues, imports, verify, return,
# reopen, merge, edit, publish; approver = approve/return; leader reads; unit roles read their unit's
# issues, report and upload evidence (both), the head submits; everyone reads figures in their scope.
TABLE: dict[tuple[str, str], Expect] = {
    ("/", "GET"): SIGNED_IN,
    ("/admin/mail", "GET"): only(A),
    ("/admin/mail/<int:outbox_id>", "GET"): only(A),
    ("/admin/mail/<int:outbox_id>/retry", "POST"): only(A),
    ("/admin/mail/retry-failed", "POST"): only(A),
    ("/admin/public/", "GET"): only(A),
    ("/admin/public/", "POST"): only(A),
    ("/admin/rounds", "GET"): only(A, S),
    ("/admin/rounds", "POST"): only(A, S),
    ("/admin/rounds/<int:round_id>/edit", "GET"): only(A, S),
    ("/admin/rounds/<int:round_id>/edit", "POST"): only(A, S),
    # The approval chain is the admin's to change (issue 10).
    ("/admin/rounds/<int:round_id>/chain", "POST"): only(A),
    ("/admin/scorecard", "GET"): only(A),
    ("/admin/scorecard", "POST"): only(A),
    ("/admin/settings", "GET"): only(A),
    ("/admin/settings", "POST"): only(A),
    ("/admin/units", "GET"): only(A),
    ("/admin/units", "POST"): only(A),
    ("/admin/units/<int:unit_id>/edit", "GET"): only(A),
    ("/admin/units/<int:unit_id>/edit", "POST"): only(A),
    ("/admin/users", "GET"): only(A),
    ("/admin/users", "POST"): only(A),
    ("/admin/users/<int:user_id>/edit", "GET"): only(A),
    ("/admin/users/<int:user_id>/edit", "POST"): only(A),
    ("/admin/users/<int:user_id>/mfa/reset", "POST"): only(A),
    ("/admin/users/<int:user_id>/password", "POST"): only(A),
    # The admin revokes any user's API tokens (here another user's) from the user's page.
    ("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke", "POST"): only(A),
    ("/admin/users/<int:user_id>/tokens/revoke-all", "POST"): only(A),
    # Everyone lists and revokes their own tokens; someone else's token is 404.
    ("/account/mfa", "GET"): SIGNED_IN,
    ("/account/mfa", "POST"): SIGNED_IN,
    ("/account/mfa/disable", "POST"): SIGNED_IN,
    ("/account/tokens", "GET"): SIGNED_IN,
    # Everyone sees and ends their own page sessions (password again); someone else's is 404.
    ("/account/sessions", "GET"): SIGNED_IN,
    ("/account/sessions/<int:session_id>/end", "POST"): OWNER,
    ("/account/sessions/end-others", "POST"): SIGNED_IN,
    ("/account/tokens/<int:token_id>/revoke", "POST"): OWNER,
    ("/account/tokens/revoke-all", "POST"): SIGNED_IN,
    ("/api/v1/auth/tokens", "GET"): SIGNED_IN,
    ("/api/v1/auth/tokens", "DELETE"): SIGNED_IN,
    ("/api/v1/auth/tokens/<int:token_id>", "DELETE"): OWNER,
    ("/api/v1/auth/token", "POST"): PUBLIC,
    ("/api/v1/auth/token", "DELETE"): SIGNED_IN,
    ("/api/v1/imports/ledger", "POST"): only(S),
    ("/api/v1/imports/plan", "POST"): only(S),
    ("/api/v1/issues", "GET"): SIGNED_IN,
    ("/api/v1/issues", "POST"): only(S),
    ("/api/v1/issues/<int:issue_id>", "GET"): SEEN,
    ("/api/v1/issues/<int:issue_id>", "PATCH"): scoped(S),
    ("/api/v1/issues/<int:issue_id>/attachments", "POST"): scoped(US, UH),
    ("/api/v1/issues/<int:issue_id>/events", "GET"): SEEN,
    ("/api/v1/issues/<int:issue_id>/progress", "POST"): scoped(US, UH),
    ("/api/v1/issues/<int:issue_id>/transitions", "POST"): scoped(UH, S, AP, lead_only=(UH,)),
    ("/api/v1/issues/export.xlsx", "GET"): SIGNED_IN,
    # Extensions: the lead unit's head asks; the office whose area holds the lead unit decides.
    ("/api/v1/issues/<int:issue_id>/extensions", "POST"): scoped(UH, lead_only=(UH,)),
    ("/api/v1/extensions/<int:request_id>/decision", "POST"): scoped(S),
    ("/api/v1/jobs/<int:job_id>", "GET"): OWNER,
    ("/api/v1/jobs/<int:job_id>/download", "GET"): OWNER,
    ("/api/v1/notices", "GET"): SIGNED_IN,
    ("/api/v1/notices/<int:notice_id>/read", "POST"): OWNER,
    ("/api/v1/openapi.json", "GET"): PUBLIC,
    ("/api/v1/reports/monthly", "GET"): SIGNED_IN,
    ("/api/v1/rounds", "POST"): only(A, S),
    ("/api/v1/rounds/<int:round_id>", "GET"): SIGNED_IN,
    ("/api/v1/stats", "GET"): SIGNED_IN,
    ("/api/v1/stats/scorecard", "GET"): SIGNED_IN,
    ("/api/v1/todo", "GET"): SIGNED_IN,
    ("/api/v1/units", "GET"): SIGNED_IN,
    ("/api/v1/units", "POST"): only(A),
    ("/api/v1/users", "POST"): only(A),
    ("/issues/", "GET"): SIGNED_IN,
    ("/issues/<int:issue_id>", "GET"): SEEN,
    # A GET of an action's address changes nothing and leads back to the issue page.
    ("/issues/<int:issue_id>/attachments", "GET"): SEEN,
    ("/issues/<int:issue_id>/attachments", "POST"): scoped(US, UH),
    ("/issues/<int:issue_id>/attachments/<int:attachment_id>", "GET"): SEEN,
    # Photos and PDFs shown in the page, and photo thumbnails: whoever sees the issue, as the download.
    ("/issues/<int:issue_id>/attachments/<int:attachment_id>/thumb", "GET"): SEEN,
    ("/issues/<int:issue_id>/attachments/<int:attachment_id>/view", "GET"): SEEN,
    ("/issues/<int:issue_id>/edit", "GET"): scoped(S),
    ("/issues/<int:issue_id>/edit", "POST"): scoped(S),
    ("/issues/<int:issue_id>/progress", "GET"): SEEN,
    ("/issues/<int:issue_id>/progress", "POST"): scoped(US, UH),
    ("/issues/<int:issue_id>/public", "GET"): SEEN,
    ("/issues/<int:issue_id>/public", "POST"): scoped(S),
    ("/issues/<int:issue_id>/transition", "GET"): SEEN,
    ("/issues/<int:issue_id>/transition", "POST"): scoped(UH, S, AP, lead_only=(UH,)),
    ("/issues/<int:issue_id>/extensions", "GET"): SEEN,
    ("/issues/<int:issue_id>/extensions", "POST"): scoped(UH, lead_only=(UH,)),
    ("/issues/<int:issue_id>/extensions/<int:request_id>/decision", "GET"): SEEN,
    ("/issues/<int:issue_id>/extensions/<int:request_id>/decision", "POST"): scoped(S),
    ("/extensions/", "GET"): SIGNED_IN,
    ("/issues/export.csv", "GET"): SIGNED_IN,
    ("/issues/export.xlsx", "GET"): SIGNED_IN,
    ("/issues/import", "GET"): only(S),
    ("/issues/import", "POST"): only(S),
    ("/issues/import-plan", "GET"): only(S),
    ("/issues/import-plan", "POST"): only(S),
    ("/issues/import-plan/confirm", "POST"): only(S),
    ("/issues/import/<sha256>", "GET"): only(S),
    ("/issues/import/<sha256>", "POST"): only(S),
    ("/issues/new", "GET"): only(S),
    ("/issues/new", "POST"): only(S),
    ("/jobs/", "GET"): SIGNED_IN,
    ("/jobs/<int:job_id>", "GET"): OWNER,
    ("/jobs/<int:job_id>/download", "GET"): OWNER,
    ("/jobs/<int:job_id>/status", "GET"): OWNER,
    ("/login", "GET"): PUBLIC,
    ("/login", "POST"): PUBLIC,
    ("/login/verify", "GET"): PUBLIC,
    ("/login/verify", "POST"): PUBLIC,
    ("/logout", "POST"): SIGNED_IN,
    ("/notices/", "GET"): SIGNED_IN,
    ("/notices/<int:notice_id>/read", "POST"): OWNER,
    ("/notices/preferences", "GET"): SIGNED_IN,
    ("/notices/preferences", "POST"): SIGNED_IN,
    ("/notices/read-all", "POST"): SIGNED_IN,
    ("/password", "GET"): SIGNED_IN,
    ("/password", "POST"): SIGNED_IN,
    ("/public/", "GET"): PUBLIC,
    ("/static/<path:filename>", "GET"): PUBLIC,
    ("/stats/", "GET"): SIGNED_IN,
    ("/stats/monthly", "GET"): SIGNED_IN,
    ("/stats/monthly.xlsx", "GET"): SIGNED_IN,
    ("/stats/scorecard", "GET"): SIGNED_IN,
    ("/stats/scorecard.xlsx", "GET"): SIGNED_IN,
}

# Each workflow role asks for its own action on an in-progress issue: refused by state (409) or by a
# missing precondition, never carried out, so the shared world does not move along.
OWN_ACTION = {UH: "submit", S: "verify", AP: "approve"}

World = dict[str, Any]
Body = Callable[[World, str, str], dict[str, Any]]


def _issue(world: World, variant: str):
    return world[{"out": "issue_out", "coop": "issue_coop"}.get(variant, "issue_in")]


def _transition(world: World, who: str, variant: str) -> dict[str, Any]:
    return {"action": OWN_ACTION.get(who, "verify"), "version": str(_issue(world, variant).version)}


# Request bodies (keyword arguments for the test client) where an empty one would be refused by the
# form or schema before the permission is asked. Default: an empty form (pages) or {} (API).
BODIES: dict[tuple[str, str], Body] = {
    ("/account/sessions/<int:session_id>/end", "POST"): lambda w, who, v: {"data": {"password": PASSWORD}},
    ("/account/sessions/end-others", "POST"): lambda w, who, v: {"data": {"password": PASSWORD}},
    ("/api/v1/auth/token", "POST"): lambda w, who, v: {"json": _credentials(w, who)},
    ("/api/v1/imports/ledger", "POST"): lambda w, who, v: {"data": {
        "file": (io.BytesIO(w["ledger_bytes"]), "台账.xlsx"), "confirm": "false"}},
    ("/api/v1/imports/plan", "POST"): lambda w, who, v: {"json": {
        "text": "一、整改任务\n1.加强管理。(责任单位:矩阵局)", "confirm": False}},
    ("/api/v1/issues", "POST"): lambda w, who, v: {"json": {
        "round_id": w["round"].id, "code": f"MX-{who}", "title": "矩阵新问题", "category": "feedback",
        "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": w["other_unit"].code}},
    ("/api/v1/issues/<int:issue_id>", "PATCH"): lambda w, who, v: {"json": {"title": _issue(w, v).title}},
    ("/api/v1/issues/<int:issue_id>/attachments", "POST"): lambda w, who, v: {"data": {
        "file": (io.BytesIO(PDF_BYTES), "证明.pdf")}},
    ("/api/v1/issues/<int:issue_id>/progress", "POST"): lambda w, who, v: {"json": {
        "period": "2020-07", "percent": 50, "text": "进展"}},
    ("/api/v1/issues/<int:issue_id>/transitions", "POST"): lambda w, who, v: {
        "json": {**_transition(w, who, v), "version": _issue(w, v).version}},
    ("/api/v1/rounds", "POST"): lambda w, who, v: {"json": {"name": f"矩阵轮次{who}", "level": "central",
                                                            "kind": "regular"}},
    ("/api/v1/units", "POST"): lambda w, who, v: {"json": {"code": f"MX{who}", "name": f"矩阵单位{who}"}},
    ("/api/v1/users", "POST"): lambda w, who, v: {"json": {"username": f"mx_{who}", "password": "secret-123456",
                                                           "role": "leader"}},
    ("/issues/<int:issue_id>/attachments", "POST"): lambda w, who, v: {"data": {
        "file": (io.BytesIO(PDF_BYTES), "证明.pdf")}},
    ("/issues/<int:issue_id>/progress", "POST"): lambda w, who, v: {"data": {
        "period": "2020-07", "percent": "50", "text": "进展"}},
    ("/issues/<int:issue_id>/public", "POST"): lambda w, who, v: {"data": {
        "public": "0", "version": str(_issue(w, v).version)}},
    ("/issues/<int:issue_id>/transition", "POST"): lambda w, who, v: {"data": _transition(w, who, v)},
    # A date before the deadline: the head's request is refused by its value (422), never kept; the
    # office's rejection without a reason likewise.
    ("/issues/<int:issue_id>/extensions", "POST"): lambda w, who, v: {"data": {
        "new_deadline": "2020-01-01", "reason": "矩阵"}},
    ("/api/v1/issues/<int:issue_id>/extensions", "POST"): lambda w, who, v: {"json": {
        "new_deadline": "2020-01-01", "reason": "矩阵"}},
    ("/issues/<int:issue_id>/extensions/<int:request_id>/decision", "POST"): lambda w, who, v: {"data": {
        "decision": "reject"}},
    ("/api/v1/extensions/<int:request_id>/decision", "POST"): lambda w, who, v: {"json": {"decision": "reject"}},
}


def _credentials(world: World, who: str) -> dict[str, Any]:
    """A username and password, and for a user with a second factor (the admin) a code not used before."""
    user = world["users"][Role.LEADER if who == ANON else who]
    body = {"username": user.username, "password": PASSWORD}
    if user.totp_secret:
        user.totp_last_step = None  # the matrix signs in many times at one pinned time
        db.session.commit()
        # The next step's code (within the window): the page sign-in that may come between this body
        # and the call uses the current step's.
        body["totp"] = totp_code(user.totp_secret, NOW, steps=1)
    return body


def _path_value(world: World, name: str, who: str, variant: str) -> Any:
    """The seeded object for a path parameter, for `who` and the variant."""
    if name == "issue_id":
        return _issue(world, variant).id
    if name == "attachment_id":
        return world[{"out": "attachment_out", "cross": "attachment_out", "coop": "attachment_coop"}.get(
            variant, "attachment_in")].id
    if name == "request_id":
        return world[{"out": "extension_out", "coop": "extension_coop"}.get(variant, "extension_in")].id
    if name in ("job_id", "notice_id"):
        kind = "job" if name == "job_id" else "notice"
        owner = "other" if variant == "other" or who == ANON else who
        return world[f"{kind}s"][owner].id
    if name == "token_id":
        # A fresh live token each time (an allowed call revokes it): the caller's own for "own", else
        # another user's (the admin's user pages are about world["other_user"]).
        owner = world["users"][who] if variant == "own" and who != ANON else world["other_user"]
        _token, row = accounts.issue_token(db.session, owner, NOW)
        db.session.commit()
        return row.id
    if name == "session_id":
        # A fresh session row each time (an allowed call ends it), the caller's own or another user's.
        owner = world["users"][who] if variant == "own" and who != ANON else world["other_user"]
        accounts.start_user_session(db.session, owner, NOW, "127.0.0.1", "matrix")
        db.session.commit()
        return db.session.scalar(select(UserSession.id).where(UserSession.user_id == owner.id)
                                 .order_by(UserSession.id.desc()).limit(1))
    fixed = {"outbox_id": world["outbox"].id, "unit_id": world["unit"].id, "user_id": world["other_user"].id,
             "round_id": world["round"].id, "sha256": world["kept_sha256"], "filename": "app.css"}
    if name not in fixed:
        raise LookupError(f"path parameter <{name}> has no seeded object: add one to _seed() and _path_value() "
                          f"(for a per-user object such as a token, one per role plus another user's, like jobs)")
    return fixed[name]


def _variants(rule: str, expect: Expect) -> tuple[str, ...]:
    if "<int:attachment_id>" in rule:
        return ("in", "coop", "out", "cross")
    if "<int:issue_id>" in rule or "<int:request_id>" in rule:
        return ("in", "coop", "out")
    if expect.scope == "own":
        return ("own", "other")
    return ("",)


def _url(world: World, rule: str, who: str, variant: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z0-9_]+)>", lambda m: str(_path_value(world, m.group(1), who, variant)), rule)


def fingerprint() -> dict[str, str]:
    """A hash of every table's rows in primary-key order, one query per table."""
    prints = {}
    db.session.expire_all()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            digest = hashlib.sha256()
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
            prints[table.name] = digest.hexdigest()
    return prints


def classify(response) -> str:
    """A response as one of the matrix outcomes (any status that is no refusal is `ok`)."""
    status = response.status_code
    path, _, query = response.headers.get("Location", "").partition("?")
    # Flask-Login's refusal names the page asked for (?next=); signing out also ends on /login, without it.
    if status in (301, 302, 303, 307, 308) and path.endswith("/login") and "next=" in query:
        return LOGIN
    if status in (401, 403, 404):
        return str(status)
    if status >= 500:
        return f"error {status}"
    return OK


# --- the world -----------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix(_schema, database_url, tmp_path_factory):
    """One app and one small world for the whole matrix (rows removed at the end)."""
    upload_dir = tmp_path_factory.mktemp("matrix-uploads")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": str(upload_dir), "CLOCK": lambda: NOW})
    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    checked: dict[tuple[str, str], bool] = {}
    real_check = User.check_password

    def check_password(self: User, password: str) -> bool:
        # scrypt once per (hash, password): the matrix signs in several hundred times.
        key = (self.password_hash, password)
        if key not in checked:
            checked[key] = real_check(self, password)
        return checked[key]

    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr(User, "check_password", check_password)
        world = _seed(app, str(upload_dir))
        yield app, world
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


def _stored(upload_dir: str, content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    path = files.path_for(upload_dir, sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return sha


def _seed(app, upload_dir: str) -> World:
    session = db.session
    unit, other_unit = make_unit("MXU", "矩阵局"), make_unit("MXV", "他局")
    round_ = make_round("矩阵轮次")
    users = {role: make_user(role, unit if role in UNIT else None, username=f"mx-{role}") for role in Role}
    other_user = make_user("supervisor", username="mx-other")
    issue_in = make_issue(unit, round_, code="MX-IN", deadline=date(2020, 12, 31))
    issue_out = make_issue(other_unit, round_, code="MX-OUT", deadline=date(2020, 12, 31))
    issue_coop = make_issue(other_unit, round_, cooperating=(unit,), code="MX-COOP", deadline=date(2020, 12, 31))
    attachments = {}
    for name, issue in (("attachment_in", issue_in), ("attachment_out", issue_out),
                        ("attachment_coop", issue_coop)):
        content = PDF_BYTES + name.encode()
        attachments[name] = Attachment(issue_id=issue.id, sha256=_stored(upload_dir, content), filename="证明.pdf",
                                       content_type="application/pdf", size=len(content))
        session.add(attachments[name])
    extensions = {}
    for name, issue in (("extension_in", issue_in), ("extension_out", issue_out), ("extension_coop", issue_coop)):
        extensions[name] = ExtensionRequest(issue_id=issue.id, state="pending", old_deadline=issue.deadline,
                                            new_deadline=date(2021, 6, 30), reason="矩阵", requested_at=NOW)
        session.add(extensions[name])
    jobs, notices = {}, {}
    exports = Path(upload_dir) / RESULTS_FOLDER
    exports.mkdir(parents=True, exist_ok=True)
    for owner, user in [*users.items(), ("other", other_user)]:
        (exports / f"mx-{owner}.csv").write_bytes(b"a,b\n")
        jobs[owner] = BackgroundJob(kind="ledger_export", user_id=user.id, state="done", done=1, total=1,
                                    result_path=f"exports/mx-{owner}.csv", download_name="台账.csv",
                                    created_at=NOW, started_at=NOW, finished_at=NOW, heartbeat_at=NOW)
        notices[owner] = Notice(user_id=user.id, kind="verified", ref=f"mx-{owner}", title="通知",
                                body="", link="/", created_at=NOW)
        session.add_all([jobs[owner], notices[owner]])
    outbox = Outbox(kind="verified", to_addr="a@example.org", ref="mx", subject="s", body_text="t",
                    body_html="<p>t</p>", status="failed", attempts=3, created_at=NOW,
                    next_attempt_at=NOW, give_up_at=NOW)
    session.add(outbox)
    public_page.set_enabled(session, None, NOW, True)
    session.commit()
    # A ledger kept for import: the world's own export, as a supervisor would upload it.
    client = app.test_client()
    _login(client, users[Role.SUPERVISOR].username)
    ledger_bytes = client.get("/issues/export.xlsx").data
    assert ledger_bytes[:2] == b"PK"
    kept = ledger_import.keep_upload(upload_dir, io.BytesIO(ledger_bytes), users[Role.SUPERVISOR])
    return {"unit": unit, "other_unit": other_unit, "round": round_, "users": users, "other_user": other_user,
            "issue_in": issue_in, "issue_out": issue_out, "issue_coop": issue_coop, **attachments, **extensions,
            "jobs": jobs, "notices": notices, "outbox": outbox, "kept_sha256": kept, "ledger_bytes": ledger_bytes}


def _login(client, username: str) -> None:
    response = login(client, username)  # the admin answers the second step too
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


class Callers:
    """A signed-in page client and an API token per role, renewed after any state-changing call (which
    may have been a sign-out, or a revoked token)."""

    def __init__(self, app, world: World):
        self.app, self.world = app, world
        self.clients: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}

    def client(self, who: str):
        if who not in self.clients:
            client = self.app.test_client()
            if who != ANON:
                _login(client, self.world["users"][who].username)
            self.clients[who] = client
        return self.clients[who]

    def headers(self, who: str) -> dict[str, str]:
        if who == ANON:
            return {}
        if who not in self.tokens:
            self.tokens[who], _row = accounts.issue_token(db.session, self.world["users"][who], NOW)
            db.session.commit()
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def renew(self, who: str) -> None:
        self.clients.pop(who, None)
        self.tokens.pop(who, None)


@pytest.fixture(scope="module")
def callers(matrix):
    app, world = matrix
    return Callers(app, world)


# --- the tests -------------------------------------------------------------------

def _routes(app) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}


def test_every_route_has_a_row(matrix):
    app, _world = matrix
    routes = _routes(app)
    missing = sorted(routes - set(TABLE))
    stale = sorted(set(TABLE) - routes)
    lines = [f'    ("{rule}", "{method}"): only(A),  # TODO: who may? (PUBLIC, SIGNED_IN, OWNER, SEEN, '
             f'only(...), scoped(...))' for rule, method in missing]
    assert not missing and not stale, (
        ("Routes without a row in TABLE (tests/core/test_authorization_matrix.py); add:\n" + "\n".join(lines)
         if missing else "") + (f"\nRows for routes that no longer exist: {stale}" if stale else ""))


@pytest.mark.parametrize("rule,method", sorted(TABLE), ids=[f"{m} {r}" for r, m in sorted(TABLE)])
def test_matrix(matrix, callers, rule, method):
    _app, world = matrix
    expect = TABLE[(rule, method)]
    api = rule.startswith("/api/")
    changing = method in STATE_CHANGING
    wrong = []
    for who in WHO:
        for variant in _variants(rule, expect):
            expected = expect.outcome(who, api, variant)
            body = BODIES.get((rule, method))
            kwargs = body(world, who, variant) if body else ({"json": {}} if api else {"data": {}}) if changing else {}
            client = callers.client(who)
            headers = callers.headers(who) if api else {}
            url = _url(world, rule, who, variant)  # before the fingerprint: it may seed a token
            before = fingerprint() if changing and expected != OK else None
            response = client.open(url, method=method, headers=headers, **kwargs)
            g.pop("_login_user", None)
            text = response.get_data().decode(errors="replace")  # read and close: a streamed export holds its request
            response.close()
            actual = classify(response)
            if changing:
                callers.renew(who)
            if actual != expected:
                wrong.append(f"{who:<10} {variant or '-':<5} expected {expected:<5} got {actual} "
                             f"({response.status_code} {text[:120]!r})")
            if before is not None:
                after = fingerprint()
                changed = sorted(name for name in before if before[name] != after[name])
                if changed:
                    wrong.append(f"{who:<10} {variant or '-':<5} refused call changed tables {changed}")
    assert not wrong, f"{method} {rule} [{expect}]:\n" + "\n".join(wrong)


def test_every_page_form_needs_a_csrf_token(matrix, database_url):
    """Every state-changing page route refuses a signed-in POST without a CSRF token (400), changing
    nothing; the API (bearer tokens, no cookies) is exempt by design."""
    _app, world = matrix
    guarded = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test",
                          "WTF_CSRF_ENABLED": True, "UPLOAD_DIR": _app.config["UPLOAD_DIR"],
                          "CLOCK": lambda: NOW})
    guarded.before_request(forget_cached_user)
    client = guarded.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    admin = world["users"][Role.ADMIN].username
    assert client.post("/login", data={"username": admin, "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert answer_second_step(client, admin, {"csrf_token": token}).status_code == 302
    wrong = []
    for rule, method in sorted(TABLE):
        if rule.startswith("/api/") or method not in STATE_CHANGING:
            continue
        url = _url(world, rule, Role.ADMIN, "in")
        before = fingerprint()
        response = client.open(url, method=method, data={})
        response.close()
        if response.status_code != 400 or fingerprint() != before:
            wrong.append(f"{method} {rule}: {response.status_code}")
    assert not wrong, "page forms accepted without a CSRF token:\n" + "\n".join(wrong)


def test_counts(matrix):
    """The matrix's size, for the record (and so it cannot silently shrink to nothing)."""
    cells = allowed = 0
    for (rule, _method), expect in TABLE.items():
        for who in WHO:
            for variant in _variants(rule, expect):
                cells += 1
                allowed += expect.outcome(who, rule.startswith("/api/"), variant) == OK
    print(f"authorization matrix: {len(TABLE)} routes, {cells} cells, {allowed} allowed, {cells - allowed} refused")
    assert len(TABLE) >= 90 and cells > 700
