"""Helpers for page tests: sign in, a signed-in client per person, the CSRF token of a form,
the action forms of an issue page, and what a refused page action must leave unchanged."""
from __future__ import annotations

import re

from flask import g
from sqlalchemy import func, select

from tests.support.factories import PASSWORD, totp_code
from tracker.accounts.models import User
from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, Issue, ProgressReport


def login(client, username: str, password: str = PASSWORD, **form):
    """Sign in through the login form; return the response. A user with a second factor answers the
    second step with the code at the injected clock's time (the response is then that step's)."""
    response = client.post("/login", data={"username": username, "password": password, **form},
                           follow_redirects=False)
    if response.status_code == 302 and response.headers["Location"].startswith("/login/verify"):
        response = answer_second_step(client, username, form)
    return response


def answer_second_step(client, username: str, form: dict | None = None):
    """Answer /login/verify for `username` with their code now. Tests sign the same person in many times
    at one pinned time, so the step last used is forgotten first (as if 30 seconds had passed): the
    refusal of a re-used code is tested in tests/accounts/test_mfa.py, without this helper."""
    user = db.session.scalar(select(User).where(User.username == username))
    user.totp_last_step = None
    db.session.commit()
    return client.post("/login/verify", data={"code": totp_code(user.totp_secret), **(form or {})},
                       follow_redirects=False)


def forget_cached_user() -> None:
    """Drop Flask-Login's per-context cached user (returns None: a before_request hook)."""
    g.pop("_login_user", None)


def csrf_token(html: str) -> str:
    """Pull the CSRF token out of a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf token in page"
    return match.group(1)


def client_for(app, user):
    """A fresh test client signed in as `user` (one client per person, as in real life)."""
    client = app.test_client()
    response = login(client, user.username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def form_ids(html: str) -> set[str]:
    """The ids of the action forms on an issue page."""
    return set(re.findall(r'<form[^>]*class="action-form[^"]*"[^>]*id="(action-[a-z_]+)"', html))


def snapshot(issue_id: int):
    """What a refused action must leave unchanged."""
    db.session.expire_all()
    issue = db.session.get(Issue, issue_id)
    return (
        issue.state, issue.version, issue.progress_percent, issue.summary, issue.merged_into_id,
        issue.verified_by_id,
        db.session.scalar(select(func.count()).select_from(Event).where(Event.issue_id == issue_id)),
        db.session.scalar(select(func.count()).select_from(ProgressReport).where(ProgressReport.issue_id == issue_id)),
        db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.issue_id == issue_id)),
    )
