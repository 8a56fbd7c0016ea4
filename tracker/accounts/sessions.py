"""Page sessions' idle and absolute timeouts (ASVS 3.3.2-3.3.4).

Flask's session cookie is signed, so the sign-in time and the last-seen time kept in it cannot be
forged. Before each page request a signed-in session that has been idle longer than
SESSION_IDLE_MINUTES, or began more than SESSION_MAX_HOURS ago, is ended: the user is signed out,
the session emptied, and the browser sent to the sign-in page with a message and `next`. The API
never reads the session (bearer tokens have their own expiry), so it is left alone. The times come
from the app's clock (`tracker.core.clock`), so that tests can move them.

The last-seen time is written at most once a minute, so that the cookie is not re-sent with every
response. A session without these times (signed in before they were kept) counts as expired.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import logout_user, user_logged_in
from werkzeug.wrappers import Response

from tracker.core import clock
from tracker.core.security_log import security_event

SIGNED_IN_AT = "_signed_in_at"
# The session's random id (its row in user_sessions, which its owner can end: ASVS 3.3.4).
SID = "_sid"
LAST_SEEN = "_last_seen"
# Flask-Login's key for the signed-in identity ("<user id>:<session version>").
USER_KEY = "_user_id"
SEEN_STEP = timedelta(minutes=1)
TIMED_OUT = "登录已超时,请重新登录。"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _read(value: Any) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def expiry_reason(now: datetime, signed_in_at: Optional[datetime], last_seen: Optional[datetime],
                  idle: timedelta, absolute: timedelta) -> Optional[str]:
    """Why a session with these times has ended ("absolute" or "idle"), or None while it lives."""
    if signed_in_at is None or last_seen is None or now - signed_in_at >= absolute:
        return "absolute"
    if now - last_seen >= idle:
        return "idle"
    return None


def start_session(_sender: Any, user: Any = None, **_extra: Any) -> None:
    """On every sign-in (Flask-Login's `user_logged_in`): a permanent session whose cookie lives no
    longer than the absolute limit, with the sign-in and last-seen times set to now."""
    from tracker.accounts import services as accounts
    from tracker.core.extensions import db

    moment = clock.now()
    now = _stamp(moment)
    session.permanent = True
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now
    if user is not None:
        session[SID] = accounts.start_user_session(db.session, user, moment, request.remote_addr,
                                                   request.headers.get("User-Agent"))
        # Committed here, whoever signed the user in: a sign-in is done when its session is on record
        # (the user loader refuses a cookie whose session row is missing).
        db.session.commit()


def check_session() -> Optional[Response]:
    """`before_request`: end a page session that is idle too long or too old; else note it was seen."""
    if request.path.startswith("/api/") or request.endpoint == "static" or USER_KEY not in session:
        return None
    now = clock.now()
    config = current_app.config
    reason = expiry_reason(now, _read(session.get(SIGNED_IN_AT)), _read(session.get(LAST_SEEN)),
                           timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                           timedelta(hours=config["SESSION_MAX_HOURS"]))
    if reason is None:
        last_seen = _read(session.get(LAST_SEEN))
        if last_seen is None or now - last_seen >= SEEN_STEP:
            session[LAST_SEEN] = _stamp(now)
        return None
    user_id = str(session.get(USER_KEY, "")).split(":", 1)[0]
    logout_user()
    session.clear()
    security_event("session_expired", user_id=user_id, reason=reason)
    flash(TIMED_OUT, "warning")
    # Back where the user was, for a page they were reading; a form post starts from home.
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Check every page request's session and stamp every sign-in."""
    app.before_request(check_session)
    # Connected once per process (blinker keeps one receiver per function); it reads the app's clock.
    user_logged_in.connect(start_session)
